-- The error rows of the analytics rows event_changes_to_events writes (same
-- emit_prev/emit_new rules), summed per (name, UTC day) within each insert.
CREATE MATERIALIZED VIEW IF NOT EXISTS {{.Database}}.event_changes_to_error_days TO {{.Database}}.error_days AS
SELECT tupleElement(r, 1) AS name,
       tupleElement(r, 2) AS day,
       sum(tupleElement(r, 3)) AS errors
FROM {{.Database}}.event_changes
ARRAY JOIN arrayFilter(x -> tupleElement(x, 3) != 0, [
    (prev_event_name, toDate(toDateTime(intDiv(prev_ts_ms, 1000), 'UTC')), -toInt64(emit_prev * prev_is_error)),
    (event_name, toDate(toDateTime(intDiv(ts_ms, 1000), 'UTC')), toInt64(emit_new * (error != '')))
]) AS r
GROUP BY name, day
