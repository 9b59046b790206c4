SELECT id, revision, version, created, deleted, field_versions, conversation_id, event_name,
       ts_ms, input, output, latency, error, attr_keys, attr_values,
       model, provider, operation, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
       reasoning_tokens, time_to_first_token, finish_reason, cost, trace_id, span_id, writes, write_hashes
FROM {{.Database}}.event_state
WHERE id IN _ids
ORDER BY id, revision DESC
LIMIT 1 BY id
