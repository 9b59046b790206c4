// Package chdbtest finds the embedded engine's library for the tests and
// benchmarks that need it.
package chdbtest // import "github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Find returns the path of libchdb.so: $CHDB_LIB, else
// <module root>/.cache/chdb/libchdb.so (what `make chdb` installs), the
// module root being the first directory with a go.mod above the working
// directory. It fails when the file is not there.
func Find() (string, error) {
	if p := os.Getenv("CHDB_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CHDB_LIB=%q: %w (run `make chdb`)", p, err)
		}
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("module root (go.mod) not found; set CHDB_LIB to the path of libchdb.so")
		}
		dir = parent
	}
	p := filepath.Join(dir, ".cache", "chdb", "libchdb.so")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("libchdb.so not found at %s: run `make chdb` to install it, or set CHDB_LIB: %w", p, err)
	}
	return p, nil
}

// Library is Find for a test: a missing library fails it (never skips).
func Library(tb testing.TB) string {
	tb.Helper()
	p, err := Find()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
