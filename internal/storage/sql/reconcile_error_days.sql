-- Makes error_days agree with the analytics rows over a range of UTC days:
-- per (name, day), the difference between the errors the rows of events count
-- and what error_days sums is added as one row (SummingMergeTree adds it up).
-- Parameters: the first second of the range and the first second after it
-- (Unix seconds), then the same range as days (YYYY-MM-DD, inclusive).
INSERT INTO {{.Database}}.error_days (name, day, errors)
SELECT name, day, sum(n) AS difference
FROM
(
    SELECT name, toDate(event_time) AS day, toInt64(sum(sign * is_error)) AS n
    FROM {{.Database}}.events
    WHERE event_time >= toDateTime(?) AND event_time < toDateTime(?)
    GROUP BY name, day
    UNION ALL
    SELECT name, day, -toInt64(sum(errors)) AS n
    FROM {{.Database}}.error_days
    WHERE day >= toDate(?) AND day <= toDate(?)
    GROUP BY name, day
)
GROUP BY name, day
HAVING difference != 0
