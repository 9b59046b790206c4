-- Errors per event name and UTC day, for GET /analytics/errors: a few
-- hundred rows instead of a scan of events. Each insert into event_changes adds
-- the signed error rows of its analytics rows here (materialized view
-- event_changes_to_error_days): +1 for a new state with an error, -1 when such
-- a state is superseded or deleted. Sums are exact over unmerged parts; a
-- merge adds the rows of one (name, day) and drops the ones that sum to 0.
CREATE TABLE IF NOT EXISTS {{.Database}}.error_days
(
    name   String,
    day    Date,
    errors Int64
)
ENGINE = SummingMergeTree(errors)
PARTITION BY toYYYYMM(day)
ORDER BY (name, day)
{{- if .TTLDays}}
TTL day + INTERVAL {{.TTLDays}} DAY
{{- end}}
