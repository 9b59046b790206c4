package storage

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// FuzzRoundTrip writes arbitrary operations through the store of each engine
// and reads them back through the read API's code (Event, Conversation,
// ErrorCounts, Latency): every value the API accepts must come back byte for
// byte, and every string bound into a query must find exactly its rows.
// `make fuzz` runs it for a bounded number of executions; the seeds (below
// and testdata/fuzz/FuzzRoundTrip) run in every `go test`.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{
		"it's", `x'); DROP TABLE events; --`, `\' UNION SELECT 1 --`, "nul\x00byte", "back`quote",
		`\N`, "tab\there\nnewline\r", `[1,'a']`, `{"k":"v"}`, "{{.Database}}", "emoji 🦜 ünïcode", `\\`, `\`,
		"?", "a,b", "'", "\x7f\x01\x1f", "",
	} {
		f.Add(s, s, s, s, s, s, s, s, 150.5, int64(1_700_000_000_000), uint64(0x0a0a0a0a0a0a0a0a))
	}
	f.Add("id", "conv", "name", "in", "out", "", "k", "v", 0.0, int64(1), uint64(1))
	f.Add("id", "conv", "name", "in", "out", "err", "key", "value", math.MaxFloat64, int64(4_291_747_199_999), uint64(0x3b0a0a3b))
	f.Add("id", "conv", "name", "in", "out", "err", "key", "value", 5e-324, int64(-5), uint64(1)<<63)

	openStores := fuzzStores(f)
	f.Fuzz(func(t *testing.T, id, conv, name, input, output, errMsg, attrKey, attrValue string, latency float64, tsMs int64, version uint64) {
		stores := openStores(t)
		// A suffix unique to this run keeps inputs that repeat apart; the
		// fuzzed bytes stay whole in front of it.
		suffix := fmt.Sprintf("#%d.%d", os.Getpid(), fuzzSeq.Add(1))
		ts := event.MinTimestamp.Add(time.Duration(uint64(tsMs)%uint64(event.MaxTimestamp.Sub(event.MinTimestamp)/time.Millisecond)) * time.Millisecond)
		// The version's bytes are fuzzed too (an encoding of numbers must
		// not depend on them); the update's is the next one.
		version = max(version, 1)
		if version == math.MaxUint64 {
			version--
		}
		create := event.Operation{Op: event.OpCreate, ID: id + suffix, Version: version, Set: event.AllFields, Event: event.Event{
			ConversationID: conv + suffix, Name: name + suffix, Timestamp: ts, Input: input, Output: output,
			LatencyMs: latency, Error: errMsg, Attributes: []event.Attribute{{Key: attrKey, Value: attrValue}, {Key: attrKey + suffix, Value: input}},
			// The LLM call's strings and numbers take the same bytes.
			Generation: event.Generation{
				Model: attrValue, Provider: attrKey, Operation: name, FinishReason: errMsg,
				InputTokens: version % event.MaxTokens, OutputTokens: uint64(tsMs) % event.MaxTokens,
				ReasoningTokens: event.MaxTokens, TimeToFirstTokenMs: latency,
			},
		}}
		limits := event.DefaultLimits()
		if limits.Validate(&create) != nil {
			return // refused at the door with a 400; nothing to store
		}
		// A partial update that swaps the text fields: a second merge of
		// every string through the stored state.
		update := event.Operation{Op: event.OpUpdate, ID: create.ID, Version: version + 1,
			Set:   event.Fields(0).With(event.FieldInput).With(event.FieldOutput).With(event.FieldError),
			Event: event.Event{Input: output, Output: errMsg, Error: input}}
		want := create.Event
		want.Input, want.Output, want.Error = output, errMsg, input
		event.SortAttributes(want.Attributes)

		ctx := context.Background()
		for i, s := range stores {
			name := engines[i].name
			if _, err := s.Apply(ctx, []event.Operation{create}); err != nil {
				t.Fatalf("%s: apply create: %v", name, err)
			}
			if _, err := s.Apply(ctx, []event.Operation{update}); err != nil {
				t.Fatalf("%s: apply update: %v", name, err)
			}
			got, err := s.Event(ctx, create.ID)
			if err != nil {
				t.Fatalf("%s: read %q: %v", name, create.ID, err)
			}
			checkRoundTrip(t, name+": event", &got.Event, &want)
			page, err := s.Conversation(ctx, want.ConversationID, nil, 10)
			if err != nil {
				t.Fatalf("%s: read conversation %q: %v", name, want.ConversationID, err)
			}
			if len(page) != 1 || page[0].ID != create.ID {
				t.Fatalf("%s: conversation %q lists %d events, want exactly %q", name, want.ConversationID, len(page), create.ID)
			}
			checkRoundTrip(t, name+": conversation", &page[0].Event, &want)
			lat, err := s.Latency(ctx, LatencyFilter{EventName: want.Name}, 10)
			if err != nil {
				t.Fatalf("%s: latency of %q: %v", name, want.Name, err)
			}
			if len(lat) != 1 || lat[0].EventName != want.Name || lat[0].ConversationID != want.ConversationID ||
				lat[0].P95 != latency || lat[0].Count != 1 {
				t.Fatalf("%s: latency of %q = %+v, want one row of p95 %v", name, want.Name, lat, latency)
			}
			if input != "" { // an error: the update made input the error text
				counts, err := s.ErrorCounts(ctx, want.Name, 1, ts)
				if err != nil {
					t.Fatalf("%s: errors of %q: %v", name, want.Name, err)
				}
				if len(counts) != 1 || counts[0].Errors != 1 {
					t.Fatalf("%s: errors of %q on %s = %+v, want 1", name, want.Name, ts.Format(time.DateOnly), counts)
				}
			}
		}
	})
}

var fuzzSeq atomic.Int64

// fuzzStores returns a function that gives the store of each engine
// (openFuzzStore), opened by the first run that asks and closed once the
// fuzz test ends.
func fuzzStores(f *testing.F) func(t *testing.T) []*Store {
	stores := make([]*Store, len(engines))
	var once sync.Once
	// Closed at the end: an embedded engine left open while the process
	// exits crashed the race detector's finalisation (SIGSEGV in
	// racefini), whose threads it still runs.
	f.Cleanup(func() {
		for _, s := range stores {
			if s != nil {
				_ = s.Close()
			}
		}
	})
	return func(t *testing.T) []*Store {
		once.Do(func() {
			for i, e := range engines {
				stores[i] = openFuzzStore(t, e)
			}
		})
		return stores
	}
}

// openFuzzStore opens a store on the database fuzz_roundtrip_<schema>,
// shared by the fuzzing processes (every run's ids are unique) and kept
// between runs. The name ends with a digest of the schema's DDL: checkouts
// of different schemas that fuzz against one server at the same time do not
// migrate one database back and forth.
func openFuzzStore(t *testing.T, e engine) *Store {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := sha256.New()
	for _, file := range migrations {
		text, err := sqlFiles.ReadFile("sql/" + file)
		if err != nil {
			t.Fatal(err)
		}
		h.Write(text)
	}
	s, err := Open(ctx, e.cfg(t, fmt.Sprintf("fuzz_roundtrip_%x", h.Sum(nil)[:4])))
	if err != nil {
		t.Fatalf("open %s store (is the service up? `make services chdb`): %v", e.name, err)
	}
	return s
}

func checkRoundTrip(t *testing.T, where string, got, want *event.Event) {
	t.Helper()
	if got.ConversationID != want.ConversationID || got.Name != want.Name || got.Input != want.Input ||
		got.Output != want.Output || got.Error != want.Error || got.LatencyMs != want.LatencyMs ||
		!got.Timestamp.Equal(want.Timestamp) || !slices.Equal(got.Attributes, want.Attributes) || got.Generation != want.Generation {
		t.Fatalf("%s: read back\n%#v\nwant\n%#v", where, *got, *want)
	}
}
