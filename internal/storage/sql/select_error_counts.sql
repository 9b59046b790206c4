-- Parameters: event_name, first second of the window (Unix seconds).
SELECT toString(toDate(timestamp)) AS day, sum(sign) AS errors
FROM {{.Database}}.events
WHERE event_name = ? AND is_error = 1 AND timestamp >= toDateTime(?)
GROUP BY day
HAVING errors != 0
ORDER BY day
