package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
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

// PartitionBuckets is the number of buckets event ids are spread over: the
// most Kafka partitions the events topic can use. Fewer buckets make larger
// messages.
const PartitionBuckets = 16

// PartitionKey returns the bucket of an event id.
func PartitionKey(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return strconv.Itoa(int(h.Sum32() % PartitionBuckets))
}

// LogsBuilder collects canonical records into one Logs, one resource per
// partition bucket (see ResourceAttrPartition).
type LogsBuilder struct {
	ld      plog.Logs
	buckets map[string]plog.LogRecordSlice
}

// NewLogsBuilder returns an empty builder.
func NewLogsBuilder() *LogsBuilder {
	return &LogsBuilder{ld: plog.NewLogs(), buckets: make(map[string]plog.LogRecordSlice, PartitionBuckets)}
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
	key := PartitionKey(id)
	lrs, ok := b.buckets[key]
	if !ok {
		rl := b.ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr(ResourceAttrPartition, key)
		sl := rl.ScopeLogs().AppendEmpty()
		sl.Scope().SetName(ScopeName)
		lrs = sl.LogRecords()
		b.buckets[key] = lrs
	}
	return lrs
}
