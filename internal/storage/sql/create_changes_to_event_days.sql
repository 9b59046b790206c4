-- The analytics rows of event_changes_to_events (same emit_prev/emit_new
-- rules), counted per (name, UTC day) within each insert: a -1 for the
-- previous state's row, a +1 for the new one, errors likewise.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_changes_to_event_days TO {{.Database}}.event_days AS
SELECT tupleElement(r, 1) AS name,
       tupleElement(r, 2) AS day,
       sum(tupleElement(r, 3)) AS events,
       sum(tupleElement(r, 4)) AS errors
FROM {{.Database}}.event_changes
ARRAY JOIN arrayFilter(x -> tupleElement(x, 3) != 0, [
    (prev_event_name, toDate(toDateTime(intDiv(prev_ts_ms, 1000), 'UTC')), -toInt64(emit_prev), -toInt64(emit_prev * prev_is_error)),
    (event_name, toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')), toInt64(emit_new), toInt64(emit_new * (error != '')))
]) AS r
GROUP BY name, day
