-- What the exporter inserts after the new states (into event_state): one row
-- per id whose state changes, holding how its analytics rows change
-- (emit_prev, emit_new and the prev_* copy of the previous state's analytics
-- columns, beside the new state's). The Null engine stores nothing; two
-- materialized views write the parts of one insert, events (the -1/+1 rows)
-- and error_days, in parallel (parallel_view_processing). The state columns
-- it still has are not sent (their defaults cost nothing in a Null table).
--
-- The parts are not one transaction: a fault can write the state and not
-- its analytics rows, or events and not error_days. The retry of the same
-- operations finds them in the state and repairs what derives from it
-- (internal/storage/repair.go).
CREATE TABLE IF NOT EXISTS {{.Database}}.event_changes
(
    id                   String,
    revision             UInt64,
    version              UInt64,
    created              UInt8,
    deleted              UInt8,
    field_versions       Array(UInt64),
    conversation_id      String,
    event_name           String,
    ts_ms                Int64,
    input                String,
    output               String,
    latency              Float64,
    error                String,
    attr_keys            Array(String),
    attr_values          Array(String),
    emit_prev            UInt8,
    emit_new             UInt8,
    prev_conversation_id String,
    prev_event_name      String,
    prev_ts_ms           Int64,
    prev_latency         Float64,
    prev_is_error        UInt8,
    model                 String,
    provider              String,
    operation             String,
    input_tokens          UInt64,
    output_tokens         UInt64,
    cache_read_tokens     UInt64,
    cache_creation_tokens UInt64,
    reasoning_tokens      UInt64,
    time_to_first_token   Float64,
    finish_reason         String,
    cost                  Float64,
    trace_id              String,
    span_id               String,
    prev_model                 String,
    prev_input_tokens          UInt64,
    prev_output_tokens         UInt64,
    prev_cache_read_tokens     UInt64,
    prev_cache_creation_tokens UInt64,
    prev_reasoning_tokens      UInt64,
    prev_cost                  Float64
)
ENGINE = Null
