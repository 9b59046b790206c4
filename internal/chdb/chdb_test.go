package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"
)

// childDataDirEnv makes the test binary act as a second process on a data
// directory (see TestDataPersistsAcrossProcesses) instead of running tests.
const childDataDirEnv = "CHDB_TEST_CHILD_DATA_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(childDataDirEnv); dir != "" {
		os.Exit(runChild(dir))
	}
	if conf := os.Getenv(childAllocatorEnv); conf != "" {
		os.Exit(runAllocatorChild(conf))
	}
	os.Exit(m.Run())
}

// runChild adds one row to persist.t in dir and prints the row count.
func runChild(dir string) int {
	conn, err := Open(os.Getenv("CHDB_LIB"), dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = conn.Close() }()
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS persist",
		"CREATE TABLE IF NOT EXISTS persist.t (n UInt32) ENGINE = MergeTree ORDER BY n",
		"INSERT INTO persist.t (n) VALUES (1)",
	} {
		if _, err := conn.Query(ctx, q, ""); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	out, err := conn.Query(ctx, "SELECT count() FROM persist.t", "TabSeparated")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Print(string(out))
	return 0
}

var testLib struct {
	once sync.Once
	path string
	err  error
}

// libPath returns the libchdb the tests run against: $CHDB_LIB, else the
// copy `make chdb` installs under the module root. The tests exist to check
// the binding against the real engine, so a missing library fails them.
func libPath(t testing.TB) string {
	t.Helper()
	testLib.once.Do(func() {
		testLib.path, testLib.err = chdbtest.Find()
		if testLib.err == nil {
			// Load the large library once, up front, so its cost does not
			// land on whichever test happens to run first.
			_, testLib.err = Load(testLib.path)
		}
	})
	require.NoError(t, testLib.err)
	return testLib.path
}

// openTemp opens a connection on a fresh data directory and closes it when the
// test ends.
func openTemp(t *testing.T) *Conn {
	t.Helper()
	conn, err := Open(libPath(t), t.TempDir())
	require.NoError(t, err)
	t.Cleanup(func() { closeAll(t, conn) })
	return conn
}

// closeAll drops every remaining reference so that the next test can open
// its own data directory.
func closeAll(t *testing.T, conn *Conn) {
	t.Helper()
	for {
		if err := conn.Close(); err != nil {
			require.ErrorIs(t, err, ErrClosed)
			return
		}
	}
}

func mustQuery(t *testing.T, conn *Conn, query, format string) string {
	t.Helper()
	out, err := conn.Query(context.Background(), query, format)
	require.NoError(t, err, query)
	return string(out)
}

func TestLoad(t *testing.T) {
	path := libPath(t)
	lib, err := Load(path)
	require.NoError(t, err)
	again, err := Load(path)
	require.NoError(t, err)
	assert.Same(t, lib, again)
	assert.True(t, strings.HasPrefix(lib.Version(), "26."), "version %q", lib.Version())
	assert.True(t, filepath.IsAbs(lib.Path()))
}

