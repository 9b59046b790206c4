-- The +1 row with the highest revision is the current state; a group whose
-- signs sum to 0 was deleted. Parameters: conversation_id, cursor ts_ms (x2),
-- cursor id, limit.
SELECT id, argMax(event_name, revision), ts_ms, argMax(input, revision), argMax(output, revision),
       argMax(latency, revision), argMax(error, revision), argMax(attr_keys, revision),
       argMax(attr_values, revision), max(revision)
FROM {{.Database}}.events
WHERE conversation_id = ? AND (ts_ms > ? OR (ts_ms = ? AND id > ?))
GROUP BY id, ts_ms
HAVING sum(sign) > 0
ORDER BY ts_ms, id
LIMIT ?
