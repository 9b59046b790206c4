-- Parameters: event_name, first day of the window (YYYY-MM-DD, UTC). The day
-- is returned as days since the epoch: 18.16 prints the epoch's day as
-- 0000-00-00.
SELECT toInt64(day) AS day_number, sum(errors) AS n
FROM {{.Database}}.error_days
WHERE name = ? AND day >= toDate(?)
GROUP BY day
HAVING n != 0
ORDER BY day
