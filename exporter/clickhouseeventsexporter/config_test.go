package clickhouseeventsexporter

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

func loadConfig(t *testing.T, name string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(component.NewIDWithName(componentType, name).String())
	if err != nil {
		t.Fatal(err)
	}
	cfg := createDefaultConfig().(*Config)
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, err
	}
	return cfg, confmap.Validate(cfg)
}

func TestLoadValidConfigs(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if cfg.Endpoint != "tcp://localhost:9000" || cfg.Database != "event_analytics" || !cfg.QueueConfig.HasValue() {
		t.Fatalf("defaults = %+v", cfg)
	}
	cfg, err = loadConfig(t, "server")
	if err != nil {
		t.Fatal(err)
	}
	q := cfg.QueueConfig.Get()
	if cfg.Username != "writer" || string(cfg.Password) != "secret" || cfg.Database != "analytics" || cfg.TTL != 90*24*time.Hour ||
		cfg.TimeoutConfig.Timeout != 10*time.Second || q.NumConsumers != 4 || q.Batch.Get().MinSize != 1000 {
		t.Fatalf("server = %+v", cfg)
	}
	cfg, err = loadConfig(t, "embedded")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Embedded, storage.NewDefaultEmbeddedConfig()) {
		t.Fatalf("embedded defaults = %+v", cfg.Embedded)
	}
	cfg, err = loadConfig(t, "embedded_tuned")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"max_server_memory_usage":    "2147483648",
		"mark_cache_size":            "268435456",
		"primary_index_cache_size":   "67108864",
		"index_mark_cache_size":      "16777216",
		"uncompressed_cache_size":    "134217728",
		"query_condition_cache_size": "16777216",
		"background_pool_size":       "4",
		"page_cache_max_size":        "0",
	}
	if got := cfg.Embedded.Settings(); !reflect.DeepEqual(got, want) || cfg.Embedded.Allocator != "dirty_decay_ms:5000" {
		t.Fatalf("embedded_tuned settings = %v, allocator %q", got, cfg.Embedded.Allocator)
	}
}

func TestInvalidConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		want []string
	}{
		{"embedded_without_library", []string{"chdb_library: required"}},
		{"bad_scheme", []string{"scheme"}},
		{"bad_database", []string{"database"}},
		{"cluster", []string{"not supported yet"}},
		{"short_ttl", []string{"ttl"}},
		{"many_problems", []string{"scheme", "database", "ttl"}},
		{"embedded_bad_settings", []string{
			"embedded: ",
			`allocator: "dirty_decay_ms=0" is not a list`,
			`server_settings: "bad name" is not a setting name`,
			"server_settings: compiled_expression_cache_size: the value must be a string, a number or a boolean",
			"server_settings: mark_cache_size has a key of its own",
			"server_settings: path comes from the endpoint",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(t, tt.name)
			if err == nil {
				t.Fatal("want a validation error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
