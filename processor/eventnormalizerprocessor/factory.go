package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

var componentType = component.MustNewType("eventnormalizer")

// NewFactory creates a factory for the eventnormalizer processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		componentType,
		createDefaultConfig,
		processor.WithLogs(createLogsProcessor, component.StabilityLevelAlpha),
		processor.WithMetrics(createMetricsProcessor, component.StabilityLevelAlpha),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Limits:           event.DefaultLimits(),
		PartitionBuckets: event.DefaultPartitionBuckets,
		MaxResourceBytes: event.DefaultMaxResourceBytes,
		ConversationID:   event.DefaultConversationConfig(),
	}
}

func createLogsProcessor(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	n, err := newNormalizer(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewLogs(ctx, set, cfg, next, n.processLogs,
		processorhelper.WithShutdown(n.shutdown),
		// The input is read, never changed: the output is a new plog.Logs.
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
}

// createMetricsProcessor makes the processor of a metrics pipeline: it counts
// the data points it is given and drops them (events are not made from
// metrics), so that an app that sends all its signals to the OTLP endpoint
// gets no export errors.
func createMetricsProcessor(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	n, err := newNormalizer(cfg.(*Config), set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	return processorhelper.NewMetrics(ctx, set, cfg, next, n.processMetrics,
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
	)
}
