package event

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

func TestLogsBuilderGroupsByBucket(t *testing.T) {
	t.Parallel()
	for _, buckets := range []int{1, 3, DefaultPartitionBuckets, 0} {
		t.Run(strconv.Itoa(buckets), func(t *testing.T) {
			want := buckets
			if want == 0 {
				want = DefaultPartitionBuckets
			}
			b := NewLogsBuilder(buckets, 0)
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

func TestLogsBuilderBoundsResourceBytes(t *testing.T) {
	t.Parallel()
	const maxBytes = 64 << 10
	b := NewLogsBuilder(3, maxBytes)
	var ops []Operation
	for i := range 400 {
		// Sizes from a few bytes to past the bound, so that resources fill
		// unevenly and some records are larger than a resource may be.
		input := strings.Repeat("é'\x00", (i*i*37)%(30<<10))
		if i%97 == 0 {
			input = strings.Repeat("x", maxBytes+1)
		}
		ops = append(ops, Operation{Op: OpCreate, ID: fmt.Sprintf("id-%d", i%40), Version: uint64(i + 1),
			Set: AllFields, Event: Event{ConversationID: "c", Name: "n", Input: input}})
	}
	for i := range ops {
		lr := b.Append(&ops[i], time.Now())
		lr.SetTraceID([16]byte{1})
		lr.SetSpanID([8]byte{1})
	}
	ld := b.Logs()
	if ld.LogRecordCount() != len(ops) {
		t.Fatalf("%d records, want %d", ld.LogRecordCount(), len(ops))
	}
	var sizer plog.ProtoMarshaler
	// next[id] is the index in ops of the next operation of id expected, in
	// the order the resources are sent.
	next := map[string]int{}
	perBucket := map[string]int{}
	for i := range ld.ResourceLogs().Len() {
		rl := ld.ResourceLogs().At(i)
		key, _ := rl.Resource().Attributes().Get(ResourceAttrPartition)
		perBucket[key.Str()]++
		lrs := rl.ScopeLogs().At(0).LogRecords()
		one := plog.NewLogs()
		rl.CopyTo(one.ResourceLogs().AppendEmpty())
		// The message: the resource's records within the bound, plus what
		// the resource and its scope add.
		if size := sizer.LogsSize(one); lrs.Len() > 1 && size > maxBytes+64 {
			t.Fatalf("resource %d: %d records in %d bytes, over %d", i, lrs.Len(), size, maxBytes)
		}
		for j := range lrs.Len() {
			op, err := UnmarshalLogRecord(lrs.At(j))
			if err != nil {
				t.Fatal(err)
			}
			if PartitionKey(op.ID, 3) != key.Str() {
				t.Fatalf("%s in bucket %s", op.ID, key.Str())
			}
			k := next[op.ID]
			for k < len(ops) && ops[k].ID != op.ID {
				k++
			}
			if k == len(ops) || ops[k].Version != op.Version || ops[k].Input != op.Input {
				t.Fatalf("%s version %d out of order or changed", op.ID, op.Version)
			}
			next[op.ID] = k + 1
		}
	}
	for bucket, n := range perBucket {
		if n < 2 {
			t.Fatalf("bucket %s in %d resources: the bound never split it", bucket, n)
		}
	}
}
