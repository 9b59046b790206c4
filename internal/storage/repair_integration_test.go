package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// cutConn injects the faults that can cut an insert between its parts, at
// the seam between the store and the engine.
type cutConn struct {
	Conn
	// failChanges makes that many inserts into event_changes fail (the
	// states before them are written): a disk that fills up, an engine
	// killed between the two writes.
	failChanges atomic.Int32
	// doubleChanges writes the next inserts into event_changes twice: a
	// transition whose analytics rows landed twice (an old layout's retry).
	doubleChanges atomic.Int32
}

var errCut = errors.New("injected: no space left on device")

func (c *cutConn) Insert(ctx context.Context, table string, columns []Column) error {
	if strings.HasSuffix(table, ".event_changes") {
		if c.failChanges.Add(-1) >= 0 {
			return errCut
		}
		if c.doubleChanges.Add(-1) >= 0 {
			if err := c.Conn.Insert(ctx, table, columns); err != nil {
				return err
			}
		}
	}
	return c.Conn.Insert(ctx, table, columns)
}

// repairOps is a workload of creates (some with errors, over several days),
// updates of latency, error and name, and deletes.
func repairOps(now time.Time, prefix string) []event.Operation {
	var ops []event.Operation
	for i := range 120 {
		errMsg := ""
		if i%3 == 0 {
			errMsg = "e'\\" + fmt.Sprint(i)
		}
		ops = append(ops, createOp(fmt.Sprintf("%s%03d", prefix, i), fmt.Sprintf("conv%02d", i%7),
			[]string{"event_a", "event_b"}[i%2], now.AddDate(0, 0, -(i%5)), float64(i%17), errMsg))
	}
	for i := 0; i < 120; i += 4 {
		ops = append(ops, updateOp(fmt.Sprintf("%s%03d", prefix, i), withError("")))
	}
	for i := 1; i < 120; i += 5 {
		ops = append(ops, updateOp(fmt.Sprintf("%s%03d", prefix, i), func(o *event.Operation) {
			withError("late")(o)
			withLatency(900)(o)
		}))
	}
	for i := 2; i < 120; i += 6 {
		ops = append(ops, updateOp(fmt.Sprintf("%s%03d", prefix, i), func(o *event.Operation) {
			o.Name, o.Error = "event_b", "renamed"
			o.Set = o.Set.With(event.FieldName).With(event.FieldError)
		}))
	}
	for i := 5; i < 120; i += 9 {
		ops = append(ops, deleteOp(fmt.Sprintf("%s%03d", prefix, i)))
	}
	return ops
}

func modelOf(ops []event.Operation) map[string]*event.State {
	model := map[string]*event.State{}
	for i := range ops {
		st := model[ops[i].ID]
		if st == nil {
			st = &event.State{ID: ops[i].ID}
			model[ops[i].ID] = st
		}
		st.Apply(&ops[i])
	}
	return model
}

// TestDerivedDataHealsAfterCutInserts: after each fault that can cut an
// insert between its parts, the retry of the same operations (what the
// exporter's retry, the persistent queue after a restart and Kafka's
// redelivery all do) leaves every analytics read exactly as the states say.
func TestDerivedDataHealsAfterCutInserts(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Millisecond)
	ops := repairOps(now, "r")
	creates, changes := ops[:120], ops[120:]
	tests := []struct {
		name string
		run  func(t *testing.T, s *Store, c *cutConn)
	}{
		{"states written, analytics rows not, then retried", func(t *testing.T, s *Store, c *cutConn) {
			c.failChanges.Store(1)
			if _, err := s.Apply(context.Background(), creates); !errors.Is(err, errCut) {
				t.Fatalf("cut insert: %v", err)
			}
			res := apply(t, s, creates...)
			if res.Repaired != len(creates) {
				t.Fatalf("repaired %d ids, want %d", res.Repaired, len(creates))
			}
			c.failChanges.Store(1)
			if _, err := s.Apply(context.Background(), changes); !errors.Is(err, errCut) {
				t.Fatalf("cut insert: %v", err)
			}
			apply(t, s, changes...)
		}},
		{"later changes applied before the retry", func(t *testing.T, s *Store, c *cutConn) {
			c.failChanges.Store(1)
			if _, err := s.Apply(context.Background(), creates); !errors.Is(err, errCut) {
				t.Fatalf("cut insert: %v", err)
			}
			apply(t, s, changes...)
			apply(t, s, creates...)
		}},
		{"analytics rows written twice, then replayed", func(t *testing.T, s *Store, c *cutConn) {
			c.doubleChanges.Store(2)
			apply(t, s, creates...)
			apply(t, s, changes...)
			apply(t, s, ops...)
		}},
		{"error_days lost, then replayed", func(t *testing.T, s *Store, _ *cutConn) {
			apply(t, s, ops...)
			db := s.dialect.Database
			if err := s.conn.Exec(context.Background(), "INSERT INTO "+db+".error_days (name, day, errors) SELECT name, day, -sum(errors) FROM "+db+".error_days GROUP BY name, day"); err != nil {
				t.Fatal(err)
			}
			res := apply(t, s, ops...)
			if res.Changed != 0 || res.Repaired != 0 {
				t.Fatalf("replay: %+v (events were intact)", res)
			}
		}},
	}
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					s := openStore(t, e)
					c := &cutConn{Conn: s.conn}
					s.conn = c
					tt.run(t, s, c)
					checkDerived(t, s, modelOf(ops), now)
					// Merges keep what the rows say: a collapsing merge of an
					// id's rows keeps its last +1 row, which must be its state's.
					for _, table := range []string{"events", "error_days"} {
						if err := s.conn.Exec(context.Background(), "OPTIMIZE TABLE "+s.dialect.Database+"."+table+" FINAL"); err != nil {
							t.Fatal(err)
						}
					}
					checkDerived(t, s, modelOf(ops), now)
					for id, st := range modelOf(ops) {
						got, err := s.Event(context.Background(), id)
						switch {
						case st.Visible() && (err != nil || got.Event.Error != st.Error || got.LatencyMs != st.LatencyMs):
							t.Fatalf("%s: %+v, %v; want %+v", id, got, err, st.Event)
						case !st.Visible() && !errors.Is(err, ErrNotFound):
							t.Fatalf("%s: deleted, read %v", id, err)
						}
					}
				})
			}
		})
	}
}

