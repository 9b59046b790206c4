-- Analytics rows: one +1 row per visible state of an event, cancelled by a -1
-- copy when a column here changes or the event is deleted. Aggregates weighted
-- by sign are exact over unmerged parts, so no read needs FINAL. The rows
-- hold only what the aggregates and the conversation index need (input,
-- output and attributes live in event_state): narrow rows, fast scans. The
-- sorting key holds only fields an event never changes (the API rejects
-- updates of conversation_id and timestamp), and id, so that a -1 row only
-- ever collapses with the +1 row it cancels.
--
-- The column names differ from event_changes' on purpose: the materialized
-- view that fills this table builds its rows from event_changes columns, and
-- ClickHouse 18.16 cannot resolve an output alias that shadows a column it is
-- computed from.
CREATE TABLE IF NOT EXISTS {{.Database}}.events
(
    id            String,
    conversation  String,
    name          String,
    event_time    {{.TimestampType}},
    event_time_ms Int64,
    latency_ms    Float64,
    is_error      UInt8,
    rev           UInt64,
    sign          Int8
)
ENGINE = CollapsingMergeTree(sign)
PARTITION BY toYYYYMM(event_time)
ORDER BY (conversation, event_time, id)
{{- if .TTLDays}}
TTL toDateTime(event_time) + INTERVAL {{.TTLDays}} DAY
{{- end}}
-- Small granules: a conversation page and a point read touch 1024 rows per
-- part instead of 8192 (measured: internal/storage/readbench).
SETTINGS index_granularity = 1024
