package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"
	"github.com/otelcol-events/otelcol-events/internal/event"
)

// These tests run the same suite against the ClickHouse server started by
// `make services` (127.0.0.1:9000) and the embedded engine installed by
// `make chdb`. A missing service fails the test: it never skips.

var (
	chdbDirOnce sync.Once
	chdbDir     string
)

type engine struct {
	name string
	cfg  func(t testing.TB, database string) Config
}

var engines = []engine{
	{"server", func(_ testing.TB, database string) Config {
		cfg := NewDefaultConfig()
		cfg.Endpoint = "tcp://127.0.0.1:9000"
		cfg.Database = database
		cfg.DialTimeout = 5 * time.Second
		return cfg
	}},
	{"embedded", func(t testing.TB, database string) Config {
		// The engine allows one data directory per process: share it and
		// isolate tests by database.
		chdbDirOnce.Do(func() {
			dir, err := os.MkdirTemp("", "otelcol-events-chdb-")
			if err != nil {
				panic(err)
			}
			chdbDir = dir
		})
		cfg := NewDefaultConfig()
		cfg.Endpoint = "chdb://" + chdbDir
		cfg.ChdbLibrary = chdbtest.Library(t)
		cfg.Database = database
		return cfg
	}},
}

var dbSeq struct {
	sync.Mutex
	n int
}

// openStore opens a store on a fresh database and drops it at the end.
func openStore(t *testing.T, e engine) *Store {
	t.Helper()
	dbSeq.Lock()
	dbSeq.n++
	database := fmt.Sprintf("test_%d_%d", time.Now().UnixNano(), dbSeq.n)
	dbSeq.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := Open(ctx, e.cfg(t, database))
	if err != nil {
		t.Fatalf("open %s store (is the service up? `make services chdb`): %v", e.name, err)
	}
	t.Cleanup(func() {
		_ = s.conn.Exec(context.Background(), "DROP DATABASE IF EXISTS "+database)
		_ = s.Close()
	})
	return s
}

func forEachEngine(t *testing.T, test func(t *testing.T, s *Store)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			test(t, openStore(t, e))
		})
	}
}

var (
	clock = event.NewClock()
	base  = time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
)

func createOp(id, conv, name string, ts time.Time, latency float64, errMsg string) event.Operation {
	return event.Operation{Op: event.OpCreate, ID: id, Version: clock.Next(), Set: event.AllFields, Event: event.Event{
		ConversationID: conv, Name: name, Timestamp: ts, Input: "in-" + id, Output: "out-" + id,
		LatencyMs: latency, Error: errMsg, Attributes: []event.Attribute{{Key: "k", Value: "v-" + id}},
	}}
}

func updateOp(id string, set func(*event.Operation)) event.Operation {
	op := event.Operation{Op: event.OpUpdate, ID: id, Version: clock.Next()}
	set(&op)
	return op
}

func deleteOp(id string) event.Operation {
	return event.Operation{Op: event.OpDelete, ID: id, Version: clock.Next()}
}

func withError(msg string) func(*event.Operation) {
	return func(o *event.Operation) { o.Error = msg; o.Set = o.Set.With(event.FieldError) }
}

func withLatency(ms float64) func(*event.Operation) {
	return func(o *event.Operation) { o.LatencyMs = ms; o.Set = o.Set.With(event.FieldLatency) }
}

func apply(t *testing.T, s *Store, ops ...event.Operation) ApplyResult {
	t.Helper()
	res, err := s.Apply(context.Background(), ops)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	return res
}

func mustEvent(t *testing.T, s *Store, id string) *StoredEvent {
	t.Helper()
	e, err := s.Event(context.Background(), id)
	if err != nil {
		t.Fatalf("event %s: %v", id, err)
	}
	return e
}

func mustNotFound(t *testing.T, s *Store, id string) {
	t.Helper()
	if _, err := s.Event(context.Background(), id); !errors.Is(err, ErrNotFound) {
		t.Fatalf("event %s: err = %v, want ErrNotFound", id, err)
	}
}

