SELECT id, revision, version, created, deleted, field_versions, conversation_id, event_name,
       ts_ms, input, output, latency, error, attr_keys, attr_values, writes, write_hashes
FROM {{.Database}}.event_state
WHERE id IN _ids
ORDER BY id, revision DESC
LIMIT 1 BY id
