-- The state columns of each change, into event_state.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_changes_to_state TO {{.Database}}.event_state AS
SELECT id, revision, version, created, deleted, field_versions, conversation_id, event_name,
       ts_ms, input, output, latency, error, attr_keys, attr_values
FROM {{.Database}}.event_changes
