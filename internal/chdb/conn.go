package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// ErrClosed is returned by Query and Close on a connection whose last
// reference has been closed.
var ErrClosed = errors.New("chdb: connection is closed")

// noOutputFormat is the output format used when the caller expects no
// output: the engine rejects an empty format name, and Null discards
// whatever a statement would print.
const noOutputFormat = "Null"

// Conn is the process-wide connection to the chDB engine. It is safe for
// concurrent use.
type Conn struct {
	lib     *Library
	dataDir string
	// args are the engine's settings as arguments, after --path.
	args []string

	// refs counts the Open calls not yet matched by Close; guarded by openMu.
	refs int

	// sem, a one-slot semaphore, is held for every call into the engine
	// connection. The engine runs one statement at a time per connection
	// anyway; queuing in Go instead of inside the library lets a waiting
	// Query give up when its context ends and keeps waiting goroutines off
	// OS threads. It also orders Close after the queries in flight.
	sem chan struct{}
	// handle is the engine's chdb_connection*; nil once closed. Guarded by
	// sem.
	handle *uintptr
	// pinner keeps the argv strings given to chdb_connect in place for the
	// connection's lifetime, since the library does not document whether
	// it keeps them.
	pinner runtime.Pinner
}

var (
	openMu  sync.Mutex
	current *Conn
)

// Open returns the process-wide connection to the chDB engine for dataDir,
// loading the library from libPath (see Load) and creating dataDir if needed.
//
// The engine serves one data directory per process, so the connection is
// shared and reference counted: Open with the same dataDir returns the same
// *Conn, each Open must be matched by a Close, and the engine connection is
// closed when the count reaches zero. Open with another dataDir fails while
// a connection is open, and so does Open with other options (see Option).
// Tables must be named with an explicit database: the engine resolves bare
// names in its default database as files in the working directory.
//
// Once the engine has started, the pages of the library's code and
// constants are dropped from the process's resident set (see
// releaseLibraryPages): start-up runs code the engine never runs again.
func Open(libPath, dataDir string, opts ...Option) (*Conn, error) {
	if dataDir == "" {
		return nil, errors.New("open chdb: data directory is empty")
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("open chdb at %q: %w", dataDir, err)
	}
	o, err := resolve(opts)
	if err != nil {
		return nil, fmt.Errorf("open chdb at %q: %w", dir, err)
	}
	lib, err := load(libPath, o.allocator)
	if err != nil {
		return nil, err
	}
	args := o.args()

	openMu.Lock()
	defer openMu.Unlock()
	if current != nil {
		if current.dataDir != dir {
			return nil, fmt.Errorf("open chdb at %q: the engine is already open at %q and serves one data directory per process", dir, current.dataDir)
		}
		if !slices.Equal(current.args, args) {
			return nil, fmt.Errorf("open chdb at %q: the engine is already running with other settings (%s, asked for %s); a process runs one engine", dir, strings.Join(current.args, " "), strings.Join(args, " "))
		}
		current.refs++
		return current, nil
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("open chdb at %q: %w", dir, err)
	}
	c := &Conn{lib: lib, dataDir: dir, args: args, refs: 1, sem: make(chan struct{}, 1)}
	// clickhouse-local style arguments: argv[0] is the program name and
	// argc must equal len(argv) or the engine ignores the rest.
	argv := make([]*byte, 0, 2+len(args))
	for _, arg := range append([]string{"clickhouse", "--path=" + dir}, args...) {
		b := append([]byte(arg), 0)
		c.pinner.Pin(&b[0])
		argv = append(argv, &b[0])
	}
	c.pinner.Pin(&argv[0])
	c.handle = lib.connect(int32(len(argv)), &argv[0])
	if c.handle == nil {
		c.pinner.Unpin()
		// The engine prints its reason on stderr only; the usual ones are
		// named here.
		return nil, fmt.Errorf("open chdb at %q: chdb_connect failed (another process may hold the directory's lock file %q, it is not a chDB data directory, or a setting is invalid: %s)", dir, filepath.Join(dir, "status"), strings.Join(args, " "))
	}
	// Best effort: a page left resident costs memory, not correctness.
	_, _ = releaseLibraryPages(lib.path)
	current = c
	return c, nil
}

// DataDir returns the absolute path of the connection's data directory.
func (c *Conn) DataDir() string { return c.dataDir }

// Query runs one statement and returns its output, copied into Go memory,
// in the ClickHouse output format named by format (e.g. "JSONCompactEachRow",
// "TabSeparated", "JSONEachRow"). An empty format means that no output is
// expected; any output is then discarded. Data for an INSERT goes inline in
// the query text, after VALUES or after a FORMAT clause and a newline.
//
// Statements run one at a time; ctx bounds only the wait for the
// connection, because the engine cannot interrupt a statement once started.
// Errors reported by the engine are returned with the engine's message.
func (c *Conn) Query(ctx context.Context, query, format string) ([]byte, error) {
	if query == "" {
		return nil, errors.New("chdb query: query is empty")
	}
	if format == "" {
		format = noOutputFormat
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("chdb query: %w", ctx.Err())
	}
	defer func() { <-c.sem }()
	// Both select cases may have been ready; do not start a statement for a
	// caller that has already given up.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("chdb query: %w", err)
	}
	if c.handle == nil {
		return nil, ErrClosed
	}
	out, err := c.lib.query(*c.handle, query, format)
	if format == noOutputFormat {
		out = nil
	}
	return out, err
}

// Close releases one reference to the connection. The last Close waits for
// the statement in flight, if any, and closes the engine connection, which
// shuts the engine down; a later Open starts it again.
func (c *Conn) Close() error {
	openMu.Lock()
	defer openMu.Unlock()
	if c.refs == 0 {
		return ErrClosed
	}
	c.refs--
	if c.refs > 0 {
		return nil
	}
	current = nil
	c.sem <- struct{}{}
	c.lib.closeConn(c.handle)
	c.handle = nil
	c.pinner.Unpin()
	<-c.sem
	return nil
}

// query runs one statement on the engine connection conn (a
// chdb_connection) and copies out its result.
func (l *Library) query(conn uintptr, query, format string) ([]byte, error) {
	// chdb_query_n takes lengths, so the Go strings are passed in place
	// without a NUL-terminated copy; insert statements carry their data
	// and can be megabytes long. Both strings are non-empty here.
	res := l.queryN(conn,
		unsafe.StringData(query), uintptr(len(query)),
		unsafe.StringData(format), uintptr(len(format)))
	if res == 0 {
		return nil, errors.New("chdb query: the engine returned no result")
	}
	defer l.destroyResult(res)
	if p := l.resultError(res); p != nil {
		msg := strings.TrimSpace(goString(p))
		if msg == "" {
			msg = "the engine reported an error without a message"
		}
		return nil, fmt.Errorf("chdb query: %s", msg)
	}
	n := l.resultLength(res)
	if n == 0 {
		return nil, nil
	}
	buf := l.resultBuffer(res)
	if buf == nil {
		return nil, nil
	}
	// The buffer belongs to the result, which is destroyed on return.
	out := make([]byte, n)
	copy(out, unsafe.Slice(buf, n))
	return out, nil
}