func TestCreateAndRead(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		op := createOp("e1", "c1", "event_a", base, 150.5, "")
		op.Input = "tab\there, newline\nthere, quote ' and backslash \\ and ünïcode"
		apply(t, s, op)
		got := mustEvent(t, s, "e1")
		if got.ConversationID != "c1" || got.Name != "event_a" || got.Input != op.Input || got.Output != "out-e1" ||
			got.LatencyMs != 150.5 || got.Error != "" || !got.Timestamp.Equal(base) ||
			!slices.Equal(got.Attributes, op.Attributes) {
			t.Fatalf("got %+v, want %+v", got, op)
		}
		mustNotFound(t, s, "unknown")
	})
}

// TestLookupOfAnyID looks up the stored state of ids made of any bytes the
// API accepts, on both paths of the embedded engine's lookup (the ids joined
// in one literal, and listed one by one when an id holds the separator).
func TestLookupOfAnyID(t *testing.T) {
	plain := []string{"plain", "quote ' here", `back\slash`, "tab\tand\nnewline", "ünïcode", "with space", "nul\x00byte"}
	withSep := append(slices.Clone(plain), "a,b", ",", "a")
	forEachEngine(t, func(t *testing.T, s *Store) {
		for _, ids := range [][]string{plain, withSep} {
			var ops []event.Operation
			for i, id := range ids {
				if i%2 == 0 { // every other id is stored, the others are unknown
					ops = append(ops, createOp(id, "c", "n", base, 1, ""))
				}
			}
			apply(t, s, ops...)
			states, err := s.loadStates(context.Background(), ids)
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range ids {
				if st, found := states[id]; found != (i%2 == 0) || found && st.Input != "in-"+id {
					t.Errorf("lookup of %q among %q: found %v (%+v)", id, ids, found, st)
				}
			}
			if len(states) != (len(ids)+1)/2 {
				t.Errorf("lookup of %d ids returned %d states", len(ids), len(states))
			}
		}
	})
}

func TestPartialUpdateKeepsOtherFields(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		apply(t, s, createOp("e1", "c1", "event_a", base, 10, ""))
		apply(t, s, updateOp("e1", withError("timeout")))
		got := mustEvent(t, s, "e1")
		if got.Error != "timeout" || got.Input != "in-e1" || got.Output != "out-e1" || got.LatencyMs != 10 || got.Name != "event_a" {
			t.Fatalf("got %+v", got)
		}
	})
}

func TestUpdateBeforeCreate(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		create := createOp("e1", "c1", "event_a", base, 10, "")
		update := updateOp("e1", withLatency(99))
		apply(t, s, update)
		mustNotFound(t, s, "e1")
		apply(t, s, create)
		got := mustEvent(t, s, "e1")
		if got.LatencyMs != 99 || got.Input != "in-e1" {
			t.Fatalf("got %+v", got)
		}
		// The same pair inside one batch, in either order.
		c2, u2 := createOp("e2", "c1", "event_a", base, 10, ""), updateOp("e2", withError("boom"))
		apply(t, s, u2, c2)
		if got := mustEvent(t, s, "e2"); got.Error != "boom" || got.LatencyMs != 10 {
			t.Fatalf("got %+v", got)
		}
		rows := latencyRows(t, s, "c1")
		if rows.Count != 2 {
			t.Fatalf("latency count = %d, want 2", rows.Count)
		}
	})
}

