package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"errors"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Config defines the configuration of the eventnormalizer processor.
type Config struct {
	// Limits bound what one event may carry; a record beyond them is dropped.
	Limits event.Limits `mapstructure:"limits"`
	// PartitionBuckets is the number of buckets (message keys) event ids are
	// spread over; the output has one resource per bucket. With the kafka
	// exporter, set it to the topic's partition count.
	PartitionBuckets int `mapstructure:"partition_buckets"`
	// MaxResourceBytes bounds the encoded records of one resource, which
	// the kafka exporter sends as one message: a bucket's records past it
	// go in another resource. A single record larger than it goes alone.
	// 0: no bound.
	MaxResourceBytes int `mapstructure:"max_resource_bytes"`
	// ConversationID says where a record's conversation comes from.
	ConversationID event.ConversationConfig `mapstructure:"conversation_id"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// Validate reports every problem at once.
func (c *Config) Validate() error {
	return errors.Join(c.Limits.CheckRange(limitsFloor), event.ValidatePartitionBuckets(c.PartitionBuckets),
		event.ValidateMaxResourceBytes(c.MaxResourceBytes), c.ConversationID.Validate())
}

// minIDBytes is the length of the UUIDs the normalizer generates.
const minIDBytes = 36

// limitsFloor holds the lowest value of each limit.
var limitsFloor = event.Limits{MaxIDBytes: minIDBytes, MaxKeyFieldBytes: 1, MaxTextFieldBytes: 1, MaxAttributes: 1, MaxAttributeBytes: 1}
