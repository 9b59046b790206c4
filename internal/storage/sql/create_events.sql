-- Analytics rows: one +1 row per visible state of an event, cancelled by a -1
-- copy when a column here changes or the event is deleted. Aggregates weighted
-- by sign are exact over unmerged parts, so no read needs FINAL. The rows
-- hold only what the aggregates and the conversation index need (input,
-- output and attributes live in event_state): narrow rows, fast scans. The
-- sorting key holds only fields an event never changes (the API rejects
-- updates of conversation_id and timestamp), and id, so that a -1 row only
-- ever collapses with the +1 row it cancels.
CREATE TABLE IF NOT EXISTS {{.Database}}.events
(
    id              String,
    conversation_id String,
    event_name      String,
    timestamp       {{.TimestampType}},
    ts_ms           Int64,
    latency         Float64,
    is_error        UInt8,
    revision        UInt64,
    sign            Int8
)
ENGINE = CollapsingMergeTree(sign)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (conversation_id, timestamp, id)
{{- if .TTLDays}}
TTL toDateTime(timestamp) + INTERVAL {{.TTLDays}} DAY
{{- end}}
