-- The exporter writes each batch as ONE insert into this Null table; the two
-- materialized views below fan it out to event_state (target 0) and events
-- (target 1). One insert means a crash of the collector can never leave one
-- table written and the other not.
CREATE TABLE IF NOT EXISTS {{.Database}}.event_ops
(
    target          UInt8,
    sign            Int8,
    id              String,
    revision        UInt64,
    version         UInt64,
    created         UInt8,
    deleted         UInt8,
    field_versions  Array(UInt64),
    conversation_id String,
    event_name      String,
    timestamp       {{.TimestampType}},
    ts_ms           Int64,
    input           String,
    output          String,
    latency         Float64,
    error           String,
    attr_keys       Array(String),
    attr_values     Array(String)
)
ENGINE = Null
