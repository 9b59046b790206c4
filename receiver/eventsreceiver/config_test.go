package eventsreceiver

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

func TestLoadConfig(t *testing.T) {
	t.Parallel()
	cfg, err := loadConfig(t, "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerConfig.NetAddr.Endpoint != "localhost:8080" || cfg.MaxBatchItems != 10_000 || cfg.MaxConcurrentBatches != 0 || cfg.PipelineTimeout != 0 || cfg.Query != nil || cfg.PartitionBuckets != 16 || cfg.MaxResourceBytes != 512<<10 {
		t.Fatalf("defaults = %+v", cfg)
	}
	cfg, err = loadConfig(t, "custom")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerConfig.NetAddr.Endpoint != "0.0.0.0:9090" || cfg.ServerConfig.MaxRequestBodySize != 1<<20 ||
		cfg.MaxBatchItems != 7 || cfg.MaxConcurrentBatches != 3 || cfg.PipelineTimeout != 15*time.Second || cfg.PartitionBuckets != 3 || cfg.MaxResourceBytes != 1<<20 || cfg.GroupCommit != (GroupCommitConfig{Workers: 1, MaxSize: 100, MinInterval: 50 * time.Millisecond}) || cfg.RetryAfter != 5*time.Second || cfg.Query == nil || cfg.Query.String() != "eventsquery" ||
		!cfg.ServerConfig.CORS.HasValue() || !cfg.ServerConfig.Auth.HasValue() {
		t.Fatalf("custom = %+v", cfg)
	}
}

func TestInvalidConfigReportsEveryProblem(t *testing.T) {
	t.Parallel()
	_, err := loadConfig(t, "invalid")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{"endpoint", "max_batch_items", "retry_after", "max_request_body_size", "partition_buckets: must be between 1 and 1024, got 0", "group_commit::min_interval: must not be negative", "max_concurrent_batches: must not be negative, got -1", "pipeline_timeout: must not be negative, got -1s", "max_resource_bytes: must not be negative, got -1"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not mention %s", err, want)
		}
	}
}
