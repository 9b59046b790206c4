package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// TestJSONStringEncoding: every string encodes to one JSON string with no raw
// control byte (so no "\n\n" can end an insert's data early), and valid
// UTF-8 decodes back exactly.
func TestJSONStringEncoding(t *testing.T) {
	t.Parallel()
	var all []byte
	for c := range 256 {
		all = append(all, byte(c))
	}
	for _, s := range []string{"", "plain", "it's", `"quoted" \ back`, "\n\n;\r\n\r\n", "\x00\x01\x1f\x7f", "🦜 ünïcode", string(all)} {
		enc := appendJSONString(nil, s)
		for _, ch := range enc {
			if ch < 0x20 || ch == 0x7f {
				t.Fatalf("%q encodes with a raw control byte %#x: %q", s, ch, enc)
			}
		}
		if bytes.Count(enc, []byte(`"`))-bytes.Count(enc, []byte(`\"`)) != 2 {
			t.Fatalf("%q: %q is not one JSON string", s, enc)
		}
		if s == string(all) {
			continue // not valid UTF-8: encoding/json would replace bytes
		}
		var back string
		if err := json.Unmarshal(enc, &back); err != nil || back != s {
			t.Fatalf("%q encodes as %q, which decodes as %q (%v)", s, enc, back, err)
		}
	}
}

// TestInsertDataCannotEndEarly: the embedded engine ends an insert's inline
// data at the first empty line. Numbers whose bytes hold "\n\n" (versions
// such as 0x0a0a...), strings full of newlines and semicolons and extreme
// floats are stored and read back exactly, in one insert of thousands of
// rows, on both engines.
func TestInsertDataCannotEndEarly(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		latencies := []float64{0, 0.1, 1e-310, math.MaxFloat64, 5e-324, 123456789.123456789, 1.0000000000000002}
		var ops []event.Operation
		for i := range 3000 {
			op := createOp(fmt.Sprintf("nl-%d", i), "c-nl", "n\n\n;", base, latencies[i%len(latencies)], "")
			op.Version = 0x0a0a0a0a0a0a0a0a + uint64(i)
			op.Input = "a\n\nb;\n\n;c\r\n\r\n" + fmt.Sprint(i)
			op.Output = "\u2028 \x00\n\n\x00"
			op.Attributes = []event.Attribute{{Key: "\n\n", Value: "\n\n;"}}
			ops = append(ops, op)
		}
		apply(t, s, ops...)
		for i, op := range ops {
			if i%97 != 0 && i != len(ops)-1 {
				continue
			}
			got := mustEvent(t, s, op.ID)
			if got.Input != op.Input || got.Output != op.Output || got.Name != op.Name || got.LatencyMs != op.LatencyMs ||
				len(got.Attributes) != 1 || got.Attributes[0] != op.Attributes[0] {
				t.Fatalf("%s read back as %+v, want %+v", op.ID, got.Event, op.Event)
			}
		}
		page, err := s.Conversation(context.Background(), "c-nl", nil, 5000)
		if err != nil || len(page) != len(ops) {
			t.Fatalf("conversation: %d events, %v", len(page), err)
		}
	})
}
