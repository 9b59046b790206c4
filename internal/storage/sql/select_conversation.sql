-- The page of ids: a group whose signs sum to 0 was deleted. The events
-- themselves are then read from event_state. Parameters: conversation_id,
-- cursor ts_ms (x2), cursor id, limit.
SELECT id, event_time_ms
FROM {{.Database}}.events
WHERE conversation = ? AND (event_time_ms > ? OR (event_time_ms = ? AND id > ?))
GROUP BY id, event_time_ms
HAVING sum(sign) > 0
ORDER BY event_time_ms, id
LIMIT ?
