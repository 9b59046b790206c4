-- Operations the engine refused on their own (the exporter isolates them by
-- splitting the batch that failed): each row holds one operation whole, as
-- JSON, with the error it met. Nothing reads or merges it: an operator lists
-- it (GET /dead-letters) and decides. Written like every insert (native
-- columns on the server, JSONCompactEachRow rows on the embedded engine), so
-- whatever made the operation fail cannot fail its dead letter.
CREATE TABLE IF NOT EXISTS {{.Database}}.dead_letters
(
    stored_at_ms Int64,
    id           String,
    version      UInt64,
    operation    String,
    error        String
)
ENGINE = MergeTree
ORDER BY (stored_at_ms, id)
