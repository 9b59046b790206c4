-- Analytics rows: one +1 row per visible state of an event, cancelled by a -1
-- copy when the state changes or is deleted. Aggregates weighted by sign are
-- exact over unmerged parts, so no read needs FINAL. The sorting key holds
-- only fields an event never changes (the API rejects updates of
-- conversation_id and timestamp), and id, so that a -1 row only ever
-- collapses with the +1 row it cancels.
CREATE TABLE IF NOT EXISTS {{.Database}}.events
(
    id              String,
    conversation_id String,
    event_name      String,
    timestamp       {{.TimestampType}},
    ts_ms           Int64,
    input           String,
    output          String,
    latency         Float64,
    error           String,
    attr_keys       Array(String),
    attr_values     Array(String),
    revision        UInt64,
    sign            Int8
)
ENGINE = CollapsingMergeTree(sign)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (conversation_id, timestamp, id)
{{- if .TTLDays}}
TTL toDateTime(timestamp) + INTERVAL {{.TTLDays}} DAY
{{- end}}
