-- How far error_days is from the analytics rows over a range of UTC days,
-- for the event names of _ids: per (name, day), the errors the rows of
-- events count minus what error_days sums (the day as a day number).
-- repair.go adds the differences that two reads agree on. Parameters: the
-- first second of the range and the first second after it (Unix seconds),
-- then the same range as days (YYYY-MM-DD, inclusive).
SELECT name, toInt64(toUInt16(day)) AS day_number, sum(n) AS errors_difference, toInt64(0) AS events_difference
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
WHERE name IN _ids
GROUP BY name, day
HAVING errors_difference != 0
