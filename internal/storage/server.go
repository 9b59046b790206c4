package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// serverConn talks to a ClickHouse server over the native protocol.
type serverConn struct {
	conn driver.Conn
}

func openServer(opts *clickhouse.Options) (*serverConn, error) {
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open ClickHouse connection to %v: %w", opts.Addr, err)
	}
	return &serverConn{conn: conn}, nil
}

// Exec and Query bind their arguments with bindLiterals, as the embedded
// engine does, and hand the driver a statement without arguments: one
// binder for both engines, whose escaping the round-trip tests hold.
func (c *serverConn) Exec(ctx context.Context, query string, args ...any) error {
	q, err := bindLiterals(query, args)
	if err != nil {
		return err
	}
	return c.conn.Exec(ctx, q)
}

func (c *serverConn) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	q, err := bindLiterals(query, args)
	if err != nil {
		return nil, err
	}
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (c *serverConn) QueryIDs(ctx context.Context, query string, ids []string) (Rows, error) {
	tbl, err := ext.NewTable(IDsTable, ext.Column("id", "String"))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := tbl.Append(id); err != nil {
			return nil, fmt.Errorf("external table: %w", err)
		}
	}
	return c.Query(clickhouse.Context(ctx, clickhouse.WithExternalTable(tbl)), query)
}

// parallelViews makes an insert write the parts of its table's materialized
// views at the same time: the cost of a small part is mostly creating its
// files, which overlaps well.
var parallelViews = clickhouse.Settings{"parallel_view_processing": 1}

// Insert names the columns explicitly: ClickHouse 18.16 rejects a native
// batch insert without a column list.
//
// The batch runs without the caller's cancellation: clickhouse-go (v2.43)
// watches a batch's context in a goroutine that closes the connection when
// the context ends, and that goroutine can still fire after Send has
// returned and the connection is back in the pool, when the caller cancels
// its context right away (every exporter push does). The next query on that
// connection then fails with "use of closed network connection" or hangs.
// The connection's read timeout still bounds a stuck insert.
func (c *serverConn) Insert(ctx context.Context, table string, columns []Column) error {
	ctx = clickhouse.Context(context.WithoutCancel(ctx), clickhouse.WithSettings(parallelViews))
	names := make([]string, len(columns))
	for i, col := range columns {
		names[i] = col.Name
	}
	batch, err := c.conn.PrepareBatch(ctx, "INSERT INTO "+table+" ("+strings.Join(names, ", ")+")")
	if err != nil {
		return fmt.Errorf("prepare insert into %s: %w", table, err)
	}
	defer batch.Close()
	for i, col := range columns {
		if err := batch.Column(i).Append(col.Values); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("append column %s: %w", col.Name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("send insert into %s: %w", table, err)
	}
	return nil
}

func (c *serverConn) ServerVersion(ctx context.Context) (string, error) {
	var v string
	if err := c.conn.QueryRow(ctx, "SELECT version()").Scan(&v); err != nil {
		return "", err
	}
	return v, nil
}

func (c *serverConn) Ping(ctx context.Context) error { return c.conn.Ping(ctx) }

func (c *serverConn) Close() error { return c.conn.Close() }
