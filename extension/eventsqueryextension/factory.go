package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

var componentType = component.MustNewType("eventsquery")

const (
	defaultEndpoint     = "localhost:8081"
	defaultMaxLimit     = 1000
	defaultQueryTimeout = 10 * time.Second
	// defaultQueryMaxMemory bounds one read query: the embedded engine's
	// queries share the collector's memory. Under 1 GiB the p95 over 10M
	// events in 6.8M (name, conversation) groups failed even while spilling;
	// under 2 GiB it spills past 512 MiB and answers (BENCHMARKS.md, "p95
	// latency at any group size").
	defaultQueryMaxMemory = 2 << 30
)

// NewFactory creates a factory for the eventsquery extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(componentType, createDefaultConfig, createExtension, component.StabilityLevelAlpha)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	return &Config{
		ServerConfig:   server,
		ClickHouse:     storage.NewDefaultConfig(),
		MaxLimit:       defaultMaxLimit,
		QueryTimeout:   defaultQueryTimeout,
		QueryMaxMemory: defaultQueryMaxMemory,
	}
}

func createExtension(_ context.Context, set extension.Settings, cfg component.Config) (extension.Extension, error) {
	return newQueryExtension(cfg.(*Config), set, openStorage), nil
}
