package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Config defines the configuration of the eventnormalizer processor.
type Config struct {
	// Limits bound what one event may carry; a record beyond them is dropped.
	Limits event.Limits `mapstructure:"limits"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	return c.Limits.CheckRange(limitsFloor)
}

// minIDBytes is the length of the UUIDs the normalizer generates.
const minIDBytes = 36

// limitsFloor holds the lowest value of each limit.
var limitsFloor = event.Limits{MaxIDBytes: minIDBytes, MaxKeyFieldBytes: 1, MaxTextFieldBytes: 1, MaxAttributes: 1, MaxAttributeBytes: 1}
