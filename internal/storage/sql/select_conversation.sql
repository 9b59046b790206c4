-- The page of ids: a group whose signs sum to 0 was deleted. The events
-- themselves are then read from event_state. Parameters: conversation_id,
-- cursor ts_ms (x2), cursor id, limit.
SELECT id, ts_ms
FROM {{.Database}}.events
WHERE conversation_id = ? AND (ts_ms > ? OR (ts_ms = ? AND id > ?))
GROUP BY id, ts_ms
HAVING sum(sign) > 0
ORDER BY ts_ms, id
LIMIT ?
