package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

var componentType = component.MustNewType("events")

const (
	defaultEndpoint      = "localhost:8080"
	defaultMaxBodySize   = 10 << 20
	defaultMaxBatchItems = 10_000
	// About a second of work for the single node under batch load.
	defaultMaxPendingOperations = 50_000
	defaultRetryAfterSecs       = 1
)

// NewFactory creates a factory for the events receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		componentType,
		createDefaultConfig,
		receiver.WithLogs(createLogsReceiver, component.StabilityLevelAlpha),
	)
}

func createDefaultConfig() component.Config {
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = defaultEndpoint
	server.MaxRequestBodySize = defaultMaxBodySize
	return &Config{
		ServerConfig:         server,
		MaxBatchItems:        defaultMaxBatchItems,
		MaxPendingOperations: defaultMaxPendingOperations,
		GroupCommit:          GroupCommitConfig{Workers: 4, MaxSize: 5000},

		PartitionBuckets: event.DefaultPartitionBuckets,
		MaxResourceBytes: event.DefaultMaxResourceBytes,
		RetryAfter:       defaultRetryAfterSecs * 1e9,
	}
}

func createLogsReceiver(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	return newEventsReceiver(cfg.(*Config), set, next)
}