func TestDeleteIsFinal(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		apply(t, s, createOp("e1", "c1", "event_a", base, 10, "bad"), createOp("e2", "c1", "event_a", base.Add(time.Second), 20, ""))
		apply(t, s, deleteOp("e1"))
		apply(t, s, updateOp("e1", withError("again")))
		mustNotFound(t, s, "e1")
		events, err := s.Conversation(context.Background(), "c1", nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].ID != "e2" {
			t.Fatalf("conversation = %+v", events)
		}
		counts, err := s.ErrorCounts(context.Background(), "event_a", 7, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range counts {
			if c.Errors != 0 {
				t.Fatalf("deleted error still counted: %+v", counts)
			}
		}
		// A delete of an id never created hides a create that comes later.
		apply(t, s, deleteOp("e3"))
		apply(t, s, createOp("e3", "c1", "event_a", base, 1, ""))
		mustNotFound(t, s, "e3")
	})
}

func TestReplayChangesNothing(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ops := []event.Operation{
			createOp("e1", "c1", "event_a", base, 10, ""),
			createOp("e2", "c1", "event_a", base, 20, "x"),
			updateOp("e1", withError("late")),
			deleteOp("e2"),
		}
		first := apply(t, s, ops...)
		if first.Changed != 2 || first.Rows != 2 || first.Bytes == 0 {
			t.Fatalf("first apply: %+v, want 2 ids changed in an insert of 2 rows", first)
		}
		for range 2 {
			again := apply(t, s, ops...)
			if again.Changed != 0 || again.Unchanged != len(ops) || again.Rows != 0 || again.Bytes != 0 {
				t.Fatalf("replay: %+v", again)
			}
		}
		sessions, err := s.TopErrorSessions(context.Background(), 1, time.Time{}, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(sessions) != 1 || sessions[0].Errors != 1 || sessions[0].Total != 1 {
			t.Fatalf("sessions = %+v", sessions)
		}
	})
}

func TestConversationPaging(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		var ops []event.Operation
		for i := range 25 {
			// Two events share each timestamp: the id breaks the tie.
			ops = append(ops, createOp(fmt.Sprintf("e%02d", i), "c1", "n", base.Add(time.Duration(i/2)*time.Millisecond), 1, ""))
		}
		ops = append(ops, createOp("other", "c2", "n", base, 1, ""))
		apply(t, s, ops...)
		var got []string
		var cursor *ConversationCursor
		for {
			page, err := s.Conversation(context.Background(), "c1", cursor, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page {
				got = append(got, e.ID)
			}
			if len(page) < 10 {
				break
			}
			last := page[len(page)-1]
			cursor = &ConversationCursor{TimestampMs: last.Timestamp.UnixMilli(), ID: last.ID}
		}
		want := make([]string, 25)
		for i := range want {
			want[i] = fmt.Sprintf("e%02d", i)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged ids = %v", got)
		}
	})
}

func latencyRows(t *testing.T, s *Store, conv string) LatencyRow {
	t.Helper()
	rows, err := s.Latency(context.Background(), LatencyFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.ConversationID == conv {
			return r
		}
	}
	t.Fatalf("no latency row for %s in %+v", conv, rows)
	return LatencyRow{}
}

// TestAnalyticsMatchModel checks every aggregate against answers computed in
// Go from the same operations, with updates, deletes, late updates and
// several days.
func TestAnalyticsMatchModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		now := time.Now().UTC()
		model := map[string]*event.State{}
		var ops []event.Operation
		for i := range 300 {
			day := now.AddDate(0, 0, -(i % 9))
			errMsg := ""
			if i%4 == 0 {
				errMsg = "e"
			}
			name := []string{"event_a", "event_b"}[i%2]
			ops = append(ops, createOp(fmt.Sprintf("id%03d", i), fmt.Sprintf("conv%02d", i%13), name, day, float64(i%37), errMsg))
		}
		for i := 0; i < 300; i += 7 {
			ops = append(ops, updateOp(fmt.Sprintf("id%03d", i), withError("")))
		}
		for i := 1; i < 300; i += 5 {
			ops = append(ops, updateOp(fmt.Sprintf("id%03d", i), func(o *event.Operation) {
				o.Error, o.LatencyMs = "late", 500
				o.Set = o.Set.With(event.FieldError).With(event.FieldLatency)
			}))
		}
		for i := 2; i < 300; i += 11 {
			ops = append(ops, deleteOp(fmt.Sprintf("id%03d", i)))
		}
		for i := range ops {
			st := model[ops[i].ID]
			if st == nil {
				st = &event.State{ID: ops[i].ID}
				model[ops[i].ID] = st
			}
			st.Apply(&ops[i])
		}
		// Three batches, one of them replayed, to exercise merges across inserts.
		apply(t, s, ops[:200]...)
		apply(t, s, ops[200:]...)
		apply(t, s, ops[100:250]...)

		checkDerived(t, s, model, now)
	})
}

