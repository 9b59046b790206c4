package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// opValues are the strings a program's operations take their text and
// attributes from: what people send, quotes and escapes of text formats
// first.
var opValues = []string{
	"it's", `x'); DROP TABLE events; --`, "nul\x00byte", `\N`, "tab\there\nnewline\r", `[1,'a']`,
	`{"k":"v"}`, "{{.Database}}", "emoji 🦜", `\`, "a,b", "", "?", "plain",
}

// opBytes is the length of one operation in a program.
const opBytes = 5

// FuzzOperations runs arbitrary programs of creates, partial updates and
// deletes, on four ids over two conversations and two event names, in
// versions of any order, cut into batches at arbitrary points, the first
// batch applied again at the end (a replay), through the store of each
// engine; then every read of the API's code (Event, Conversation,
// ErrorCounts, Latency) must answer what the states of a model say, which
// applies the same operations one by one in memory (event.State.Apply).
// Each operation is opBytes bytes of the program:
//
//	0: kind (create, update, delete, create) and id (bits 2-3)
//	1: for a create, its conversation (bit 0), event name (bit 1) and day
//	   (bits 2-3: today, or one or two days ago); for an update, the fields
//	   it sets (name, input, output, latency, error, attributes)
//	2: the text and attributes, as indexes into opValues
//	3: the latency
//	4: the version's high byte (so versions arrive in any order), bit 0
//	   ends a batch after the operation, bit 1 makes the error non-empty
func FuzzOperations(f *testing.F) {
	f.Add([]byte("\x00\x00\x00\x10\x11" + "\x04\x03\x01\x20\x23" + "\x01\x3f\x02\x30\x40" + "\x02\x00\x00\x00\x51" +
		"\x08\x01\x05\x40\x02" + "\x0c\x02\x06\x50\x03" + "\x05\x10\x07\x00\x80" + "\x09\x08\x09\x60\x61"))
	f.Add([]byte("\x00\x00\x00\x01\xf0" + "\x01\x3f\x0b\x02\x10" + "\x02\x00\x00\x00\x08" + "\x00\x04\x0c\x03\x01"))
	f.Add([]byte("\x0d\x00\x03\x00\x00" + "\x0c\x07\x00\x07\x07"))
	openStores := fuzzStores(f)
	f.Fuzz(func(t *testing.T, program []byte) {
		if len(program) < opBytes || len(program) > 64*opBytes {
			return
		}
		stores := openStores(t)
		suffix := fmt.Sprintf("#%d.%d", os.Getpid(), fuzzSeq.Add(1))
		now := time.Now().UTC()
		ops, batches := decodeProgram(program, suffix, now)

		limits := event.DefaultLimits()
		for i := range ops {
			if err := limits.Validate(&ops[i]); err != nil {
				t.Fatalf("operation %d is not valid, which the program never makes: %v", i, err)
			}
		}
		model := modelOf(ops)
		ctx := context.Background()
		for i, s := range stores {
			for _, b := range append(batches, batches[0]) {
				if _, err := s.Apply(ctx, ops[b[0]:b[1]]); err != nil {
					t.Fatalf("%s: apply operations %d..%d: %v", engines[i].name, b[0], b[1], err)
				}
			}
			checkProgramReads(t, engines[i].name, s, model, suffix, now)
		}
	})
}

// decodeProgram turns a program into operations and the bounds of its
// batches (see FuzzOperations).
func decodeProgram(program []byte, suffix string, now time.Time) (ops []event.Operation, batches [][2]int) {
	start := 0
	for i := 0; i+opBytes <= len(program); i += opBytes {
		p := program[i : i+opBytes]
		id := fmt.Sprintf("id%d%s", p[0]>>2&3, suffix)
		text := opValues[int(p[2]&15)%len(opValues)]
		attr := opValues[int(p[2]>>4)%len(opValues)]
		errMsg := ""
		if p[4]&2 != 0 {
			errMsg = "error: " + attr
		}
		ev := event.Event{
			Input: text, Output: attr + text, LatencyMs: float64(p[3]) * 1.5, Error: errMsg,
			Attributes: []event.Attribute{{Key: attr + "key", Value: text}},
		}
		op := event.Operation{ID: id, Version: uint64(p[4])<<16 | uint64(len(ops)+1)}
		switch p[0] & 3 {
		case 0, 3:
			op.Op, op.Set = event.OpCreate, event.AllFields
			ev.ConversationID = fmt.Sprintf("conv%d%s", p[1]&1, suffix)
			ev.Name = fmt.Sprintf("name%d%s", p[1]>>1&1, suffix)
			ev.Timestamp = now.Add(-time.Duration(p[1]>>2&3%3) * 24 * time.Hour).Truncate(time.Millisecond)
			op.Event = ev
		case 1:
			op.Op = event.OpUpdate
			fields := []event.Field{event.FieldName, event.FieldInput, event.FieldOutput, event.FieldLatency, event.FieldError, event.FieldAttributes}
			for bit, f := range fields {
				if p[1]&(1<<bit) != 0 {
					op.Set = op.Set.With(f)
				}
			}
			if op.Set == 0 {
				op.Set = op.Set.With(event.FieldInput)
			}
			ev.Name = fmt.Sprintf("name%d%s", p[1]>>6&1, suffix)
			op.Event = ev
		case 2:
			op.Op = event.OpDelete
		}
		ops = append(ops, op)
		if p[4]&1 != 0 {
			batches = append(batches, [2]int{start, len(ops)})
			start = len(ops)
		}
	}
	if start < len(ops) {
		batches = append(batches, [2]int{start, len(ops)})
	}
	return ops, batches
}

// checkProgramReads compares every read of the program's ids, conversations
// and event names with the model's states.
func checkProgramReads(t *testing.T, engine string, s *Store, model map[string]*event.State, suffix string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	convs := map[string][]string{}
	latencies := map[string]map[string][]float64{} // name -> conversation -> visible latencies
	errorDays := map[string]map[string]int64{}     // name -> day -> errors
	for id, st := range model {
		got, err := s.Event(ctx, id)
		if !st.Visible() {
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("%s: event %q: %v, %+v; want not found", engine, id, err, got)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: event %q: %v", engine, id, err)
		}
		checkRoundTrip(t, engine+": event "+id, &got.Event, &st.Event)
		convs[st.ConversationID] = append(convs[st.ConversationID], id)
		if latencies[st.Name] == nil {
			latencies[st.Name], errorDays[st.Name] = map[string][]float64{}, map[string]int64{}
		}
		latencies[st.Name][st.ConversationID] = append(latencies[st.Name][st.ConversationID], st.LatencyMs)
		if st.Error != "" {
			errorDays[st.Name][st.Timestamp.Format(time.DateOnly)]++
		}
	}
	for c := range 2 {
		conv := fmt.Sprintf("conv%d%s", c, suffix)
		want := convs[conv]
		slices.SortFunc(want, func(a, b string) int {
			return cmp.Or(model[a].Timestamp.Compare(model[b].Timestamp), cmp.Compare(a, b))
		})
		page, err := s.Conversation(ctx, conv, nil, 100)
		if err != nil {
			t.Fatalf("%s: conversation %q: %v", engine, conv, err)
		}
		got := make([]string, len(page))
		for i := range page {
			got[i] = page[i].ID
			checkRoundTrip(t, engine+": conversation page, "+page[i].ID, &page[i].Event, &model[page[i].ID].Event)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s: conversation %q lists %q, want %q", engine, conv, got, want)
		}
	}
	for n := range 2 {
		name := fmt.Sprintf("name%d%s", n, suffix)
		rows, err := s.Latency(ctx, LatencyFilter{EventName: name}, 100)
		if err != nil {
			t.Fatalf("%s: latency of %q: %v", engine, name, err)
		}
		if len(rows) != len(latencies[name]) {
			t.Fatalf("%s: latency of %q: %d rows %+v, want %d conversations", engine, name, len(rows), rows, len(latencies[name]))
		}
		for _, r := range rows {
			vals := latencies[name][r.ConversationID]
			if r.EventName != name || r.Count != uint64(len(vals)) || r.P95 != exactQuantile(vals, 0.95) {
				t.Fatalf("%s: latency row %+v, want count %d and p95 %v of %v", engine, r, len(vals), exactQuantile(vals, 0.95), vals)
			}
		}
		counts, err := s.ErrorCounts(ctx, name, 3, now)
		if err != nil {
			t.Fatalf("%s: errors of %q: %v", engine, name, err)
		}
		got := map[string]int64{}
		for _, c := range counts {
			if c.Errors != 0 {
				got[c.Date] = c.Errors
			}
		}
		if !maps.Equal(got, errorDays[name]) {
			t.Fatalf("%s: errors of %q per day %v, want %v", engine, name, got, errorDays[name])
		}
	}
}