func TestLoadErrors(t *testing.T) {
	libPath(t) // the "already loaded" case needs the real library loaded
	dir := t.TempDir()
	notELF := filepath.Join(dir, "libchdb.so")
	require.NoError(t, os.WriteFile(notELF, []byte("not a shared library"), 0o600))
	missing := filepath.Join(dir, "missing", "libchdb.so")

	tests := []struct {
		name string
		load func() error
		want []string
	}{
		{
			name: "empty path",
			load: func() error { _, err := Load(""); return err },
			want: []string{"library path is empty"},
		},
		{
			name: "missing file",
			load: func() error { _, err := Load(missing); return err },
			want: []string{fmt.Sprintf("load libchdb from %q", missing), "no such file or directory"},
		},
		{
			name: "other path while loaded",
			load: func() error { _, err := Load(notELF); return err },
			want: []string{fmt.Sprintf("load libchdb from %q", notELF), "already loaded"},
		},
		{
			name: "open missing library",
			load: func() error { _, err := Open(missing, t.TempDir()); return err },
			want: []string{fmt.Sprintf("load libchdb from %q", missing), "no such file or directory"},
		},
		{
			// Bypasses the once-per-process guard to reach the dynamic
			// loader itself.
			name: "not a shared library",
			load: func() error { _, err := openLibrary(notELF); return err },
			want: []string{notELF},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load()
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	conn := openTemp(t)
	mustQuery(t, conn, "CREATE DATABASE IF NOT EXISTS q", "")
	mustQuery(t, conn, "CREATE TABLE IF NOT EXISTS q.t (id UInt64, name String, score Float64) ENGINE = MergeTree ORDER BY id", "")
	mustQuery(t, conn, "INSERT INTO q.t (id, name, score) VALUES (1, 'one', 1.5), (2, 'two', 2.5)", "")
	mustQuery(t, conn, "INSERT INTO q.t (id, name, score) FORMAT TabSeparated\n3\tthree\t3.5\n4\tfour\\ttab\t4.5\n", "")

	tests := []struct {
		name   string
		query  string
		format string
		want   string
	}{
		{
			name:   "JSONCompactEachRow",
			query:  "SELECT id, name, score FROM q.t ORDER BY id",
			format: "JSONCompactEachRow",
			want:   "[1, \"one\", 1.5]\n[2, \"two\", 2.5]\n[3, \"three\", 3.5]\n[4, \"four\\ttab\", 4.5]\n",
		},
		{
			name:   "TabSeparated",
			query:  "SELECT count(), sum(id) FROM q.t",
			format: "TabSeparated",
			want:   "4\t10\n",
		},
		{
			name:   "JSONEachRow",
			query:  "SELECT name FROM q.t WHERE id = 4",
			format: "JSONEachRow",
			want:   "{\"name\":\"four\\ttab\"}\n",
		},
		{
			name:   "no rows",
			query:  "SELECT id FROM q.t WHERE id > 100",
			format: "JSONCompactEachRow",
			want:   "",
		},
		{
			name:   "no output expected",
			query:  "SELECT id FROM q.t",
			format: "",
			want:   "",
		},
		{
			name:   "NUL byte in query",
			query:  "SELECT 'a\x00b'",
			format: "TabSeparated",
			want:   "a\\0b\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, mustQuery(t, conn, tt.query, tt.format))
		})
	}
}

func TestQueryErrors(t *testing.T) {
	conn := openTemp(t)
	mustQuery(t, conn, "CREATE DATABASE IF NOT EXISTS e", "")
	mustQuery(t, conn, "CREATE TABLE IF NOT EXISTS e.t (n UInt32) ENGINE = MergeTree ORDER BY n", "")

	tests := []struct {
		name   string
		query  string
		format string
		want   string
	}{
		{name: "syntax", query: "SELEC 1 FROM", format: "TabSeparated", want: "Code: 62"},
		{name: "unknown database", query: "SELECT * FROM nosuch.t", format: "TabSeparated", want: "UNKNOWN_DATABASE"},
		{name: "unknown table", query: "SELECT * FROM e.nosuch", format: "TabSeparated", want: "UNKNOWN_TABLE"},
		{name: "unknown format", query: "SELECT 1", format: "NoSuchFormat", want: "UNKNOWN_FORMAT"},
		{name: "bad inline data", query: "INSERT INTO e.t (n) FORMAT TabSeparated\nnot-a-number\n", want: "Cannot parse"},
		{name: "empty query", query: "", want: "query is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := conn.Query(context.Background(), tt.query, tt.format)
			require.Error(t, err)
			assert.Nil(t, out)
			assert.Contains(t, err.Error(), "chdb query: ")
			assert.Contains(t, err.Error(), tt.want)
		})
	}
	// An engine error leaves the connection usable and writes nothing.
	assert.Equal(t, "0\n", mustQuery(t, conn, "SELECT count() FROM e.t", "TabSeparated"))
}

func TestOpenRefCount(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(libPath(t), dir)
	require.NoError(t, err)
	t.Cleanup(func() { closeAll(t, first) })
	second, err := Open(libPath(t), dir)
	require.NoError(t, err)
	assert.Same(t, first, second)

	_, err = Open(libPath(t), t.TempDir())
	require.ErrorContains(t, err, "already open at")

	require.NoError(t, first.Close())
	assert.Equal(t, "1\n", mustQuery(t, second, "SELECT 1", "TabSeparated"), "one reference is still open")

	require.NoError(t, second.Close())
	_, err = second.Query(context.Background(), "SELECT 1", "TabSeparated")
	require.ErrorIs(t, err, ErrClosed)
	require.ErrorIs(t, second.Close(), ErrClosed)

	// With the engine closed, another data directory may be opened.
	other, err := Open(libPath(t), t.TempDir())
	require.NoError(t, err)
	assert.NotSame(t, first, other)
	require.NoError(t, other.Close())
}

func TestOpenCreatesDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	conn, err := Open(libPath(t), dir)
	require.NoError(t, err)
	defer closeAll(t, conn)
	assert.Equal(t, dir, conn.DataDir())
	assert.DirExists(t, dir)
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	conn, err := Open(libPath(t), dir)
	require.NoError(t, err)
	mustQuery(t, conn, "CREATE DATABASE IF NOT EXISTS r", "")
	mustQuery(t, conn, "CREATE TABLE IF NOT EXISTS r.t (n UInt32, s String) ENGINE = MergeTree ORDER BY n", "")
	mustQuery(t, conn, "INSERT INTO r.t (n, s) VALUES (1, 'a'), (2, 'b')", "")
	require.NoError(t, conn.Close())

	conn, err = Open(libPath(t), dir)
	require.NoError(t, err)
	defer closeAll(t, conn)
	assert.Equal(t, "[1, \"a\"]\n[2, \"b\"]\n", mustQuery(t, conn, "SELECT n, s FROM r.t ORDER BY n", "JSONCompactEachRow"))
}