// checkDerived checks every read that derives from the analytics rows (errors
// per day, top error sessions, p95 latency, conversation pages) against the
// states of model.
func checkDerived(t *testing.T, s *Store, model map[string]*event.State, now time.Time) {
	t.Helper()
	// errors per day
	for _, name := range []string{"event_a", "event_b"} {
		got, err := s.ErrorCounts(context.Background(), name, 7, now)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		first := now.Truncate(24*time.Hour).AddDate(0, 0, -6)
		for _, st := range model {
			if st.Visible() && st.Name == name && st.Error != "" && !st.Timestamp.Before(first) {
				want[st.Timestamp.Format(time.DateOnly)]++
			}
		}
		if len(got) != 7 {
			t.Fatalf("%d days, want 7", len(got))
		}
		for _, d := range got {
			if d.Errors != want[d.Date] {
				t.Fatalf("%s %s: %d errors, want %d (all %+v)", name, d.Date, d.Errors, want[d.Date], got)
			}
		}
	}

	// top error sessions
	type agg struct{ errors, total int64 }
	sessions := map[string]*agg{}
	latencies := map[[2]string][]float64{}
	for _, st := range model {
		if !st.Visible() {
			continue
		}
		a := sessions[st.ConversationID]
		if a == nil {
			a = &agg{}
			sessions[st.ConversationID] = a
		}
		a.total++
		if st.Error != "" {
			a.errors++
		}
		k := [2]string{st.Name, st.ConversationID}
		latencies[k] = append(latencies[k], st.LatencyMs)
	}
	top, err := s.TopErrorSessions(context.Background(), 1, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	var withErrors int
	for _, a := range sessions {
		if a.errors > 0 {
			withErrors++
		}
	}
	if len(top) != withErrors {
		t.Fatalf("%d sessions, want %d", len(top), withErrors)
	}
	for i, r := range top {
		a := sessions[r.ConversationID]
		if a == nil || r.Errors != a.errors || r.Total != a.total {
			t.Fatalf("session %s: %+v, want %+v", r.ConversationID, r, a)
		}
		if i > 0 {
			prev := top[i-1]
			if float64(prev.Errors)/float64(prev.Total) < float64(r.Errors)/float64(r.Total) {
				t.Fatalf("not ranked by error rate: %+v before %+v", prev, r)
			}
		}
	}

	// p95 latency per (event name, conversation)
	rows, err := s.Latency(context.Background(), LatencyFilter{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(latencies) {
		t.Fatalf("%d latency rows, want %d", len(rows), len(latencies))
	}
	for _, r := range rows {
		vals := latencies[[2]string{r.EventName, r.ConversationID}]
		if uint64(len(vals)) != r.Count {
			t.Fatalf("%s/%s count %d, want %d", r.EventName, r.ConversationID, r.Count, len(vals))
		}
		if want := exactQuantile(vals, 0.95); math.Abs(r.P95-want) > 1e-9 {
			t.Fatalf("%s/%s p95 %v, want %v (values %v)", r.EventName, r.ConversationID, r.P95, want, vals)
		}
	}

	// conversation pages: every visible event, in order, nothing else
	byConv := map[string][]string{}
	for id, st := range model {
		if st.Visible() {
			byConv[st.ConversationID] = append(byConv[st.ConversationID], id)
		}
	}
	for conv, ids := range byConv {
		slices.SortFunc(ids, func(a, b string) int {
			return cmp.Or(model[a].Timestamp.Compare(model[b].Timestamp), cmp.Compare(a, b))
		})
		page, err := s.Conversation(context.Background(), conv, nil, 1000)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]string, len(page))
		for i, e := range page {
			got[i] = e.ID
		}
		if !slices.Equal(got, ids) {
			t.Fatalf("conversation %s: %v, want %v", conv, got, ids)
		}
	}
}

// exactQuantile follows ClickHouse's quantileExact(Weighted): the value at
// position floor(level * n) of the sorted values (0-based).
func exactQuantile(vals []float64, level float64) float64 {
	s := slices.Clone(vals)
	sort.Float64s(s)
	idx := int(level * float64(len(s)))
	if idx >= len(s) {
		idx = len(s) - 1
	}
	return s[idx]
}

func TestMigrationIsIdempotent(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			s := openStore(t, e)
			apply(t, s, createOp("e1", "c1", "n", base, 1, ""), createOp("e2", "c1", "n", base, 1, "boom"))
			if err := migrate(context.Background(), s.conn, s.dialect); err != nil {
				t.Fatalf("second migration: %v", err)
			}
			mustEvent(t, s, "e1")
			// error_days existed: no second backfill.
			if n := totalErrors(t, s, "n", base); n != 1 {
				t.Fatalf("%d errors after a second migration, want 1", n)
			}
		})
	}
}

