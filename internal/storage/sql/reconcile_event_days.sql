-- How far event_days is from the analytics rows over a range of UTC days,
-- for the event names of _ids, as reconcile_error_days.sql for error_days:
-- per (name, day), the events and the errors the rows of events count minus
-- what event_days sums. Same parameters.
SELECT name, toInt64(toUInt16(day)) AS day_number, sum(e) AS errors_difference, sum(n) AS events_difference
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
WHERE name IN _ids
GROUP BY name, day
HAVING events_difference != 0 OR errors_difference != 0
