package event

import (
	"fmt"
	"testing"
	"time"
)

func TestLogsBuilderGroupsByBucket(t *testing.T) {
	t.Parallel()
	b := NewLogsBuilder()
	for i := range 200 {
		op := Operation{Op: OpDelete, ID: fmt.Sprintf("id-%d", i%50), Version: uint64(i + 1)}
		b.Append(&op, time.Now())
	}
	ld := b.Logs()
	if ld.LogRecordCount() != 200 {
		t.Fatalf("%d records", ld.LogRecordCount())
	}
	if n := ld.ResourceLogs().Len(); n > PartitionBuckets || n < 2 {
		t.Fatalf("%d resources for %d buckets", n, PartitionBuckets)
	}
	seen := map[string]bool{}
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		key, _ := rl.Resource().Attributes().Get(ResourceAttrPartition)
		if seen[key.Str()] {
			t.Fatalf("bucket %s in two resources", key.Str())
		}
		seen[key.Str()] = true
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for j := range lrs.Len() {
			op, err := UnmarshalLogRecord(lrs.At(j))
			if err != nil {
				t.Fatal(err)
			}
			if PartitionKey(op.ID) != key.Str() {
				t.Fatalf("%s in bucket %s, want %s", op.ID, key.Str(), PartitionKey(op.ID))
			}
		}
	}
}
