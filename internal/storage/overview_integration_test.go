package storage

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// TestOverviewMatchesModel: events and errors per day, the per-name summary
// (p95 included) and the freshness equal what a model of the operations
// says, with updates, deletes and a replayed batch.
func TestOverviewMatchesModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		model := map[string]*event.State{}
		var ops []event.Operation
		for i := range 240 {
			errMsg := ""
			if i%3 == 0 {
				errMsg = "boom"
			}
			name := []string{"chat", "search", `<img src=x onerror=alert(1)>`}[i%3]
			ops = append(ops, createOp(fmt.Sprintf("ov%03d", i), fmt.Sprintf("c%d", i%7), name,
				now.AddDate(0, 0, -(i%10)), float64(i%41)+0.5, errMsg))
		}
		for i := 0; i < 240; i += 5 {
			ops = append(ops, updateOp(fmt.Sprintf("ov%03d", i), withLatency(1000+float64(i))))
		}
		for i := 1; i < 240; i += 9 {
			ops = append(ops, deleteOp(fmt.Sprintf("ov%03d", i)))
		}
		var newest uint64
		for i := range ops {
			st := model[ops[i].ID]
			if st == nil {
				st = &event.State{ID: ops[i].ID}
				model[ops[i].ID] = st
			}
			st.Apply(&ops[i])
			newest = max(newest, ops[i].Version)
		}
		apply(t, s, ops[:150]...)
		apply(t, s, ops[150:]...)
		apply(t, s, ops[60:200]...)

		const days = 7
		first := now.Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
		for _, filter := range []string{"", "chat"} {
			got, err := s.EventDays(ctx, filter, days, now)
			if err != nil {
				t.Fatal(err)
			}
			type counts struct{ events, errors int64 }
			want := map[string]counts{}
			for _, st := range model {
				if st.Visible() && (filter == "" || st.Name == filter) && !st.Timestamp.Before(first) {
					c := want[st.Timestamp.Format(time.DateOnly)]
					c.events++
					if st.Error != "" {
						c.errors++
					}
					want[st.Timestamp.Format(time.DateOnly)] = c
				}
			}
			if len(got) != days {
				t.Fatalf("%d days, want %d", len(got), days)
			}
			for _, d := range got {
				if w := want[d.Date]; d.Events != w.events || d.Errors != w.errors {
					t.Fatalf("filter %q day %s: %+v, want %+v", filter, d.Date, d, w)
				}
			}
		}

		names, err := s.EventNames(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		latencies := map[string][]float64{}
		errs := map[string]int64{}
		for _, st := range model {
			if st.Visible() && !st.Timestamp.Before(first) {
				latencies[st.Name] = append(latencies[st.Name], st.LatencyMs)
				if st.Error != "" {
					errs[st.Name]++
				}
			}
		}
		if len(names) != len(latencies) {
			t.Fatalf("%d names, want %d: %+v", len(names), len(latencies), names)
		}
		for i, n := range names {
			vals := latencies[n.EventName]
			if n.Events != int64(len(vals)) || n.Errors != errs[n.EventName] {
				t.Fatalf("%q: %d events %d errors, want %d and %d", n.EventName, n.Events, n.Errors, len(vals), errs[n.EventName])
			}
			if want := exactQuantile(vals, 0.95); math.Abs(n.P95-want) > 1e-9 {
				t.Fatalf("%q: p95 %v, want %v", n.EventName, n.P95, want)
			}
			if i > 0 && names[i-1].Events < n.Events {
				t.Fatalf("not ordered by events: %+v", names)
			}
		}

		// Top error sessions over the window and over all time.
		for _, since := range []time.Time{{}, first} {
			top, err := s.TopErrorSessions(ctx, 1, since, 100)
			if err != nil {
				t.Fatal(err)
			}
			type agg struct{ errors, total int64 }
			want := map[string]*agg{}
			for _, st := range model {
				if !st.Visible() || st.Timestamp.Before(since) {
					continue
				}
				a := want[st.ConversationID]
				if a == nil {
					a = &agg{}
					want[st.ConversationID] = a
				}
				a.total++
				if st.Error != "" {
					a.errors++
				}
			}
			withErrors := 0
			for _, a := range want {
				if a.errors > 0 {
					withErrors++
				}
			}
			if len(top) != withErrors {
				t.Fatalf("since %s: %d sessions, want %d", since, len(top), withErrors)
			}
			for _, r := range top {
				if a := want[r.ConversationID]; a == nil || a.errors != r.Errors || a.total != r.Total {
					t.Fatalf("since %s: %+v, want %+v", since, r, a)
				}
			}
		}

		f, err := s.Freshness(ctx, time.Unix(0, int64(newest)))
		if err != nil {
			t.Fatal(err)
		}
		// Only the newest operation's state was accepted at newest.
		if f.NewestVersion != newest || f.StoredSince != 1 {
			t.Fatalf("freshness %+v, want newest %d and 1 state since it", f, newest)
		}
	})
}

// TestEventDaysBackfill: a database written before event_days gets its rows
// from events once, and the view counts what comes after exactly once.
func TestEventDaysBackfill(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		var ops []event.Operation
		for i := range 30 {
			errMsg := ""
			if i%4 == 0 {
				errMsg = "e"
			}
			ops = append(ops, createOp(fmt.Sprintf("d%02d", i), "conv", []string{"a", "b"}[i%2], now.AddDate(0, 0, -(i%3)), 1, errMsg))
		}
		ops = append(ops, updateOp("d00", withError("")), updateOp("d01", withError("late")), deleteOp("d02"))
		apply(t, s, ops...)
		before, err := s.EventDays(ctx, "", 7, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, stmt := range []string{"DROP TABLE " + s.dialect.Database + ".event_changes_to_event_days", "DROP TABLE " + s.dialect.Database + ".event_days"} {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
		}
		if err := migrate(ctx, s.conn, s.dialect); err != nil {
			t.Fatalf("migration: %v", err)
		}
		after, err := s.EventDays(ctx, "", 7, now)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(before, after) {
			t.Fatalf("after backfill %+v, want %+v", after, before)
		}
		var total, errs int64
		for _, d := range after {
			total, errs = total+d.Events, errs+d.Errors
		}
		// 30 created, d02 deleted; errors: d00..d28 step 4 (8), -d00, +d01
		if total != 29 || errs != 8 {
			t.Fatalf("%d events %d errors, want 29 and 8", total, errs)
		}
		// The view is back: new operations count once.
		apply(t, s, deleteOp("d03"), updateOp("d05", withError("x")))
		again, err := s.EventDays(ctx, "", 7, now)
		if err != nil {
			t.Fatal(err)
		}
		total, errs = 0, 0
		for _, d := range again {
			total, errs = total+d.Events, errs+d.Errors
		}
		if total != 28 || errs != 9 {
			t.Fatalf("%d events %d errors after new operations, want 28 and 9", total, errs)
		}
	})
}
