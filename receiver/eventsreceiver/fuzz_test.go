package eventsreceiver

import (
	"maps"
	"math"
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
		`{"conversation_id":"c","event_name":"chat","model":"gpt-4o","input_tokens":11,"output_tokens":18446744073709551616,"time_to_first_token":1.5,"trace_id":"0af7651916cd43dd8448eb211c80319c"}`,
		`{"output_tokens":-1}`, `{"cache_read_tokens":1.0}`, `{"cost":1}`,
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

// FuzzScanBody checks that whatever scanBody accepts, encoding/json accepts
// too and decodes to the same body: the fast path never changes an answer.
func FuzzScanBody(f *testing.F) {
	for _, seed := range []string{
		validEvent, `{}`, ` { } `, `{"op":"update","id":"x","error":null}`,
		`{"id":"x","conversation_id":"c","event_name":"n","timestamp":1767323045678,"attributes":{"a":"b","a":"c"}}`,
		`{"conversation_id":"c","event_name":"n","timestamp":"2026-01-02T03:04:05.123+02:00","latency":-0}`,
		`{"input":"tab\t","output":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00\ud800\udc00\ud800x\udc00\ud800\u0041"}`,
		`{"latency":1e308}`, `{"latency":1e999}`, `{"latency":-1.5E-3}`, `{"latency":01}`, `{"latency":"1"}`,
		`{"Event_Name":"n"}`, `{"event_name":"n","event_name":"m"}`, `{"attributes":{}}`, `{"attributes":{"k":null}}`,
		`{"timestamp":null,"attributes":null}`, `{"timestamp":"yesterday"}`, `{"timestamp":-5}`, "{\"input\":\"caf\xc3\xa9\"}",
		"{\"input\":\"\xff\"}", `{"a":1}`, `{"input":"x"}]`, `{"input":"x"} {}`, `[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := scanBody(data)
		if !ok {
			return
		}
		want, rerr := decodeBodyJSON(data)
		if rerr != nil {
			t.Fatalf("scanBody accepted what encoding/json rejects (%s): %q", rerr.message, data)
		}
		if diff := bodyDiff(got, want); diff != "" {
			t.Fatalf("scanBody and encoding/json disagree on %s: %q", diff, data)
		}
	})
}

// bodyDiff names the first field on which two bodies differ, or returns "".
func bodyDiff(a, b *body) string {
	strs := []struct {
		name string
		a, b *string
	}{
		{"op", a.Op, b.Op}, {"id", a.ID, b.ID}, {"conversation_id", a.ConversationID, b.ConversationID},
		{"event_name", a.EventName, b.EventName}, {"input", a.Input, b.Input}, {"output", a.Output, b.Output},
		{"error", a.Error, b.Error},
	}
	for _, s := range strs {
		if (s.a == nil) != (s.b == nil) || (s.a != nil && *s.a != *s.b) {
			return s.name
		}
	}
	if (a.Latency == nil) != (b.Latency == nil) || (a.Latency != nil && math.Float64bits(*a.Latency) != math.Float64bits(*b.Latency)) {
		return "latency"
	}
	if (a.Timestamp == nil) != (b.Timestamp == nil) || (a.Timestamp != nil && (!a.Timestamp.t.Equal(b.Timestamp.t) || a.Timestamp.t.Location() != b.Timestamp.t.Location())) {
		return "timestamp"
	}
	if (a.Attributes == nil) != (b.Attributes == nil) || (a.Attributes != nil && !maps.Equal(*a.Attributes, *b.Attributes)) {
		return "attributes"
	}
	return ""
}
