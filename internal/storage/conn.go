package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"time"
)

// Conn is what the store needs from a ClickHouse engine. Queries use
// positional `?` placeholders; each implementation binds the arguments
// itself (never by splicing caller text into SQL).
type Conn interface {
	// Exec runs a statement that returns no rows.
	Exec(ctx context.Context, query string, args ...any) error
	// Query runs a statement and returns its rows.
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// QueryIDs runs a statement in which the name IDsTable stands for a
	// one-column table (id String) of ids. A server receives the ids as
	// external data, which is an order of magnitude cheaper than parsing
	// thousands of literals.
	QueryIDs(ctx context.Context, query string, ids []string) (Rows, error)
	// Insert appends one block. Each column's Values is a typed slice
	// ([]string, []uint64, []int64, []int8, []uint8, []float64,
	// [][]string, [][]uint64), all of the same length. The
	// block goes to the table's materialized views in parallel
	// (parallel_view_processing), not one view after the other.
	Insert(ctx context.Context, table string, columns []Column) error
	// ServerVersion returns the engine's version string, e.g. "18.16.1".
	ServerVersion(ctx context.Context) (string, error)
	// Ping checks that the engine answers.
	Ping(ctx context.Context) error
	Close() error
}

// Rows iterates over a result.
type Rows interface {
	Next() bool
	// Scan copies the current row into pointers to string, int64, uint64,
	// int8, uint8, float64, []string or []uint64.
	Scan(dest ...any) error
	Err() error
	Close() error
}

// IDsTable is the name QueryIDs binds to the ids.
const IDsTable = "_ids"

// Column is one column of an insert block.
type Column struct {
	Name   string
	Values any
}

// timeOf returns the UTC time of a Unix millisecond timestamp.
func timeOf(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
