// Package storage keeps canonical events in ClickHouse: the schema (created
// and migrated to fit the server it finds), the merge of operations onto the
// stored state, and the read queries of the analytics API.
//
// It runs on two engines behind one small interface, Conn: a ClickHouse
// server over the native protocol (clickhouse-go) and the embedded engine
// chDB, loaded in-process only when an endpoint asks for it. Every SQL text
// lives in sql/*.sql and is shared by both.
package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"
