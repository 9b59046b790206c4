-- What the exporter inserts: one row per id whose state changes, holding the
-- new state and how the analytics rows change (emit_prev, emit_new and the
-- prev_* copy of the previous state's analytics columns). The Null engine
-- stores nothing; three materialized views write the parts of one insert:
-- event_state (the state columns), events (the -1/+1 rows) and error_days.
-- The insert pushes to them in parallel (parallel_view_processing).
--
-- One insert, three parts: a crash of the collector before the insert ends
-- writes none of them. Each part costs a fixed number of files whatever its
-- size, so the columns only the views read are not stored anywhere.
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
    prev_is_error        UInt8
)
ENGINE = Null
