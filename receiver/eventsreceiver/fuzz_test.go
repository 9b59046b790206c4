package eventsreceiver

import (
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// FuzzDecodeBody checks that no input crashes the decoder and that whatever
// it accepts survives the trip through a canonical log record unchanged.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		validEvent,
		`{"id":"x","conversation_id":"c","event_name":"n","timestamp":1767323045678,"attributes":{"a":"b"}}`,
		`{"conversation_id":"c","event_name":"n","timestamp":"2026-01-02T03:04:05Z","latency":-0}`,
		`{"error":"timeout"}`, `[]`, `null`, `{"latency":1e308}`, "{\"input\":\"\\ud800\"}",
	} {
		f.Add([]byte(seed))
	}
	limits := event.DefaultLimits()
	f.Fuzz(func(t *testing.T, data []byte) {
		if checkUTF8(data) != nil {
			return
		}
		b, rerr := decodeBody(data)
		if rerr != nil {
			if rerr.status != 400 || rerr.code == "" || rerr.message == "" {
				t.Fatalf("bad rejection %+v", rerr)
			}
			return
		}
		for _, kind := range []event.Op{event.OpCreate, event.OpUpdate} {
			op, rerr := toOperation(b, kind, "", time.Unix(1700000000, 0).UTC())
			if rerr != nil {
				continue
			}
			if op.ID == "" {
				op.ID = "generated"
			}
			if limits.Validate(&op) != nil {
				continue
			}
			op.Version = 1
			lr := plog.NewLogRecord()
			op.MarshalLogRecord(lr, time.Unix(1700000000, 0))
			got, err := event.UnmarshalLogRecord(lr)
			if err != nil {
				t.Fatalf("valid operation did not round-trip: %v (%+v)", err, op)
			}
			if got.Set != op.Set || !got.SameRow(&op.Event) || got.ID != op.ID {
				t.Fatalf("round trip changed the operation:\n got %+v\nwant %+v", got, op)
			}
		}
	})
}

// FuzzSplitBatch checks that no batch body crashes the splitter or the item
// decoder.
func FuzzSplitBatch(f *testing.F) {
	for _, seed := range []string{"[" + validEvent + "]", validEvent + "\n" + validEvent, "[", "\n\n", `[{"op":"delete","id":"x"}]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		items, rerr := splitBatch(data, 100)
		if rerr != nil {
			return
		}
		for _, item := range items {
			if b, rerr := decodeBody(item); rerr == nil && b == nil {
				t.Fatal("nil body without error")
			}
		}
	})
}
