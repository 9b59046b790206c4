-- Zero, one or two analytics rows per state row: the -1 copy of the previous
-- state (emit_prev) and the +1 row of the new one (emit_new).
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_changes_to_events TO {{.Database}}.events AS
SELECT id,
       tupleElement(r, 1) AS conversation,
       tupleElement(r, 2) AS name,
       tupleElement(r, 3) AS event_time,
       tupleElement(r, 4) AS event_time_ms,
       tupleElement(r, 5) AS latency_ms,
       tupleElement(r, 6) AS is_error,
       tupleElement(r, 7) AS rev,
       tupleElement(r, 8) AS sign,
       tupleElement(r, 9) AS gen_model,
       tupleElement(r, 10) AS gen_input_tokens,
       tupleElement(r, 11) AS gen_output_tokens,
       tupleElement(r, 12) AS gen_cache_read_tokens,
       tupleElement(r, 13) AS gen_cache_creation_tokens,
       tupleElement(r, 14) AS gen_reasoning_tokens,
       tupleElement(r, 15) AS gen_cost
FROM {{.Database}}.event_changes
ARRAY JOIN arrayFilter(x -> tupleElement(x, 8) != 0, [
    (prev_conversation_id, prev_event_name, {{msToTime "prev_ts_ms"}}, prev_ts_ms, prev_latency, prev_is_error,
     toUInt64(revision - 1), toInt8(-toInt16(emit_prev)),
     prev_model, prev_input_tokens, prev_output_tokens, prev_cache_read_tokens, prev_cache_creation_tokens,
     prev_reasoning_tokens, prev_cost),
    (conversation_id, event_name, {{msToTime "ts_ms"}}, ts_ms, latency, toUInt8(error != ''),
     revision, toInt8(emit_new),
     model, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
     reasoning_tokens, cost)
]) AS r
