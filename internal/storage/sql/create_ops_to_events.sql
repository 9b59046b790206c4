CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_ops_to_events TO {{.Database}}.events AS
SELECT id, conversation_id, event_name, timestamp, ts_ms, latency, toUInt8(error != '') AS is_error, revision, sign
FROM {{.Database}}.event_ops
WHERE target = 1
