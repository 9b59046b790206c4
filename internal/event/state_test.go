package event

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func create(id string, v uint64, name, errMsg string) Operation {
	return Operation{Op: OpCreate, ID: id, Version: v, Set: AllFields, Event: Event{
		ConversationID: "conv", Name: name, Timestamp: t0, Input: "in", Output: "out", LatencyMs: 10, Error: errMsg,
	}}
}

func update(id string, v uint64, mutate func(*Operation)) Operation {
	op := Operation{Op: OpUpdate, ID: id, Version: v}
	mutate(&op)
	return op
}

func del(id string, v uint64) Operation { return Operation{Op: OpDelete, ID: id, Version: v} }

func setError(msg string) func(*Operation) {
	return func(o *Operation) { o.Error = msg; o.Set = o.Set.With(FieldError) }
}

func setLatency(ms float64) func(*Operation) {
	return func(o *Operation) { o.LatencyMs = ms; o.Set = o.Set.With(FieldLatency) }
}

func TestStateApply(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		ops         []Operation
		wantVisible bool
		wantCreated bool
		check       func(t *testing.T, s *State)
	}{
		{
			name:        "create",
			ops:         []Operation{create("a", 1, "n", "")},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.Name != "n" || s.Input != "in" || s.Version != 1 {
					t.Fatalf("state = %+v", s)
				}
			},
		},
		{
			name:        "partial update keeps the other fields",
			ops:         []Operation{create("a", 1, "n", ""), update("a", 2, setError("timeout"))},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.Error != "timeout" || s.Input != "in" || s.Output != "out" || s.LatencyMs != 10 || s.Name != "n" {
					t.Fatalf("state = %+v", s)
				}
			},
		},
		{
			name:        "update before create ends as if ordered",
			ops:         []Operation{update("a", 2, setError("timeout")), create("a", 1, "n", "")},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.Error != "timeout" || s.Input != "in" {
					t.Fatalf("state = %+v", s)
				}
			},
		},
		{
			name:        "an update wins over a create accepted after it",
			ops:         []Operation{update("a", 1, setError("timeout")), create("a", 2, "n", "")},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.Error != "timeout" || s.Input != "in" {
					t.Fatalf("state = %+v", s)
				}
			},
		},
		{
			name:        "a newer create replaces an older create",
			ops:         []Operation{create("a", 1, "first", ""), create("a", 2, "second", "")},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.Name != "second" {
					t.Fatalf("name = %q", s.Name)
				}
			},
		},
		{
			name:        "update alone stays invisible",
			ops:         []Operation{update("a", 2, setError("timeout"))},
			wantVisible: false, wantCreated: false,
		},
		{
			name:        "delete is final: a later update does not resurrect",
			ops:         []Operation{create("a", 1, "n", ""), del("a", 2), update("a", 3, setError("x"))},
			wantVisible: false, wantCreated: true,
		},
		{
			name:        "delete before create stays deleted",
			ops:         []Operation{del("a", 2), create("a", 1, "n", "")},
			wantVisible: false, wantCreated: false,
		},
		{
			name:        "older update loses against newer field value",
			ops:         []Operation{create("a", 1, "n", ""), update("a", 3, setLatency(30)), update("a", 2, setLatency(20))},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.LatencyMs != 30 {
					t.Fatalf("latency = %v, want 30", s.LatencyMs)
				}
			},
		},
		{
			name: "an update cannot change the immutable fields",
			ops: []Operation{create("a", 1, "n", ""), update("a", 2, func(o *Operation) {
				o.ConversationID = "other"
				o.Set = o.Set.With(FieldConversationID)
			})},
			wantVisible: true, wantCreated: true,
			check: func(t *testing.T, s *State) {
				if s.ConversationID != "conv" {
					t.Fatalf("conversation = %q", s.ConversationID)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := &State{ID: "a"}
			for i := range tt.ops {
				s.Apply(&tt.ops[i])
			}
			if s.Visible() != tt.wantVisible || s.Created != tt.wantCreated {
				t.Fatalf("visible=%v created=%v, want %v %v", s.Visible(), s.Created, tt.wantVisible, tt.wantCreated)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestStateApplyReplayChangesNothing(t *testing.T) {
	t.Parallel()
	ops := []Operation{create("a", 1, "n", ""), update("a", 2, setError("e")), update("a", 3, setLatency(5))}
	s := &State{ID: "a"}
	for i := range ops {
		s.Apply(&ops[i])
	}
	before := *s
	for i := range ops {
		if s.Apply(&ops[i]) {
			t.Fatalf("replay of op %d changed the state", i)
		}
	}
	if !before.SameRow(&s.Event) || before.Version != s.Version {
		t.Fatalf("state changed by replay: %+v -> %+v", before, s)
	}
}

// Any order of the same operations gives the same state (commutativity), the
// property that makes redelivery and reordering harmless.
func TestStateApplyOrderIndependent(t *testing.T) {
	t.Parallel()
	ops := []Operation{
		create("a", 1, "n", ""),
		update("a", 2, setError("e")),
		update("a", 3, setLatency(5)),
		update("a", 4, func(o *Operation) { o.Name = "renamed"; o.Set = o.Set.With(FieldName) }),
		update("a", 5, setError("")),
		update("a", 6, func(o *Operation) {
			o.Model, o.InputTokens = "gpt-4o", 11
			o.Set = o.Set.With(FieldModel).With(FieldInputTokens)
		}),
		update("a", 7, func(o *Operation) {
			o.InputTokens, o.OutputTokens, o.TimeToFirstTokenMs = 12, 4, 90
			o.Set = o.Set.With(FieldInputTokens).With(FieldOutputTokens).With(FieldTimeToFirstToken)
		}),
		// A second create (the span of an LLM call sent again) loses
		// against the updates (its log records) for the fields they set.
		{Op: OpCreate, ID: "a", Version: 8, Set: AllFields, Event: Event{
			ConversationID: "conv", Name: "chat", Timestamp: t0, LatencyMs: 10,
			Generation: Generation{Model: "gpt-4o-2024", Provider: "openai", InputTokens: 1, SpanID: "b7ad6b7169203331"},
		}},
	}
	want := &State{ID: "a"}
	for i := range ops {
		want.Apply(&ops[i])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		perm := rng.Perm(len(ops))
		got := &State{ID: "a"}
		for _, i := range perm {
			got.Apply(&ops[i])
		}
		if !got.SameRow(&want.Event) || got.Version != want.Version || got.Visible() != want.Visible() || got.Writes != want.Writes {
			t.Fatalf("order %v: got %+v, want %+v", perm, got, want)
		}
	}
	if want.Model != "gpt-4o" || want.InputTokens != 12 || want.OutputTokens != 4 || want.Provider != "openai" ||
		want.SpanID != "b7ad6b7169203331" || want.Name != "renamed" {
		t.Fatalf("merged state = %+v", want.Event)
	}
}

// TestWritesCountDistinctWrites: the version reads show counts distinct
// writes, whatever their order and however often each arrives.
func TestWritesCountDistinctWrites(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ops  []Operation
		want uint64
	}{
		{"one create", []Operation{create("a", 1, "n", "")}, 1},
		{"the same body posted three times", []Operation{create("a", 1, "n", ""), create("a", 2, "n", ""), create("a", 3, "n", "")}, 1},
		{"a replay", []Operation{create("a", 1, "n", ""), create("a", 1, "n", "")}, 1},
		{"create then update", []Operation{create("a", 1, "n", ""), update("a", 2, setError("e"))}, 2},
		{"update before its create", []Operation{update("a", 2, setError("e")), create("a", 1, "n", "")}, 2},
		{"an update re-sent", []Operation{create("a", 1, "n", ""), update("a", 2, setError("e")), update("a", 3, setError("e"))}, 2},
		{"a different create", []Operation{create("a", 1, "n", ""), create("a", 2, "m", "")}, 2},
		{"an older create after a newer one", []Operation{create("a", 2, "m", ""), create("a", 1, "n", "")}, 2},
		{"an update of immutable fields only", []Operation{create("a", 1, "n", ""), update("a", 2, func(o *Operation) {
			o.ConversationID = "x"
			o.Set = o.Set.With(FieldConversationID)
		}), update("a", 3, func(o *Operation) {
			o.ConversationID = "y"
			o.Set = o.Set.With(FieldConversationID)
		})}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(3, 4))
			for range 20 {
				s := &State{ID: "a"}
				for _, i := range rng.Perm(len(tt.ops)) {
					s.Apply(&tt.ops[i])
				}
				if s.Writes != tt.want {
					t.Fatalf("%d writes, want %d", s.Writes, tt.want)
				}
			}
		})
	}
}

// TestWriteHashCoversEveryField: two writes that differ in any one field
// hash differently (a field added to the event must be hashed too).
func TestWriteHashCoversEveryField(t *testing.T) {
	t.Parallel()
	for f := range NumFields {
		a := Operation{Op: OpCreate, Set: Fields(0).With(f)}
		b := a
		b.ConversationID, b.Name, b.Timestamp, b.Input, b.Output = "x", "x", t0, "x", "x"
		b.LatencyMs, b.Error, b.Attributes = 1, "x", []Attribute{{Key: "k", Value: "v"}}
		b.Generation = Generation{Model: "x", Provider: "x", Operation: "x", InputTokens: 1, OutputTokens: 1,
			CacheReadTokens: 1, CacheCreationTokens: 1, ReasoningTokens: 1, TimeToFirstTokenMs: 1,
			FinishReason: "x", TraceID: "x", SpanID: "x"}
		if a.WriteHash() == b.WriteHash() {
			t.Errorf("field %d is not in the write hash", f)
		}
	}
}

// TestWriteHashesBounded: past MaxWriteHashes distinct writes a state keeps
// the latest hashes only, and a copy never shares what it appends.
func TestWriteHashesBounded(t *testing.T) {
	t.Parallel()
	s := &State{ID: "a"}
	s.Apply(&[]Operation{create("a", 1, "n", "")}[0])
	for i := range MaxWriteHashes + 10 {
		s.Apply(&[]Operation{update("a", uint64(i+2), setLatency(float64(i)))}[0])
	}
	if s.Writes != MaxWriteHashes+11 || len(s.WriteHashes) != MaxWriteHashes {
		t.Fatalf("writes %d, hashes %d", s.Writes, len(s.WriteHashes))
	}
	old := *s
	next := *s
	next.Apply(&[]Operation{update("a", 9999, setError("x"))}[0])
	if len(old.WriteHashes) != MaxWriteHashes || slices.Equal(old.WriteHashes, next.WriteHashes) {
		t.Fatal("the copy's write changed the original's hashes")
	}
}

func TestClockIsStrictlyIncreasing(t *testing.T) {
	t.Parallel()
	frozen := time.Unix(100, 0)
	c := &Clock{now: func() time.Time { return frozen }}
	prev := c.Next()
	for range 1000 {
		v := c.Next()
		if v <= prev {
			t.Fatalf("version %d after %d", v, prev)
		}
		prev = v
	}
}
