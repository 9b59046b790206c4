-- Events and errors per UTC day, for GET /analytics/events: the net count of
-- the analytics rows (signs add up over unmerged parts, no FINAL). The day is
-- returned as days since the epoch (18.16 prints the epoch's day as
-- 0000-00-00). Parameters: event_name filter (empty means all) x2, first
-- second of the window.
SELECT toInt64(toDate(event_time)) AS day_number,
       sum(sign) AS n,
       sumIf(sign, is_error = 1) AS errors
FROM {{.Database}}.events
WHERE (? = '' OR name = ?) AND event_time >= toDateTime(?)
GROUP BY day_number
HAVING n != 0
ORDER BY day_number
