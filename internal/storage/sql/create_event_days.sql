-- Events and errors per event name and UTC day, for GET /analytics/events
-- (the dashboard's overview): a few hundred rows instead of a scan of events.
-- Kept like error_days (event_changes_to_event_days): each insert into
-- event_changes adds +1 (and +1 error) for a new visible state and -1 for a
-- visible state that is superseded or deleted. Sums are exact over unmerged
-- parts; a merge adds the rows of one (name, day).
CREATE TABLE IF NOT EXISTS {{.Database}}.event_days
(
    name   String,
    day    Date,
    events Int64,
    errors Int64
)
ENGINE = SummingMergeTree((events, errors))
PARTITION BY toYYYYMM(day)
ORDER BY (name, day)
{{- if .TTLDays}}
TTL day + INTERVAL {{.TTLDays}} DAY
{{- end}}
