-- Parameters: event_name, first day of the window (YYYY-MM-DD, UTC).
SELECT toString(day) AS day_text, sum(errors) AS n
FROM {{.Database}}.error_days
WHERE name = ? AND day >= toDate(?)
GROUP BY day
HAVING n != 0
ORDER BY day
