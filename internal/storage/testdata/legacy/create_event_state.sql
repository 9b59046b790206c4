-- The merged state of every id, tombstones included: what the exporter merges
-- the next operations onto and what GET /event/{id} reads (sorted by id, so a
-- lookup is a point read). The row with the highest revision wins.
--
-- Each row also says how the analytics rows change (emit_prev, emit_new and
-- the prev_* copy of the previous state's analytics columns); the
-- materialized view event_state_to_events turns that into the -1/+1 rows of
-- events. One insert into this table therefore writes both tables: a crash
-- of the collector can never leave one written and the other not.
CREATE TABLE IF NOT EXISTS {{.Database}}.event_state
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
ENGINE = ReplacingMergeTree(revision)
ORDER BY id
-- Small granules: a point read by id touches 1024 rows per part instead of
-- 8192 (measured: internal/storage/readbench).
SETTINGS index_granularity = 1024
