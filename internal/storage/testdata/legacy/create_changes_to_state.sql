-- The state columns of each change, into event_state.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_changes_to_state TO {{.Database}}.event_state AS
SELECT id, revision, version, created, deleted, field_versions, conversation_id, event_name,
       ts_ms, input, output, latency, error, attr_keys, attr_values,
       model, provider, operation, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
       reasoning_tokens, time_to_first_token, finish_reason, cost, trace_id, span_id
FROM {{.Database}}.event_changes
