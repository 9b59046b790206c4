-- The state lookup of an exporter from before the LLM call columns and the
-- write count: what
-- the tests use to write a database of an older layout (the columns it did
-- not have read as their defaults).
SELECT id, revision, version, created, deleted, field_versions, conversation_id, event_name,
       ts_ms, input, output, latency, error, attr_keys, attr_values,
       '', '', '', toUInt64(0), toUInt64(0), toUInt64(0), toUInt64(0),
       toUInt64(0), toFloat64(0), '', toFloat64(0), '', '',
       toUInt64(0), emptyArrayUInt64()
FROM {{.Database}}.event_state
WHERE id IN _ids
ORDER BY id, revision DESC
LIMIT 1 BY id
