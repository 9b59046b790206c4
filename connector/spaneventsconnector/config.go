package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"errors"
	"fmt"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// The event attributes every event carries, beside those of Config.Attributes.
const (
	attrTraceID = "trace_id"
	attrSpanID  = "span_id"
)

// Config defines the configuration of the spanevents connector.
type Config struct {
	// Attributes lists the span attributes (then resource attributes) copied
	// into the event's attributes, rendered as strings. trace_id and span_id
	// are always added.
	Attributes []string `mapstructure:"attributes"`
	// Limits bound what one event may carry; a span beyond them is dropped.
	Limits LimitsConfig `mapstructure:"limits"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// defaultAttributes are the GenAI attributes most analytics want beside the
// event's fields: who served the call, with which model, at what token cost.
func defaultAttributes() []string {
	return []string{
		"gen_ai.provider.name",
		"gen_ai.system",
		"gen_ai.request.model",
		"gen_ai.response.model",
		"gen_ai.response.id",
		"gen_ai.usage.input_tokens",
		"gen_ai.usage.output_tokens",
		"service.name",
	}
}

// LimitsConfig mirrors event.Limits. Each limit may be lowered, not raised:
// the exporter enforces the defaults and would drop what the connector let
// through beyond them. max_id_bytes stays at least 16, the length of a hex
// span id.
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

func (c LimitsConfig) limits() event.Limits {
	return event.Limits{
		MaxIDBytes:        c.MaxIDBytes,
		MaxKeyFieldBytes:  c.MaxKeyFieldBytes,
		MaxTextFieldBytes: c.MaxTextFieldBytes,
		MaxAttributes:     c.MaxAttributes,
		MaxAttributeBytes: c.MaxAttributeBytes,
	}
}

// minIDBytes is the length of a span id in hex.
const minIDBytes = 16

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.Limits.Validate()}
	seen := make(map[string]bool, len(c.Attributes))
	for _, key := range c.Attributes {
		switch {
		case key == "":
			errs = append(errs, errors.New("attributes: keys must not be empty"))
		case key == attrTraceID || key == attrSpanID:
			errs = append(errs, fmt.Errorf("attributes: %s is always set and cannot be listed", key))
		case seen[key]:
			errs = append(errs, fmt.Errorf("attributes: %s is listed twice", key))
		}
		seen[key] = true
	}
	if n := len(c.Attributes) + 2; c.Limits.MaxAttributes > 0 && n > c.Limits.MaxAttributes {
		errs = append(errs, fmt.Errorf("attributes: %d keys with trace_id and span_id exceed limits::max_attributes (%d)",
			n, c.Limits.MaxAttributes))
	}
	return errors.Join(errs...)
}

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
		// trace_id and span_id are always set.
		{"max_attributes", c.MaxAttributes, 2, defaults.MaxAttributes},
		// a trace id has 32 hex digits.
		{"max_attribute_bytes", c.MaxAttributeBytes, 32, defaults.MaxAttributeBytes},
	} {
		if l.value < l.min || l.value > l.max {
			errs = append(errs, fmt.Errorf("limits::%s: must be between %d and %d, got %d", l.name, l.min, l.max, l.value))
		}
	}
	return errors.Join(errs...)
}
