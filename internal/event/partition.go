package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// ResourceAttrPartition is the resource attribute that groups canonical
// records by a bucket of their event id. With the kafka exporter's
// partition_logs_by_resource_attributes, each resource becomes one message
// keyed by a hash of it: every operation of an id goes to the same
// partition, in order, and one message carries many operations.
const ResourceAttrPartition = "event.partition"

// DefaultPartitionBuckets is the default number of buckets event ids are
// spread over: the most Kafka partitions the events topic can use. Each
// pipeline call becomes up to that many messages, so fewer buckets make
// fewer, larger messages; the best is the topic's partition count.
const DefaultPartitionBuckets = 16

// MaxPartitionBuckets bounds the buckets setting of the components that
// build canonical records.
const MaxPartitionBuckets = 1024

// ValidatePartitionBuckets checks a partition_buckets setting.
func ValidatePartitionBuckets(n int) error {
	if n < 1 || n > MaxPartitionBuckets {
		return fmt.Errorf("partition_buckets: must be between 1 and %d, got %d", MaxPartitionBuckets, n)
	}
	return nil
}

// PartitionKey returns the bucket of an event id among buckets, as the
// value of ResourceAttrPartition.
func PartitionKey(id string, buckets int) string {
	return strconv.Itoa(PartitionOf(id, buckets))
}

// PartitionOf returns the bucket of an event id among buckets.
func PartitionOf(id string, buckets int) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(buckets))
}

// DefaultMaxResourceBytes is the default bound of the encoded records of
// one resource (see LogsBuilder): half the kafka exporter's default
// producer::max_message_bytes (1 000 000), so that a message keeps room for
// its resource, key and headers.
const DefaultMaxResourceBytes = 512 << 10

// ValidateMaxResourceBytes checks a max_resource_bytes setting.
func ValidateMaxResourceBytes(n int) error {
	if n < 0 {
		return fmt.Errorf("max_resource_bytes: must not be negative, got %d", n)
	}
	return nil
}

// recordExtra is what a record may add to its resource's encoding beside
// the bytes measured by add: its field tag and length prefix (6), and the
// trace and span ids that callers of Append set afterwards (28).
const recordExtra = 34

// LogsBuilder collects canonical records into one Logs, grouped in
// resources by partition bucket (see ResourceAttrPartition). A bucket's
// records go in one resource until their encoded size would pass
// maxResourceBytes, then in another of the same bucket: with the kafka
// exporter each resource is one message, which the producer refuses past
// its max_message_bytes. A record larger than the bound has a resource of
// its own.
type LogsBuilder struct {
	ld plog.Logs
	// resource holds, per bucket, 1 + the index of its current resource in
	// ld (0: none yet), and size the encoded bytes of that resource's
	// records.
	resource []int32
	size     []int
	maxBytes int
	// next is where a record is built and measured before it moves into
	// its resource.
	next  plog.LogRecord
	sizer plog.ProtoMarshaler
}

// NewLogsBuilder returns an empty builder that spreads ids over buckets
// buckets (DefaultPartitionBuckets when buckets is not positive), with at
// most maxResourceBytes of encoded records per resource (0: no bound).
func NewLogsBuilder(buckets, maxResourceBytes int) *LogsBuilder {
	if buckets <= 0 {
		buckets = DefaultPartitionBuckets
	}
	return &LogsBuilder{
		ld: plog.NewLogs(), resource: make([]int32, buckets), size: make([]int, buckets),
		maxBytes: maxResourceBytes, next: plog.NewLogRecord(),
	}
}

// Append encodes op into a new record of its bucket and returns the record.
func (b *LogsBuilder) Append(op *Operation, observed time.Time) plog.LogRecord {
	op.MarshalLogRecord(b.next, observed)
	return b.add(op.ID, b.next)
}

// AppendRecord copies a canonical record of event id into its bucket.
func (b *LogsBuilder) AppendRecord(id string, record plog.LogRecord) {
	record.CopyTo(b.next)
	b.add(id, b.next)
}

// Logs returns what was appended.
func (b *LogsBuilder) Logs() plog.Logs { return b.ld }

// add moves lr (b.next, left empty) into a resource of the bucket of id
// and returns it there.
func (b *LogsBuilder) add(id string, lr plog.LogRecord) plog.LogRecord {
	bucket := PartitionOf(id, len(b.resource))
	size := 0
	if b.maxBytes > 0 {
		size = b.sizer.LogRecordSize(lr) + recordExtra
	}
	rls := b.ld.ResourceLogs()
	i := b.resource[bucket]
	if i == 0 || (b.maxBytes > 0 && b.size[bucket] > 0 && b.size[bucket]+size > b.maxBytes) {
		rl := rls.AppendEmpty()
		rl.Resource().Attributes().PutStr(ResourceAttrPartition, strconv.Itoa(bucket))
		rl.ScopeLogs().AppendEmpty().Scope().SetName(ScopeName)
		i = int32(rls.Len())
		b.resource[bucket], b.size[bucket] = i, 0
	}
	b.size[bucket] += size
	dst := rls.At(int(i - 1)).ScopeLogs().At(0).LogRecords().AppendEmpty()
	lr.MoveTo(dst)
	return dst
}
