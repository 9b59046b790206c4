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
       tupleElement(r, 8) AS sign
FROM {{.Database}}.event_changes
ARRAY JOIN arrayFilter(x -> tupleElement(x, 8) != 0, [
    (prev_conversation_id, prev_event_name, {{msToTime "prev_ts_ms"}}, prev_ts_ms, prev_latency, prev_is_error,
     toUInt64(revision - 1), toInt8(-toInt16(emit_prev))),
    (conversation_id, event_name, {{msToTime "ts_ms"}}, ts_ms, latency, toUInt8(error != ''),
     revision, toInt8(emit_new))
]) AS r
