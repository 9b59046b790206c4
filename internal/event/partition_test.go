package event

import (
	"fmt"
	"strconv"
	"testing"
	"time"
)

func TestLogsBuilderGroupsByBucket(t *testing.T) {
	t.Parallel()
	for _, buckets := range []int{1, 3, DefaultPartitionBuckets, 0} {
		t.Run(strconv.Itoa(buckets), func(t *testing.T) {
			want := buckets
			if want == 0 {
				want = DefaultPartitionBuckets
			}
			b := NewLogsBuilder(buckets)
			for i := range 200 {
				op := Operation{Op: OpDelete, ID: fmt.Sprintf("id-%d", i%50), Version: uint64(i + 1)}
				b.Append(&op, time.Now())
			}
			ld := b.Logs()
			if ld.LogRecordCount() != 200 {
				t.Fatalf("%d records", ld.LogRecordCount())
			}
			// 50 ids fill every bucket of up to 16 with near certainty (fnv32a).
			if n := ld.ResourceLogs().Len(); n != want {
				t.Fatalf("%d resources for %d buckets", n, want)
			}
			seen := map[string]bool{}
			for i := range ld.ResourceLogs().Len() {
				rl := ld.ResourceLogs().At(i)
				key, _ := rl.Resource().Attributes().Get(ResourceAttrPartition)
				if seen[key.Str()] {
					t.Fatalf("bucket %s in two resources", key.Str())
				}
				seen[key.Str()] = true
				if n, err := strconv.Atoi(key.Str()); err != nil || n < 0 || n >= want {
					t.Fatalf("bucket %q out of [0, %d)", key.Str(), want)
				}
				lrs := rl.ScopeLogs().At(0).LogRecords()
				for j := range lrs.Len() {
					op, err := UnmarshalLogRecord(lrs.At(j))
					if err != nil {
						t.Fatal(err)
					}
					if PartitionKey(op.ID, want) != key.Str() {
						t.Fatalf("%s in bucket %s, want %s", op.ID, key.Str(), PartitionKey(op.ID, want))
					}
				}
			}
		})
	}
}