func TestDataPersistsAcrossProcesses(t *testing.T) {
	lib, err := filepath.Abs(libPath(t))
	require.NoError(t, err)
	dir := t.TempDir()
	child := func() string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childDataDirEnv+"="+dir, "CHDB_LIB="+lib)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "child process: %s", stderr.String())
		return string(out)
	}

	// A process writes, this one reads and writes, a third reads: each sees
	// every earlier row.
	assert.Equal(t, "1\n", child())
	conn, err := Open(lib, dir)
	require.NoError(t, err)
	assert.Equal(t, "1\n", mustQuery(t, conn, "SELECT count() FROM persist.t", "TabSeparated"))
	mustQuery(t, conn, "INSERT INTO persist.t (n) VALUES (2)", "")
	require.NoError(t, conn.Close())
	assert.Equal(t, "3\n", child())
}

func TestConcurrentQueries(t *testing.T) {
	conn := openTemp(t)
	mustQuery(t, conn, "CREATE DATABASE IF NOT EXISTS c", "")
	mustQuery(t, conn, "CREATE TABLE IF NOT EXISTS c.t (g UInt32, i UInt32) ENGINE = MergeTree ORDER BY (g, i)", "")

	const goroutines, perGoroutine = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, goroutines*perGoroutine)
	for g := range goroutines {
		wg.Go(func() {
			for i := range perGoroutine {
				ctx := context.Background()
				if _, err := conn.Query(ctx, fmt.Sprintf("INSERT INTO c.t (g, i) VALUES (%d, %d)", g, i), ""); err != nil {
					errs <- err
					continue
				}
				out, err := conn.Query(ctx, fmt.Sprintf("SELECT count() FROM c.t WHERE g = %d", g), "TabSeparated")
				if err != nil {
					errs <- err
					continue
				}
				if want := fmt.Sprintf("%d\n", i+1); string(out) != want {
					errs <- fmt.Errorf("goroutine %d: got count %q, want %q", g, out, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	assert.Equal(t, fmt.Sprintf("%d\n", goroutines*perGoroutine), mustQuery(t, conn, "SELECT count() FROM c.t", "TabSeparated"))
}

func TestQueryContext(t *testing.T) {
	conn := openTemp(t)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := conn.Query(ctx, "SELECT 1", "TabSeparated")
	require.ErrorIs(t, err, context.Canceled)

	// A query waiting for the connection gives up when its context ends.
	done := make(chan error, 1)
	go func() {
		_, err := conn.Query(context.Background(), "SELECT sleep(0.5)", "TabSeparated")
		done <- err
	}()
	require.Eventually(t, func() bool { return len(conn.sem) == 1 }, 5*time.Second, time.Millisecond)
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = conn.Query(ctx, "SELECT 1", "TabSeparated")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, <-done)
}

// TestLargeInsert sends 50,000 rows of ten columns inline, the way the
// storage layer batches events, in both supported insert forms.
func TestLargeInsert(t *testing.T) {
	conn := openTemp(t)
	mustQuery(t, conn, "CREATE DATABASE IF NOT EXISTS l", "")
	mustQuery(t, conn, `CREATE TABLE IF NOT EXISTS l.t (
		ts DateTime64(9), id UInt64, service LowCardinality(String), name String, severity UInt8,
		body String, trace_id FixedString(16), attrs Map(String, String), duration Float64, ok Bool
	) ENGINE = MergeTree ORDER BY (service, ts)`, "")

	const rows = 50000
	const columns = "(ts, id, service, name, severity, body, trace_id, attrs, duration, ok)"
	var values, tsv strings.Builder
	values.WriteString("INSERT INTO l.t " + columns + " VALUES ")
	tsv.WriteString("INSERT INTO l.t " + columns + " FORMAT TabSeparated\n")
	for i := range rows {
		if i > 0 {
			values.WriteString(", ")
		}
		fmt.Fprintf(&values, "('2026-01-02 03:04:05.%09d', %d, 'svc-%d', 'event.%d', %d, 'body of event %d', 'abcdefghijklmnop', {'k':'v%d'}, %d.5, %t)",
			i, i, i%7, i%100, i%24, i, i, i, i%2 == 0)
		fmt.Fprintf(&tsv, "2026-01-02 03:04:05.%09d\t%d\tsvc-%d\tevent.%d\t%d\tbody of event %d\tabcdefghijklmnop\t{'k':'v%d'}\t%d.5\t%t\n",
			i, rows+i, i%7, i%100, i%24, i, i, i, i%2 == 0)
	}
	for _, tc := range []struct{ name, query string }{
		{"VALUES", values.String()},
		{"FORMAT TabSeparated", tsv.String()},
	} {
		start := time.Now()
		mustQuery(t, conn, tc.query, "")
		elapsed := time.Since(start)
		t.Logf("%s: %d rows (%d bytes) in %v, %.0f rows/s", tc.name, rows, len(tc.query), elapsed, rows/elapsed.Seconds())
	}
	assert.Equal(t, fmt.Sprintf("%d\t%d\n", 2*rows, 2*rows), mustQuery(t, conn, "SELECT count(), uniqExact(id) FROM l.t", "TabSeparated"))
}
