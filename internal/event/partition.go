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

// LogsBuilder collects canonical records into one Logs, one resource per
// partition bucket (see ResourceAttrPartition).
type LogsBuilder struct {
	ld plog.Logs
	// resource holds, per bucket, 1 + the index of its resource in ld
	// (0: none yet).
	resource []int32
}

// NewLogsBuilder returns an empty builder that spreads ids over buckets
// buckets (DefaultPartitionBuckets when buckets is not positive).
func NewLogsBuilder(buckets int) *LogsBuilder {
	if buckets <= 0 {
		buckets = DefaultPartitionBuckets
	}
	return &LogsBuilder{ld: plog.NewLogs(), resource: make([]int32, buckets)}
}

// Append encodes op into a new record of its bucket and returns the record.
func (b *LogsBuilder) Append(op *Operation, observed time.Time) plog.LogRecord {
	lr := b.records(op.ID).AppendEmpty()
	op.MarshalLogRecord(lr, observed)
	return lr
}

// AppendRecord copies a canonical record of event id into its bucket.
func (b *LogsBuilder) AppendRecord(id string, record plog.LogRecord) {
	record.CopyTo(b.records(id).AppendEmpty())
}

// Logs returns what was appended.
func (b *LogsBuilder) Logs() plog.Logs { return b.ld }

func (b *LogsBuilder) records(id string) plog.LogRecordSlice {
	bucket := PartitionOf(id, len(b.resource))
	rls := b.ld.ResourceLogs()
	if i := b.resource[bucket]; i > 0 {
		return rls.At(int(i - 1)).ScopeLogs().At(0).LogRecords()
	}
	rl := rls.AppendEmpty()
	b.resource[bucket] = int32(rls.Len())
	rl.Resource().Attributes().PutStr(ResourceAttrPartition, strconv.Itoa(bucket))
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	return sl.LogRecords()
}
