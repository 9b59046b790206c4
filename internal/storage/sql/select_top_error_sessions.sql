-- Parameters: first second of the window (0 means all) x2, min_events, limit.
SELECT conversation, sumIf(sign, is_error = 1) AS errors, sum(sign) AS total
FROM {{.Database}}.events
WHERE (? = 0 OR event_time >= toDateTime(?))
GROUP BY conversation
HAVING total >= ? AND errors > 0
ORDER BY errors / total DESC, errors DESC, conversation
LIMIT ?
