-- Run once, when event_days is created next to an events table that already
-- has rows (a database written by a version without event_days).
INSERT INTO {{.Database}}.event_days (name, day, events, errors)
SELECT name, toDate(event_time) AS day, sum(sign) AS events, sumIf(sign, is_error = 1) AS errors
FROM {{.Database}}.events
GROUP BY name, day
HAVING events != 0