// midInsertConn plays another writer whose insert is between its parts
// while a repair recounts: just before the recount's first read of error_days
// it writes that insert's row of events (an error of name on day), and just
// after that read its rows of error_days and event_days.
type midInsertConn struct {
	Conn
	database, name, day string
	reads               atomic.Int32
}

func (c *midInsertConn) QueryIDs(ctx context.Context, query string, ids []string) (Rows, error) {
	if !strings.Contains(query, "error_days") || !strings.Contains(query, "day_number") || c.reads.Add(1) != 1 {
		return c.Conn.QueryIDs(ctx, query, ids)
	}
	db := c.database
	if err := c.Conn.Exec(ctx, "INSERT INTO "+db+".events (id, conversation, name, event_time, event_time_ms, latency_ms, is_error, rev, sign)"+
		" SELECT 'other-writer', 'other', ?, toDateTime(?), ?, 1, 1, 1, 1", c.name, c.day+" 12:00:00", mustParseDay(c.day).Add(12*time.Hour).UnixMilli()); err != nil {
		return nil, err
	}
	rows, err := c.Conn.QueryIDs(ctx, query, ids)
	if err != nil {
		return nil, err
	}
	if err := c.Conn.Exec(ctx, "INSERT INTO "+db+".error_days (name, day, errors) SELECT ?, toDate(?), 1", c.name, c.day); err != nil {
		return nil, err
	}
	if err := c.Conn.Exec(ctx, "INSERT INTO "+db+".event_days (name, day, events, errors) SELECT ?, toDate(?), 1, 1", c.name, c.day); err != nil {
		return nil, err
	}
	return rows, nil
}

func mustParseDay(day string) time.Time {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return t
}

// TestRepairDoesNotCountAnotherWritersInsert: a repair recounts error_days
// while another writer (a second collector of the group) is between the
// parts of its insert; the recount must not add that insert's error a second
// time, nor lose it.
func TestRepairDoesNotCountAnotherWritersInsert(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		now := time.Now().UTC()
		ops := repairOps(now, "r")
		apply(t, s, ops...)
		model := modelOf(ops)
		today := now.Format(time.DateOnly)
		mid := &midInsertConn{Conn: s.conn, database: s.Database(), name: "event_a", day: today}
		s.conn = mid
		// A replay: every operation changes nothing, so the repair runs and
		// recounts the days of event_a and event_b.
		apply(t, s, ops...)
		if mid.reads.Load() == 0 {
			t.Fatal("the repair did not recount error_days")
		}
		s.conn = mid.Conn
		want := int64(1) // the other writer's error
		for _, st := range model {
			if st.Visible() && st.Name == "event_a" && st.Error != "" && st.Timestamp.Format(time.DateOnly) == today {
				want++
			}
		}
		counts, err := s.ErrorCounts(context.Background(), "event_a", 1, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(counts) != 1 || counts[0].Errors != want {
			t.Fatalf("errors of event_a today: %+v, want %d (the other writer's error counted once)", counts, want)
		}
	})
}
