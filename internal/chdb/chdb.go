// Package chdb is a small binding to libchdb, the embedded ClickHouse engine
// of chDB, through its connection API.
//
// The library is loaded at run time with purego rather than linked with cgo:
// the collector builds with CGO_ENABLED=0 and never needs the 500+ MB
// library unless a chDB endpoint is configured.
//
// The engine is process-wide. It serves one data directory at a time, so
// this package keeps a single reference-counted connection (see Open), and
// it runs one statement at a time per connection, so Conn serializes
// queries.
package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// Library is the loaded libchdb shared library. A process loads it at most
// once: the engine keeps global state that a second copy would not share.
type Library struct {
	path    string
	handle  uintptr
	version string
	// allocator is the allocator options asked for when the library was
	// loaded (see WithAllocator), empty for none.
	allocator string

	// C signatures, from chdb.h of chDB 26.x:
	//
	//	void chdb_set_signal_handlers_enabled(int enabled);
	//	const char * chdb_version(void);
	//	chdb_connection * chdb_connect(int argc, char ** argv);
	//	void chdb_close_conn(chdb_connection * conn);
	//	chdb_result * chdb_query_n(chdb_connection conn, const char * query, size_t query_len,
	//	                           const char * format, size_t format_len);
	//	char * chdb_result_buffer(chdb_result * result);
	//	size_t chdb_result_length(chdb_result * result);
	//	const char * chdb_result_error(chdb_result * result);
	//	void chdb_destroy_query_result(chdb_result * result);
	//
	// chdb_connection is itself a pointer, so chdb_connect returns a pointer
	// to a pointer; it is kept as *uintptr so that the Go side never turns an
	// integer back into a pointer. chdb_result handles are opaque to Go and
	// kept as uintptr.
	setSignalHandlersEnabled func(enabled int32)
	versionFn                func() *byte
	connect                  func(argc int32, argv **byte) *uintptr
	closeConn                func(conn *uintptr)
	queryN                   func(conn uintptr, query *byte, queryLen uintptr, format *byte, formatLen uintptr) uintptr
	resultBuffer             func(result uintptr) *byte
	resultLength             func(result uintptr) uintptr
	resultError              func(result uintptr) *byte
	destroyResult            func(result uintptr)
}

var (
	loadMu sync.Mutex
	loaded *Library
)

// Load loads libchdb from path once per process: later calls with the same
// path return the same *Library, and a call with a different path is an
// error, because a second engine in the same process would fight the first
// over global state.
func Load(path string) (*Library, error) {
	return load(path, "")
}

// load is Load with the allocator options of the engine (see WithAllocator):
// they are given to jemalloc when this call loads the library, and a later
// call that asks for other options fails, since they can no longer change.
func load(path, allocator string) (*Library, error) {
	if path == "" {
		return nil, errors.New("load libchdb: library path is empty")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load libchdb from %q: %w", path, err)
	}

	loadMu.Lock()
	defer loadMu.Unlock()
	if loaded != nil && loaded.path == abs {
		if allocator != "" && allocator != loaded.allocator {
			return nil, fmt.Errorf("load libchdb from %q: the allocator options %q apply only while the library loads, and it was loaded with %q", path, allocator, loaded.allocator)
		}
		return loaded, nil
	}
	// A missing file is the common mistake; report it as such even when
	// another copy is loaded, since that is what the caller has to fix.
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("load libchdb from %q: %w", path, err)
	}
	if loaded != nil {
		return nil, fmt.Errorf("load libchdb from %q: libchdb is already loaded from %q and a process can load it only once", path, loaded.path)
	}
	// jemalloc, linked into the library, reads its options from the
	// environment when the library's initializers run, i.e. in dlopen.
	if allocator != "" && os.Getenv(allocatorEnv) == "" {
		if err := os.Setenv(allocatorEnv, allocator); err != nil {
			return nil, fmt.Errorf("load libchdb from %q: %w", path, err)
		}
		defer os.Unsetenv(allocatorEnv)
	}
	lib, err := openLibrary(abs)
	if err != nil {
		return nil, fmt.Errorf("load libchdb from %q: %w", path, err)
	}
	lib.allocator = allocator
	loaded = lib
	return lib, nil
}

// allocatorEnv is where the jemalloc of libchdb, built with the je_ prefix,
// reads its options (MALLOC_CONF for an unprefixed jemalloc).
const allocatorEnv = "JE_MALLOC_CONF"

// openLibrary loads the shared library at the absolute path abs and binds
// the functions the package uses.
func openLibrary(abs string) (*Library, error) {
	handle, err := dlopen(abs)
	if err != nil {
		return nil, err
	}
	lib := &Library{path: abs, handle: handle}
	syms := []struct {
		name string
		fptr any
	}{
		{"chdb_set_signal_handlers_enabled", &lib.setSignalHandlersEnabled},
		{"chdb_version", &lib.versionFn},
		{"chdb_connect", &lib.connect},
		{"chdb_close_conn", &lib.closeConn},
		{"chdb_query_n", &lib.queryN},
		{"chdb_result_buffer", &lib.resultBuffer},
		{"chdb_result_length", &lib.resultLength},
		{"chdb_result_error", &lib.resultError},
		{"chdb_destroy_query_result", &lib.destroyResult},
	}
	for _, s := range syms {
		sym, err := dlsym(handle, s.name)
		if err != nil {
			// Nothing from the library has run beyond its initializers yet,
			// so unloading it is safe.
			_ = dlclose(handle)
			return nil, fmt.Errorf("not a usable chDB library (chDB 26.x with the connection API is required): %w", err)
		}
		purego.RegisterFunc(s.fptr, sym)
	}
	// chDB installs process-wide handlers for SIGSEGV and other signals by
	// default. They replace the Go runtime's handlers, which turns every Go
	// nil dereference (normally a recoverable panic) into a hang, so they
	// must be disabled before the first chdb_connect.
	lib.setSignalHandlersEnabled(0)
	lib.version = goString(lib.versionFn())
	return lib, nil
}

// Path returns the absolute path the library was loaded from.
func (l *Library) Path() string { return l.path }

// Version returns the chDB version reported by the library, e.g. "26.7.3".
func (l *Library) Version() string { return l.version }

// goString copies the NUL-terminated C string at p into Go memory.
func goString(p *byte) string {
	if p == nil {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(p), n)) != 0 {
		n++
	}
	return string(unsafe.Slice(p, n))
}
