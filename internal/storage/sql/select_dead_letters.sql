-- The newest dead letters first. Parameter: limit.
SELECT stored_at_ms, id, version, operation, error
FROM {{.Database}}.dead_letters
ORDER BY stored_at_ms DESC, id
LIMIT ?
