package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"errors"
	"fmt"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Config defines the configuration of the eventnormalizer processor.
type Config struct {
	// Limits bound what one event may carry; a record beyond them is dropped.
	Limits LimitsConfig `mapstructure:"limits"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// LimitsConfig mirrors event.Limits. Each limit may be lowered, not raised:
// the exporter enforces the defaults and would drop what the normalizer let
// through beyond them. max_id_bytes stays at least 36, the length of the
// UUIDs the normalizer generates.
type LimitsConfig struct {
	MaxIDBytes        int `mapstructure:"max_id_bytes"`
	MaxKeyFieldBytes  int `mapstructure:"max_key_field_bytes"`
	MaxTextFieldBytes int `mapstructure:"max_text_field_bytes"`
	MaxAttributes     int `mapstructure:"max_attributes"`
	MaxAttributeBytes int `mapstructure:"max_attribute_bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

func newLimitsConfig(l event.Limits) LimitsConfig {
	return LimitsConfig{
		MaxIDBytes:        l.MaxIDBytes,
		MaxKeyFieldBytes:  l.MaxKeyFieldBytes,
		MaxTextFieldBytes: l.MaxTextFieldBytes,
		MaxAttributes:     l.MaxAttributes,
		MaxAttributeBytes: l.MaxAttributeBytes,
	}
}

// limits returns the configured limits in the form event.Limits.Validate takes.
func (c LimitsConfig) limits() event.Limits {
	return event.Limits{
		MaxIDBytes:        c.MaxIDBytes,
		MaxKeyFieldBytes:  c.MaxKeyFieldBytes,
		MaxTextFieldBytes: c.MaxTextFieldBytes,
		MaxAttributes:     c.MaxAttributes,
		MaxAttributeBytes: c.MaxAttributeBytes,
	}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	return c.Limits.Validate()
}

// minIDBytes is the length of the UUIDs the normalizer generates.
const minIDBytes = 36

// Validate checks that every limit lies between its minimum and its default.
func (c LimitsConfig) Validate() error {
	defaults := event.DefaultLimits()
	var errs []error
	for _, l := range [...]struct {
		name            string
		value, min, max int
	}{
		{"max_id_bytes", c.MaxIDBytes, minIDBytes, defaults.MaxIDBytes},
		{"max_key_field_bytes", c.MaxKeyFieldBytes, 1, defaults.MaxKeyFieldBytes},
		{"max_text_field_bytes", c.MaxTextFieldBytes, 1, defaults.MaxTextFieldBytes},
		{"max_attributes", c.MaxAttributes, 1, defaults.MaxAttributes},
		{"max_attribute_bytes", c.MaxAttributeBytes, 1, defaults.MaxAttributeBytes},
	} {
		if l.value < l.min || l.value > l.max {
			errs = append(errs, fmt.Errorf("limits::%s: must be between %d and %d, got %d", l.name, l.min, l.max, l.value))
		}
	}
	return errors.Join(errs...)
}
