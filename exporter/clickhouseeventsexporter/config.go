package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"

import (
	"errors"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// Config defines the configuration of the clickhouseevents exporter.
type Config struct {
	storage.Config `mapstructure:",squash"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// Prices is the price table of the cost stored with each LLM call (US
	// dollars per million tokens, matched by exact model name, then by the
	// longest prefix). A configured list replaces the default one whole.
	Prices []event.Price `mapstructure:"prices"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate checks the exporter's own settings; the collector validates the
// embedded connection settings (storage.Config.Validate) on its own.
func (c *Config) Validate() error {
	var errs []error
	if c.TimeoutConfig.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	errs = append(errs, event.ValidatePrices(c.Prices))
	return errors.Join(errs...)
}
