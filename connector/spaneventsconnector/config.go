package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"errors"
	"fmt"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Config defines the configuration of the spanevents connector.
type Config struct {
	// Attributes lists the span attributes (then resource attributes) kept
	// first among the event's attributes when there are more than
	// limits::max_attributes: every attribute that does not become a field
	// is kept, rendered as a string, within the limits. trace_id and span_id
	// always come first.
	Attributes []string `mapstructure:"attributes"`
	// ConversationID says where a span's conversation comes from.
	ConversationID event.ConversationConfig `mapstructure:"conversation_id"`
	// Limits bound what one event may carry; a span beyond them is dropped.
	Limits event.Limits `mapstructure:"limits"`
	// PartitionBuckets is the number of buckets (message keys) event ids are
	// spread over; the output has one resource per bucket.
	PartitionBuckets int `mapstructure:"partition_buckets"`
	// MaxResourceBytes bounds the encoded records of one resource, which
	// the kafka exporter sends as one message: a bucket's records past it
	// go in another resource. A single record larger than it goes alone.
	// 0: no bound.
	MaxResourceBytes int `mapstructure:"max_resource_bytes"`

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

// minIDBytes is the length of a span id in hex.
const minIDBytes = 16

// Validate reports every problem at once.
func (c *Config) Validate() error {
	errs := []error{c.Limits.CheckRange(limitsFloor), event.ValidatePartitionBuckets(c.PartitionBuckets),
		event.ValidateMaxResourceBytes(c.MaxResourceBytes), c.ConversationID.Validate()}
	seen := make(map[string]bool, len(c.Attributes))
	for _, key := range c.Attributes {
		switch {
		case key == "":
			errs = append(errs, errors.New("attributes: keys must not be empty"))
		case key == event.TraceIDAttribute || key == event.SpanIDAttribute:
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

// limitsFloor holds the lowest value of each limit.
var limitsFloor = event.Limits{
	MaxIDBytes: minIDBytes, MaxKeyFieldBytes: 1, MaxTextFieldBytes: 1,
	// trace_id and span_id are always set; a trace id has 32 hex digits.
	MaxAttributes: 2, MaxAttributeBytes: 32,
}
