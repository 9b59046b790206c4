-- Events and errors per UTC day, for GET /analytics/events, from event_days
-- (a few hundred rows; the day is returned as days since the epoch: 18.16
-- prints the epoch's day as 0000-00-00). Parameters: event_name filter
-- (empty means all) x2, first day of the window (YYYY-MM-DD, UTC).
SELECT toInt64(day) AS day_number, sum(events) AS n, sum(errors) AS e
FROM {{.Database}}.event_days
WHERE (? = '' OR name = ?) AND day >= toDate(?)
GROUP BY day
HAVING n != 0
ORDER BY day
