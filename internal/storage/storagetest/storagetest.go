// Package storagetest gives tests scratch databases on the ClickHouse server
// of `make services` (127.0.0.1:9000) that are dropped when the test ends.
package storagetest // import "github.com/otelcol-events/otelcol-events/internal/storage/storagetest"

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// ServerAddr is the native-protocol address of the test server.
const ServerAddr = "127.0.0.1:9000"

// ServerDatabase returns a fresh database name (prefix_<nanoseconds>) and
// drops that database on the server when the test and everything it started
// are done (cleanups registered later run first). A failed test keeps it for
// inspection.
func ServerDatabase(t testing.TB, prefix string) string {
	database := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("database %s kept for inspection", database)
			return
		}
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ServerAddr}})
		if err != nil {
			t.Errorf("drop database %s: %v", database, err)
			return
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := storage.DropServerDatabase(ctx, conn, database); err != nil {
			t.Errorf("drop database %s: %v", database, err)
		}
	})
	return database
}
