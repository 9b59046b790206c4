package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DropServerDatabase drops database on a ClickHouse server table by table,
// materialized views first (they read the others), then the empty database:
// on the 18.16 server of `make services` a DROP DATABASE of a full database
// was seen to hang for minutes, holding a server thread. Tests and the
// benchmark use it to leave no scratch database behind.
func DropServerDatabase(ctx context.Context, conn driver.Conn, database string) error {
	rows, err := conn.Query(ctx, "SELECT name, engine FROM system.tables WHERE database = ?", database)
	if err != nil {
		return err
	}
	var views, tables []string
	for rows.Next() {
		var name, engine string
		if err := rows.Scan(&name, &engine); err != nil {
			rows.Close()
			return err
		}
		if engine == "MaterializedView" {
			views = append(views, name)
		} else {
			tables = append(tables, name)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range append(views, tables...) {
		if err := conn.Exec(ctx, "DROP TABLE IF EXISTS "+database+"."+t); err != nil {
			return fmt.Errorf("drop %s: %w", t, err)
		}
	}
	return conn.Exec(ctx, "DROP DATABASE IF EXISTS "+database)
}
