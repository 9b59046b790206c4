package clickhouseeventsexporter

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/confmaptest"
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
	if _, err := loadConfig(t, "embedded"); err != nil {
		t.Fatal(err)
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
