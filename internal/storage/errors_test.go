package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"server: cannot parse", fmt.Errorf("write: %w", &clickhouse.Exception{Code: 130, Message: "Cannot read array from text"}), true},
		{"server: throwIf", &clickhouse.Exception{Code: 395}, true},
		{"server: memory", fmt.Errorf("write: %w", &clickhouse.Exception{Code: 241}), false},
		{"server: too many parts", &clickhouse.Exception{Code: 252}, false},
		{"server: disk full", &clickhouse.Exception{Code: 243}, false},
		{"server: table gone", &clickhouse.Exception{Code: 60}, false},
		{"embedded: cannot parse", errors.New("insert into db.event_changes: chdb query: Code: 130. DB::Exception: Cannot read array from text, expected comma or end of array, found 's'. (CANNOT_READ_ARRAY_FROM_TEXT)"), true},
		{"embedded: memory", errors.New("chdb query: Code: 241. DB::Exception: Memory limit (total) exceeded. (MEMORY_LIMIT_EXCEEDED)"), false},
		{"embedded: closed", fmt.Errorf("insert: %w", errors.New("chdb: connection is closed")), false},
		{"connection refused", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"connection cut", fmt.Errorf("send: %w", io.ErrUnexpectedEOF), false},
		{"deadline", context.DeadlineExceeded, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := Rejected(tc.err); got != tc.want {
				t.Fatalf("Rejected(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