func totalErrors(t *testing.T, s *Store, name string, now time.Time) int64 {
	t.Helper()
	counts, err := s.ErrorCounts(context.Background(), name, 30, now)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, c := range counts {
		n += c.Errors
	}
	return n
}

// TestErrorDaysBackfill: a database written before error_days existed gets
// its error counts computed from events when the store opens it.
func TestErrorDaysBackfill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		now := time.Now().UTC()
		var ops []event.Operation
		for i := range 40 {
			errMsg := ""
			if i%3 == 0 {
				errMsg = "e"
			}
			ops = append(ops, createOp(fmt.Sprintf("b%02d", i), "conv", "event_b", now.AddDate(0, 0, -(i%4)), 1, errMsg))
		}
		ops = append(ops, updateOp("b00", withError("")), updateOp("b01", withError("late")), deleteOp("b03"))
		apply(t, s, ops...)
		before, err := s.ErrorCounts(context.Background(), "event_b", 7, now)
		if err != nil {
			t.Fatal(err)
		}
		if n := totalErrors(t, s, "event_b", now); n != 13 { // 14 with an error, -b00 (cleared), +b01, -b03 (deleted)
			t.Fatalf("%d errors, want 13", n)
		}
		ctx := context.Background()
		for _, stmt := range []string{"DROP TABLE " + s.dialect.Database + ".event_changes_to_error_days", "DROP TABLE " + s.dialect.Database + ".error_days"} {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if err := migrate(ctx, s.conn, s.dialect); err != nil {
			t.Fatalf("migration: %v", err)
		}
		after, err := s.ErrorCounts(ctx, "event_b", 7, now)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before, after) {
			t.Fatalf("after backfill %+v, want %+v", after, before)
		}
		// The view is back: new operations count once.
		apply(t, s, updateOp("b02", withError("new")), deleteOp("b06"))
		if n := totalErrors(t, s, "event_b", now); n != 13 {
			t.Fatalf("%d errors after new operations, want 13 (+b02, -b06)", n)
		}
	})
}

