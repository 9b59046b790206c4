package chdb // import "github.com/otelcol-events/otelcol-events/internal/chdb"

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// childAllocatorEnv makes the test binary act as a process that loads the
// library with allocator options (see TestOpenAllocator).
const childAllocatorEnv = "CHDB_TEST_CHILD_ALLOCATOR"

// runAllocatorChild opens an engine with the allocator options in conf and
// prints the allocator's dirty page decay and whether the environment kept
// the variable used to pass them.
func runAllocatorChild(conf string) int {
	dir, err := os.MkdirTemp("", "chdb-allocator-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	conn, err := Open(os.Getenv("CHDB_LIB"), dir, WithAllocator(conf))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer func() { _ = conn.Close() }()
	out, err := conn.Query(context.Background(), "SELECT * FROM system.jemalloc_stats", "TSVRaw")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "opt.dirty_decay_ms:") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	fmt.Printf("%s=%q\n", allocatorEnv, os.Getenv(allocatorEnv))
	return 0
}

func TestOpenSettings(t *testing.T) {
	lib := libPath(t)
	dir := t.TempDir()
	const query = "SELECT name, value FROM system.server_settings WHERE name IN ('mark_cache_size', 'background_pool_size', 'memory_worker_use_cgroup', 'memory_worker_dynamic_hard_limit') ORDER BY name"

	conn, err := Open(lib, dir, WithSettings(map[string]string{"mark_cache_size": "12345678", "background_pool_size": "4"}))
	require.NoError(t, err)
	t.Cleanup(func() { closeAll(t, conn) })
	// The engine runs with the settings given and the package's defaults.
	assert.Equal(t, "background_pool_size\t4\nmark_cache_size\t12345678\nmemory_worker_dynamic_hard_limit\t0\nmemory_worker_use_cgroup\t0\n", mustQuery(t, conn, query, "TabSeparated"))

	// The running engine is shared with an Open that asks for the same
	// settings, in any order and split across options, and with no other.
	same, err := Open(lib, dir, WithSettings(map[string]string{"background_pool_size": "4"}), WithSettings(map[string]string{"mark_cache_size": "12345678"}))
	require.NoError(t, err)
	assert.Same(t, conn, same)
	require.NoError(t, same.Close())
	_, err = Open(lib, dir)
	require.ErrorContains(t, err, "already running with other settings")
	closeAll(t, conn)

	// A default can be overridden; the next engine starts with the new
	// settings.
	conn, err = Open(lib, dir, WithSettings(map[string]string{"memory_worker_use_cgroup": "1"}))
	require.NoError(t, err)
	defer closeAll(t, conn)
	assert.Contains(t, mustQuery(t, conn, query, "TabSeparated"), "memory_worker_use_cgroup\t1\n")
}

func TestOpenInvalidOptions(t *testing.T) {
	lib := libPath(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{"path", []Option{WithSettings(map[string]string{"path": "/elsewhere"})}, "setting path: set by the data directory"},
		{"name", []Option{WithSettings(map[string]string{"mark cache": "1"})}, `setting "mark cache": not a setting name`},
		{"newline", []Option{WithSettings(map[string]string{"mark_cache_size": "1\n--path=/x"})}, "NUL or a newline"},
		{"allocator", []Option{WithAllocator("narenas")}, `"narenas" is not name:value`},
		{"value", []Option{WithSettings(map[string]string{"mark_cache_size": "a lot"})}, "a setting is invalid: --mark_cache_size=a lot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(lib, t.TempDir(), tt.opts...)
			require.ErrorContains(t, err, tt.want)
		})
	}
	// No engine was left running: any data directory opens.
	conn := openTemp(t)
	assert.Equal(t, "1\n", mustQuery(t, conn, "SELECT 1", "TabSeparated"))
}

func TestOpenAllocator(t *testing.T) {
	lib, err := filepath.Abs(libPath(t))
	require.NoError(t, err)

	// This process loaded the library without options: they can no longer
	// apply, and Open says so rather than ignoring them.
	_, err = Open(lib, t.TempDir(), WithAllocator("dirty_decay_ms:1234"))
	require.ErrorContains(t, err, "apply only while the library loads")

	child := func(env ...string) string {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(append(os.Environ(), childAllocatorEnv+"=dirty_decay_ms:1234", "CHDB_LIB="+lib, allocatorEnv+"="), env...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		require.NoError(t, err, "child process: %s", stderr.String())
		return string(out)
	}
	// A process that loads the library with options gets them, and its
	// environment is left as it was.
	out := child()
	assert.Contains(t, out, "opt.dirty_decay_ms: 1234 ")
	assert.Contains(t, out, allocatorEnv+`=""`)
	// The operator's own JE_MALLOC_CONF wins.
	out = child(allocatorEnv + "=dirty_decay_ms:2345")
	assert.Contains(t, out, "opt.dirty_decay_ms: 2345 ")
}
