package eventsqueryextension

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/confmap/confmaptest"
)

// loadConfig unmarshals the named section of a testdata file over the
// defaults, the way the collector does.
func loadConfig(t *testing.T, file, id string) (*Config, error) {
	t.Helper()
	cm, err := confmaptest.LoadConf(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := cm.Sub(id)
	if err != nil {
		t.Fatal(err)
	}
	var cfg component.Config = createDefaultConfig()
	if err := sub.Unmarshal(&cfg); err != nil {
		return nil, err
	}
	return cfg.(*Config), nil
}

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	def, err := loadConfig(t, "config.yaml", "eventsquery")
	if err != nil {
		t.Fatal(err)
	}
	if err := def.Validate(); err != nil {
		t.Fatalf("the default config is invalid: %v", err)
	}
	if def.ServerConfig.NetAddr.Endpoint != "localhost:8081" || def.MaxLimit != 1000 || def.QueryTimeout != 10*time.Second || def.QueryMaxMemory != 2<<30 || def.Health.MaxDataAge != 0 ||
		def.ClickHouse.Endpoint != "tcp://localhost:9000" || def.ClickHouse.Database != "event_analytics" {
		t.Errorf("unexpected defaults: %+v", def)
	}

	cfg, err := loadConfig(t, "config.yaml", "eventsquery/custom")
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"endpoint", cfg.ServerConfig.NetAddr.Endpoint, "0.0.0.0:9081"},
		{"max_limit", cfg.MaxLimit, 500},
		{"query_timeout", cfg.QueryTimeout, 5 * time.Second},
		{"query_max_memory", cfg.QueryMaxMemory, uint64(268435456)},
		{"health::max_data_age", cfg.Health.MaxDataAge, 2 * time.Minute},
		{"write_timeout", cfg.ServerConfig.WriteTimeout, 20 * time.Second},
		{"keepalive::idle_timeout", cfg.ServerConfig.Keepalive.Get().IdleTimeout, 30 * time.Second},
		{"clickhouse::endpoint", cfg.ClickHouse.Endpoint, "tcp://clickhouse:9000"},
		{"clickhouse::username", cfg.ClickHouse.Username, "reader"},
		{"clickhouse::password", string(cfg.ClickHouse.Password), "s3cret"},
		{"clickhouse::database", cfg.ClickHouse.Database, "analytics"},
		{"clickhouse::dial_timeout", cfg.ClickHouse.DialTimeout, 3 * time.Second},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []string // every problem is reported
	}{
		{"invalid_limits.yaml", []string{"endpoint: required", "max_limit: must be between 1 and 100000, got 0", "query_timeout: must be positive", "health: max_data_age: must be 0 (off) or positive"}},
		{"invalid_query_timeout.yaml", []string{"query_timeout: must be shorter than write_timeout"}},
		{"invalid_clickhouse.yaml", []string{"clickhouse: endpoint: scheme", "clickhouse: database:", "clickhouse: dial_timeout: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			cfg, err := loadConfig(t, tt.file, "eventsquery")
			if err != nil {
				t.Fatal(err)
			}
			err = cfg.Validate()
			if err == nil {
				t.Fatal("Validate accepted the config")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q does not report %q", err, w)
				}
			}
		})
	}
}

// confmap decodes configs with a squashed confighttp.ServerConfig leniently;
// a misspelt key must still be an error.
func TestUnknownFieldIsRefused(t *testing.T) {
	t.Parallel()
	for file, key := range map[string]string{
		"unknown_field.yaml":            "max_limt",
		"unknown_clickhouse_field.yaml": "databse",
	} {
		if _, err := loadConfig(t, file, "eventsquery"); err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s: unmarshal error %v does not name the unknown key %q", file, err, key)
		}
	}
}

// The strict pass of Config.Unmarshal decodes into a mirror of Config, which
// must have the same keys.
func TestStrictMirrorMatchesConfig(t *testing.T) {
	t.Parallel()
	var fields []reflect.StructField
	cfgType := reflect.TypeFor[Config]()
	for i := range cfgType.NumField() {
		if f := cfgType.Field(i); f.IsExported() {
			fields = append(fields, f)
		}
	}
	mirror := reflect.TypeFor[strictConfig]()
	if len(fields) != mirror.NumField() {
		t.Fatalf("Config has %d fields, strictConfig %d", len(fields), mirror.NumField())
	}
	for i, f := range fields {
		m := mirror.Field(i)
		want := f.Type
		if want == reflect.TypeFor[confighttp.ServerConfig]() {
			want = reflect.TypeFor[strictServerConfig]()
		}
		if m.Name != f.Name || m.Tag != f.Tag || m.Type != want {
			t.Errorf("strictConfig field %d is %s %s %q, want %s %s %q", i, m.Name, m.Type, m.Tag, f.Name, want, f.Tag)
		}
	}
}
