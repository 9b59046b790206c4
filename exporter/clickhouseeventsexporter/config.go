package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"

import (
	"errors"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// Config defines the configuration of the clickhouseevents exporter.
type Config struct {
	storage.Config `mapstructure:",squash"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	var errs []error
	if err := c.Config.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.TimeoutConfig.Timeout < 0 {
		errs = append(errs, errors.New("timeout: must not be negative"))
	}
	return errors.Join(errs...)
}
