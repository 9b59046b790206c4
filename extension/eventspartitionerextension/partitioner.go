package eventspartitionerextension // import "github.com/otelcol-events/otelcol-events/extension/eventspartitionerextension"

import (
	"hash/fnv"
	"strconv"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/xpdata/xhash"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// partitionerExtension is what the kafka exporter looks for in
// record_partitioner::extension (its RecordPartitionerExtension).
type partitionerExtension struct {
	component.StartFunc
	component.ShutdownFunc

	partitioner kgo.Partitioner
}

// GetPartitioner returns the partitioner the kafka exporter produces with.
func (e *partitionerExtension) GetPartitioner() kgo.Partitioner { return e.partitioner }

// bucketPartitioner knows the message key of every event bucket. With
// partition_logs_by_resource_attributes, the kafka exporter keys each message
// by the hash of its resource's attributes (xhash.MapHash of pdata/xpdata), and the
// components that build canonical records put exactly one attribute there,
// event.partition = the bucket. A hash partitioner spreads b buckets over n
// partitions unevenly (3 buckets often land on 2 of 3 partitions); this one
// maps bucket b to partition b mod n. Any other key is hashed as the kafka
// exporter's default partitioner does (sarama-compatible FNV-1a), so it is
// still sent consistently to one partition.
type bucketPartitioner struct {
	buckets  map[[16]byte]int
	fallback kgo.Partitioner
}

func newBucketPartitioner() *bucketPartitioner {
	p := &bucketPartitioner{
		buckets: make(map[[16]byte]int, event.MaxPartitionBuckets),
		fallback: kgo.StickyKeyPartitioner(kgo.SaramaCompatHasher(func(b []byte) uint32 {
			h := fnv.New32a()
			_, _ = h.Write(b)
			return h.Sum32()
		})),
	}
	for b := range event.MaxPartitionBuckets {
		p.buckets[bucketKey(b)] = b
	}
	return p
}

// bucketKey is the kafka exporter's message key for the resource of bucket b.
func bucketKey(b int) [16]byte {
	attrs := pcommon.NewMap()
	attrs.PutStr(event.ResourceAttrPartition, strconv.Itoa(b))
	return xhash.MapHash(attrs)
}

func (p *bucketPartitioner) ForTopic(topic string) kgo.TopicPartitioner {
	return &topicPartitioner{buckets: p.buckets, fallback: p.fallback.ForTopic(topic)}
}

type topicPartitioner struct {
	buckets  map[[16]byte]int
	fallback kgo.TopicPartitioner
}

// RequiresConsistency: a keyed record always goes to its partition, even
// while that partition is unavailable (the order of an id's operations
// depends on it); unkeyed ones may go elsewhere.
func (t *topicPartitioner) RequiresConsistency(r *kgo.Record) bool { return r.Key != nil }

func (t *topicPartitioner) Partition(r *kgo.Record, n int) int {
	if b, ok := t.bucket(r.Key); ok {
		return b % n
	}
	return t.fallback.Partition(r, n)
}

// OnNewBatch lets the fallback pin unkeyed records to a partition per batch.
func (t *topicPartitioner) OnNewBatch() {
	if nb, ok := t.fallback.(kgo.TopicPartitionerOnNewBatch); ok {
		nb.OnNewBatch()
	}
}

func (t *topicPartitioner) bucket(key []byte) (int, bool) {
	if len(key) != 16 {
		return 0, false
	}
	b, ok := t.buckets[[16]byte(key)]
	return b, ok
}
