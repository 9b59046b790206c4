package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

var componentType = component.MustNewType("clickhouseevents")

// NewFactory creates a factory for the clickhouseevents exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(
		componentType,
		createDefaultConfig,
		exporter.WithLogs(createLogsExporter, component.StabilityLevelAlpha),
	)
}

func createDefaultConfig() component.Config {
	queue := exporterhelper.NewDefaultQueueConfig()
	// Few large inserts: ClickHouse wants thousands of rows per insert, and
	// every batch costs one state lookup and one insert.
	batch := exporterhelper.NewDefaultBatchConfig()
	batch.FlushTimeout = 200 * time.Millisecond
	batch.Sizer = exporterhelper.RequestSizerTypeItems
	batch.MinSize = 5000
	batch.MaxSize = 20000
	queue.Batch = configoptional.Some(batch)
	// Batches are merged under one lock; two consumers overlap decoding one
	// batch with writing the other.
	queue.NumConsumers = 2
	// Retried for as long as ClickHouse is unavailable: what the exporter
	// holds was acknowledged to a client, and an operation the engine
	// refuses on its own goes to the dead letters instead of blocking the
	// rest (exporter.go, isolate), so nothing needs the retries to give up.
	retry := configretry.NewDefaultBackOffConfig()
	retry.MaxElapsedTime = 0
	timeout := exporterhelper.NewDefaultTimeoutConfig()
	timeout.Timeout = 30 * time.Second
	return &Config{
		Config:        storage.NewDefaultConfig(),
		TimeoutConfig: timeout,
		QueueConfig:   configoptional.Some(queue),
		BackOffConfig: retry,
		Prices:        event.DefaultPrices(),
	}
}

func createLogsExporter(ctx context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c := cfg.(*Config)
	e, err := newEventsExporter(c, set)
	if err != nil {
		return nil, err
	}
	return exporterhelper.NewLogs(ctx, set, cfg, e.pushLogs,
		exporterhelper.WithStart(e.start),
		exporterhelper.WithShutdown(e.shutdown),
		exporterhelper.WithCapabilities(consumer.Capabilities{MutatesData: false}),
		exporterhelper.WithTimeout(c.TimeoutConfig),
		exporterhelper.WithQueue(c.QueueConfig),
		exporterhelper.WithRetry(c.BackOffConfig),
	)
}
