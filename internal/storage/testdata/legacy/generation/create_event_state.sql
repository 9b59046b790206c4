-- The merged state of every id, tombstones included: what the exporter merges
-- the next operations onto and what GET /event/{id} reads (sorted by id, so a
-- lookup is a point read). The row with the highest revision wins.
--
-- The exporter never inserts here directly: it inserts into event_changes,
-- and the materialized view event_changes_to_state copies the state columns.
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
    attr_values          Array(String)
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY id
-- Small granules: a point read by id touches 1024 rows per part instead of
-- 8192 (measured: internal/storage/readbench).
SETTINGS index_granularity = 1024
