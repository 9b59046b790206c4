package eventspartitionerextension

import (
	"context"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"
)

func TestBucketsMapToTheirPartition(t *testing.T) {
	t.Parallel()
	p := newBucketPartitioner().ForTopic("events")
	for _, n := range []int{1, 3, 16, 64} {
		for _, buckets := range []int{n, 16} {
			used := map[int]bool{}
			for b := range buckets {
				key := bucketKey(b)
				r := &kgo.Record{Key: key[:]}
				if !p.RequiresConsistency(r) {
					t.Fatalf("a keyed record must keep its partition")
				}
				got := p.Partition(r, n)
				if got != b%n {
					t.Fatalf("bucket %d of %d on %d partitions: partition %d, want %d", b, buckets, n, got, b%n)
				}
				used[got] = true
			}
			if want := min(n, buckets); len(used) != want {
				t.Fatalf("%d buckets on %d partitions use %d partitions, want %d", buckets, n, len(used), want)
			}
		}
	}
}

func TestOtherKeysHashConsistently(t *testing.T) {
	t.Parallel()
	p := newBucketPartitioner().ForTopic("events")
	for _, key := range []string{"conversation-1", "0123456789abcdef", "x"} {
		r := &kgo.Record{Key: []byte(key)}
		first := p.Partition(r, 7)
		if first < 0 || first >= 7 {
			t.Fatalf("key %q: partition %d out of range", key, first)
		}
		for range 5 {
			if got := p.Partition(&kgo.Record{Key: []byte(key)}, 7); got != first {
				t.Fatalf("key %q went to %d then %d", key, first, got)
			}
		}
	}
	// Unkeyed records may go anywhere, within range.
	r := &kgo.Record{}
	if p.RequiresConsistency(r) {
		t.Fatal("an unkeyed record needs no fixed partition")
	}
	if got := p.Partition(r, 5); got < 0 || got >= 5 {
		t.Fatalf("unkeyed record: partition %d", got)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	if f.Type().String() != "eventspartitioner" {
		t.Fatalf("type %s", f.Type())
	}
	set := extension.Settings{ID: component.NewID(f.Type()), TelemetrySettings: componenttest.NewNopTelemetrySettings(), BuildInfo: component.NewDefaultBuildInfo()}
	ext, err := f.Create(context.Background(), set, f.CreateDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	// The kafka exporter finds the partitioner through this method set.
	pe, ok := ext.(interface{ GetPartitioner() kgo.Partitioner })
	if !ok || pe.GetPartitioner() == nil {
		t.Fatal("the extension does not provide a partitioner")
	}
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}
