-- Makes event_days agree with the analytics rows over a range of UTC days,
-- as reconcile_error_days.sql does for error_days. Parameters: the first
-- second of the range and the first second after it (Unix seconds), then the
-- same range as days (YYYY-MM-DD, inclusive).
INSERT INTO {{.Database}}.event_days (name, day, events, errors)
SELECT name, day, sum(n) AS events_difference, sum(e) AS errors_difference
FROM
(
    SELECT name, toDate(event_time) AS day, toInt64(sum(sign)) AS n, toInt64(sum(sign * is_error)) AS e
    FROM {{.Database}}.events
    WHERE event_time >= toDateTime(?) AND event_time < toDateTime(?)
    GROUP BY name, day
    UNION ALL
    SELECT name, day, -toInt64(sum(events)) AS n, -toInt64(sum(errors)) AS e
    FROM {{.Database}}.event_days
    WHERE day >= toDate(?) AND day <= toDate(?)
    GROUP BY name, day
)
GROUP BY name, day
HAVING events_difference != 0 OR errors_difference != 0
