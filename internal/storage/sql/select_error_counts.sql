-- Parameters: event_name, first second of the window (Unix seconds).
SELECT toString(toDate(event_time)) AS day, sum(sign) AS errors
FROM {{.Database}}.events
WHERE name = ? AND is_error = 1 AND event_time >= toDateTime(?)
GROUP BY day
HAVING errors != 0
ORDER BY day
