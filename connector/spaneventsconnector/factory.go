package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

var componentType = component.MustNewType("spanevents")

// NewFactory creates a factory for the spanevents connector.
func NewFactory() connector.Factory {
	return connector.NewFactory(
		componentType,
		createDefaultConfig,
		connector.WithTracesToLogs(createTracesToLogs, component.StabilityLevelAlpha),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Attributes:     defaultAttributes(),
		ConversationID: event.DefaultConversationConfig(),
		Limits:         event.DefaultLimits(),

		PartitionBuckets: event.DefaultPartitionBuckets,

		MaxResourceBytes: event.DefaultMaxResourceBytes,
	}
}

func createTracesToLogs(_ context.Context, set connector.Settings, cfg component.Config, next consumer.Logs) (connector.Traces, error) {
	return newSpanEvents(cfg.(*Config), set.TelemetrySettings, next)
}