// TestLatencyEdgeCases: zero latencies (stored negated as -inf when
// cancelled), a group cancelled entirely, and 0.95*n an integer.
func TestLatencyEdgeCases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		var ops []event.Operation
		add := func(id, conv string, latency float64) {
			ops = append(ops, createOp(id, conv, "n", base, latency, ""))
		}
		add("a1", "a", 0)
		add("a2", "a", 0)
		add("a3", "a", 1.5)
		add("a4", "a", 2.5)
		add("b1", "b", 5)
		for i := range 20 {
			add(fmt.Sprintf("c%02d", i), "c", float64(i+1))
		}
		apply(t, s, ops...)
		apply(t, s, updateOp("a1", withLatency(2)), deleteOp("a4"), deleteOp("b1"))
		rows, err := s.Latency(context.Background(), LatencyFilter{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]LatencyRow{}
		for _, r := range rows {
			got[r.ConversationID] = r
		}
		// a: {0, 1.5, 2} -> index floor(0.95*3) = 2 -> 2; b: nothing left;
		// c: 1..20 -> index floor(0.95*20) = 19 -> 20.
		if len(got) != 2 || got["a"].P95 != 2 || got["a"].Count != 3 || got["c"].P95 != 20 || got["c"].Count != 20 {
			t.Fatalf("latency rows = %+v", rows)
		}
	})
}

// TestMigrationFromStateViews: a database of the layout before event_changes
// (the exporter inserted into event_state, whose views wrote events and
// error_days; testdata/legacy) is migrated at open: the old views and the
// columns only they read are dropped, and every read afterwards answers what
// a database written in the new layout from the start answers.
func TestMigrationFromStateViews(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			s, ref := openStore(t, e), openStore(t, e)
			db := s.dialect.Database
			for _, table := range []string{"event_changes_to_events", "event_changes_to_error_days", "event_changes", "event_state"} {
				if err := s.conn.Exec(ctx, "DROP TABLE "+db+"."+table); err != nil {
					t.Fatal(err)
				}
			}
			// events of that layout had no LLM call columns either.
			dropGenerationColumns(t, s, "events", eventsGenerationColumns)
			for _, file := range []string{"create_event_state.sql", "create_state_to_events.sql", "create_state_to_error_days.sql"} {
				text, err := os.ReadFile("testdata/legacy/" + file)
				if err != nil {
					t.Fatal(err)
				}
				stmt, err := renderText(file, text, s.dialect)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.conn.Exec(ctx, stmt); err != nil {
					t.Fatalf("legacy %s: %v", file, err)
				}
			}
			// The old exporter inserted one row of every column it knew into
			// event_state, and read states without the columns that came later.
			current := s.conn
			s.conn = &legacyInsertConn{Conn: current, state: db + ".event_state", into: db + ".event_state"}
			s.changes = db + ".event_state"
			currentStates := s.queries.states
			s.queries.states = legacyStatesQuery(t, s)

			now := time.Now().UTC()
			var before, after []event.Operation
			for i := range 60 {
				errMsg := ""
				if i%3 == 0 {
					errMsg = "e"
				}
				before = append(before, createOp(fmt.Sprintf("m%02d", i), fmt.Sprintf("conv%d", i%4),
					[]string{"event_a", "event_b"}[i%2], now.AddDate(0, 0, -(i%5)), float64(i), errMsg))
			}
			before = append(before, updateOp("m00", withError("")), updateOp("m01", withLatency(900)), deleteOp("m02"))
			for i := 0; i < 60; i += 4 {
				after = append(after, updateOp(fmt.Sprintf("m%02d", i), withError("later")))
			}
			for i := 1; i < 60; i += 7 {
				after = append(after, deleteOp(fmt.Sprintf("m%02d", i)))
			}
			after = append(after, createOp("m99", "conv0", "event_a", now, 5, "e"), updateOp("m05", withLatency(0)))

			apply(t, s, before...)
			apply(t, ref, before...)
			if err := migrate(ctx, s.conn, s.dialect); err != nil {
				t.Fatalf("migration: %v", err)
			}
			s.conn, s.changes = current, db+".event_changes"
			s.queries.states = currentStates
			for _, view := range legacyViews {
				if exists, err := tableExists(ctx, s.conn, db, view); err != nil || exists {
					t.Fatalf("view %s still exists after the migration (err %v)", view, err)
				}
			}
			rows, err := s.conn.Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'event_state'", db)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var name string
				if err := rows.Scan(&name); err != nil {
					t.Fatal(err)
				}
				if slices.Contains(legacyStateColumns, name) {
					t.Errorf("event_state still has column %s", name)
				}
			}
			_ = rows.Close()
			apply(t, s, after...)
			apply(t, ref, after...)
			if n := apply(t, s, after...); n.Changed != 0 {
				t.Fatalf("replay after the migration changed %d ids", n.Changed)
			}

			checkMigratedReads(t, s, ref, []string{"event_a", "event_b"}, now)
		})
	}
}

