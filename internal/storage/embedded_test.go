package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"strings"
	"testing"
)

// TestEmbeddedDefaults checks that the embedded engine runs with the
// defaults of EmbeddedConfig: bounded caches and the allocator's options.
func TestEmbeddedDefaults(t *testing.T) {
	s := openStore(t, engines[1])
	ctx := context.Background()
	rows, err := s.conn.Query(ctx, "SELECT name, value FROM system.server_settings WHERE name IN ('mark_cache_size', 'primary_index_cache_size', 'uncompressed_cache_size', 'memory_worker_use_cgroup') ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		got = append(got, name+"="+value)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := "mark_cache_size=67108864 memory_worker_use_cgroup=0 primary_index_cache_size=67108864 uncompressed_cache_size=0"
	if strings.Join(got, " ") != want {
		t.Fatalf("server settings = %v, want %s", got, want)
	}

	rows, err = s.conn.Query(ctx, "SELECT * FROM system.jemalloc_stats")
	if err != nil {
		t.Fatal(err)
	}
	var stats string
	for rows.Next() {
		if err := rows.Scan(&stats); err != nil {
			t.Fatal(err)
		}
	}
	for _, opt := range []string{"opt.narenas: 1\n", "opt.dirty_decay_ms: 1000 ", `opt.percpu_arena: "disabled"`, "opt.tcache: false\n"} {
		if !strings.Contains(stats, opt) {
			t.Errorf("the allocator runs without %q", strings.TrimSpace(opt))
		}
	}
}
