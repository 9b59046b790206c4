-- Run once, when error_days is created next to an events table that already
-- has rows (a database written by a version without error_days).
INSERT INTO {{.Database}}.error_days (name, day, errors)
SELECT name, toDate(event_time) AS day, sum(sign) AS errors
FROM {{.Database}}.events
WHERE is_error = 1
GROUP BY name, day
HAVING errors != 0