// checkMigratedReads checks that every read of the migrated store s answers
// what ref, written in the current layout from the start, answers: the
// events m00..m99, errors per day of names, p95 latency, top error sessions
// and the pages of conv0..conv3. A state stored before the write count reads
// its stored changes as its version (TestMigrationCountsWrites): versions are
// left out of the comparison.
func checkMigratedReads(t *testing.T, s, ref *Store, names []string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	for i := range 100 {
		id := fmt.Sprintf("m%02d", i)
		got, gerr := s.Event(ctx, id)
		want, werr := ref.Event(ctx, id)
		if got != nil && want != nil {
			got.Version, want.Version = 0, 0
		}
		if !errors.Is(gerr, werr) && (gerr != nil || werr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("event %s: migrated %+v (%v), reference %+v (%v)", id, got, gerr, want, werr)
		}
	}
	same := func(what string, read func(s *Store) (any, error)) {
		t.Helper()
		got, err := read(s)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		want, err := read(ref)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: migrated %+v, reference %+v", what, got, want)
		}
	}
	for _, name := range names {
		same("errors of "+name, func(s *Store) (any, error) { return s.ErrorCounts(ctx, name, 30, now) })
	}
	same("latency", func(s *Store) (any, error) { return s.Latency(ctx, LatencyFilter{}, 100) })
	same("top error sessions", func(s *Store) (any, error) { return s.TopErrorSessions(ctx, 1, time.Time{}, 100) })
	for c := range 4 {
		conv := fmt.Sprintf("conv%d", c)
		same(conv, func(s *Store) (any, error) {
			page, err := s.Conversation(ctx, conv, nil, 100)
			for i := range page {
				page[i].Version = 0
			}
			return page, err
		})
	}
}

// legacyInsertConn turns the two inserts of Apply (the state columns into
// state, then the change columns) into the one insert of every column that
// an older exporter sent into into (event_state before event_changes existed,
// event_changes while a view of it wrote the states).
type legacyInsertConn struct {
	Conn
	state, into string
	pending     []Column
}

func (c *legacyInsertConn) Insert(ctx context.Context, table string, columns []Column) error {
	switch {
	case table == c.state && c.pending == nil:
		c.pending = slices.DeleteFunc(slices.Clone(columns), func(m Column) bool {
			// Not in the old layouts: the write count.
			return m.Name == "writes" || m.Name == "write_hashes"
		})
		return nil
	case table == c.into && c.pending != nil:
		merged := c.pending
		c.pending = nil
		for _, col := range columns {
			if !slices.ContainsFunc(merged, func(m Column) bool { return m.Name == col.Name }) {
				merged = append(merged, col)
			}
		}
		return c.Conn.Insert(ctx, table, merged)
	}
	return c.Conn.Insert(ctx, table, columns)
}

// TestMigrationDropsStateView: a database whose event_state was written by a
// view of event_changes (before the exporter inserted states itself) loses
// that view at open, so a state is written once per change.
func TestMigrationDropsStateView(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		db := s.dialect.Database
		text, err := os.ReadFile("testdata/legacy/create_changes_to_state.sql")
		if err != nil {
			t.Fatal(err)
		}
		stmt, err := renderText("create_changes_to_state.sql", text, s.dialect)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.conn.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, s.conn, s.dialect); err != nil {
			t.Fatal(err)
		}
		if exists, err := tableExists(ctx, s.conn, db, "event_changes_to_state"); err != nil || exists {
			t.Fatalf("event_changes_to_state exists after the migration (err %v)", err)
		}
		apply(t, s, createOp("v1", "c", "n", base, 1, ""), updateOp("v1", withError("x")))
		rows, err := s.conn.Query(ctx, "SELECT count() FROM "+db+".event_state WHERE id = 'v1'")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var n uint64
		for rows.Next() {
			if err := rows.Scan(&n); err != nil {
				t.Fatal(err)
			}
		}
		if n != 1 {
			t.Fatalf("%d state rows for one change, want 1", n)
		}
	})
}

