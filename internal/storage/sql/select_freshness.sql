-- The newest stored operation (its version: when the receiver accepted it,
-- in ns) and how many states were stored from operations accepted since a
-- moment, for the freshness of the read answers and the ingest rate. A scan
-- of one column of event_state. Parameter: the moment, as a version.
SELECT max(version), countIf(version >= ?)
FROM {{.Database}}.event_state
