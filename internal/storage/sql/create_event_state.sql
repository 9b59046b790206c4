-- The merged state of every id, tombstones included: what the exporter merges
-- the next operations onto and what GET /event/{id} reads (sorted by id, so a
-- lookup is a point read). The row with the highest revision wins.
--
-- The exporter inserts here first, then into event_changes (the analytics
-- rows): a fault between the two is repaired when the operations come again
-- (internal/storage/repair.go).
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
    -- The LLM call fields (schema.go adds them to a table made before them).
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
    -- the distinct writes applied, and the hashes of the latest ones
    -- (event.State.Writes): the version reads return
    writes               UInt64,
    write_hashes         Array(UInt64)
)
ENGINE = ReplacingMergeTree(revision)
ORDER BY id
-- Small granules: a point read by id touches 1024 rows per part instead of
-- 8192 (measured: internal/storage/readbench).
SETTINGS index_granularity = 1024