// TestMigrationCountsWrites: an event_state without the write count gains
// it at open; an event stored before reads its stored changes as its
// version, and counts on from there.
func TestMigrationCountsWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		db := s.dialect.Database
		if err := s.conn.Exec(ctx, "ALTER TABLE "+db+".event_state DROP COLUMN writes, DROP COLUMN write_hashes"); err != nil {
			t.Fatal(err)
		}
		ts := base.UnixMilli()
		if err := s.conn.Exec(ctx, "INSERT INTO "+db+".event_state (id, revision, version, created, conversation_id, event_name, ts_ms) SELECT 'old', 3, 5, 1, 'c', 'n', toInt64(?)", ts); err != nil {
			t.Fatal(err)
		}
		if err := migrate(ctx, s.conn, s.dialect); err != nil {
			t.Fatal(err)
		}
		if e := mustEvent(t, s, "old"); e.Version != 3 {
			t.Fatalf("version %d after the migration, want 3", e.Version)
		}
		apply(t, s, updateOp("old", withError("x")))
		apply(t, s, updateOp("old", withError("x")))
		if e := mustEvent(t, s, "old"); e.Version != 4 || e.Error != "x" {
			t.Fatalf("after an update sent twice: version %d error %q, want 4 x", e.Version, e.Error)
		}
	})
}

// TestVersionCountsDistinctWrites: the version reads return is the number of
// distinct writes, the same whether the operations come in one batch or one
// by one, in order or not, once or again.
func TestVersionCountsDistinctWrites(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		create := createOp("w1", "c", "n", base, 1, "")
		repost := create
		repost.Version = clock.Next()
		update := updateOp("w1", withError("e"))
		updateAgain := update
		updateAgain.Version = clock.Next()
		ops := []event.Operation{update, create, repost, updateAgain}
		one := func(id string) []event.Operation {
			out := slices.Clone(ops)
			for i := range out {
				out[i].ID = id
			}
			return out
		}
		apply(t, s, one("w1")...)
		for _, op := range one("w2") {
			apply(t, s, op)
		}
		for _, op := range one("w3") {
			apply(t, s, op, op)
		}
		for _, id := range []string{"w1", "w2", "w3"} {
			if e := mustEvent(t, s, id); e.Version != 2 {
				t.Fatalf("%s: version %d, want 2 (one create and one update)", id, e.Version)
			}
		}
	})
}

// legacyStatesQuery is the state lookup of an exporter from before the LLM
// call columns (testdata/legacy/select_states.sql), for writing a database
// of an older layout.
func legacyStatesQuery(t *testing.T, s *Store) string {
	t.Helper()
	text, err := os.ReadFile("testdata/legacy/select_states.sql")
	if err != nil {
		t.Fatal(err)
	}
	q, err := renderText("select_states.sql", text, s.dialect)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

// dropGenerationColumns takes the LLM call columns out of a table, as it was
// before them.
func dropGenerationColumns(t *testing.T, s *Store, table string, columns []column) {
	t.Helper()
	drops := make([]string, len(columns))
	for i, c := range columns {
		drops[i] = "DROP COLUMN " + c.name
	}
	if err := s.conn.Exec(context.Background(), "ALTER TABLE "+s.dialect.Database+"."+table+" "+strings.Join(drops, ", ")); err != nil {
		t.Fatal(err)
	}
}
