package storage

import (
	"context"
	"fmt"
	"math"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func llmOp(id, conv, model string, ts time.Time, latency float64, in, out, cacheRead uint64, errMsg string) event.Operation {
	op := createOp(id, conv, "chat", ts, latency, errMsg)
	op.Generation = event.Generation{
		Model: model, Provider: "openai", Operation: "chat", InputTokens: in, OutputTokens: out,
		CacheReadTokens: cacheRead, FinishReason: "stop", TraceID: "0af7651916cd43dd8448eb211c80319c",
		SpanID: "b7ad6b7169203331",
	}
	return op
}

func withTokens(in, out uint64) func(*event.Operation) {
	return func(o *event.Operation) {
		o.InputTokens, o.OutputTokens = in, out
		o.Set = o.Set.With(event.FieldInputTokens).With(event.FieldOutputTokens)
	}
}

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-9*math.Abs(b) }

// TestGenerationFieldsAndCost: the LLM call fields are stored and read back,
// the cost follows the price table when the usage changes and only then.
func TestGenerationFieldsAndCost(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		s.SetPrices(event.NewPriceTable(event.DefaultPrices()))
		op := llmOp("g1", "c1", "gpt-4o-mini-2024-07-18", base, 800, 1000, 200, 400, "")
		op.TimeToFirstTokenMs, op.ReasoningTokens, op.CacheCreationTokens = 120.5, 50, 10
		if res := apply(t, s, op); res.Unpriced != 0 {
			t.Fatalf("unpriced = %d", res.Unpriced)
		}
		got := mustEvent(t, s, "g1")
		// gpt-4o-mini: 600 input at 0.15, 400 cached at 0.075, 200 output at 0.6 per million.
		wantCost := (600*0.15 + 400*0.075 + 200*0.6) / 1e6
		want := op.Generation
		want.Cost = wantCost
		if got.Generation.Cost != wantCost || !closeTo(got.Cost, wantCost) {
			t.Fatalf("cost = %v, want %v", got.Cost, wantCost)
		}
		if got.Generation != want {
			t.Fatalf("generation = %+v, want %+v", got.Generation, want)
		}

		// A change of the usage recomputes the cost with the table of now.
		s.SetPrices(event.NewPriceTable([]event.Price{{Model: "gpt-4o-mini", Input: 1, Output: 2}}))
		// The 10 input tokens are all within the 400 read from the cache
		// (no cache_read price here: 0).
		apply(t, s, updateOp("g1", withTokens(10, 20)))
		if got := mustEvent(t, s, "g1"); got.Cost != 20*2/1e6 {
			t.Fatalf("cost after the token update = %v", got.Cost)
		}
		// Another field's update keeps it, whatever the table says now.
		s.SetPrices(event.NewPriceTable(nil))
		apply(t, s, updateOp("g1", withError("late")))
		if got := mustEvent(t, s, "g1"); got.Cost != 20*2/1e6 || got.Error != "late" {
			t.Fatalf("after an error update: cost %v error %q", got.Cost, got.Error)
		}

		// An unknown model: stored without a cost, counted.
		if res := apply(t, s, llmOp("g2", "c1", "mystery-1", base, 5, 10, 10, 0, "")); res.Unpriced != 1 {
			t.Fatalf("unpriced = %d, want 1", res.Unpriced)
		}
		if got := mustEvent(t, s, "g2"); got.Cost != 0 || got.Model != "mystery-1" {
			t.Fatalf("unknown model: %+v", got.Generation)
		}
		// An event without a model or tokens is no LLM call: not counted.
		if res := apply(t, s, createOp("plain", "c1", "n", base, 1, "")); res.Unpriced != 0 {
			t.Fatalf("unpriced = %d for a plain event", res.Unpriced)
		}
	})
}

// TestMigrationAddsGenerationColumns: a database of the layout before the
// LLM call columns (testdata/legacy/generation) gets them at open, on both
// engines: its tables end with the columns of a new database, its rows read
// the defaults, and every read afterwards answers what a database written in
// the new layout from the start answers.
func TestMigrationAddsGenerationColumns(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			s, ref := openStore(t, e), openStore(t, e)
			db := s.dialect.Database
			for _, table := range append(append([]string{}, changesViews...), "event_changes", "event_state", "events") {
				if err := s.conn.Exec(ctx, "DROP TABLE "+db+"."+table); err != nil {
					t.Fatal(err)
				}
			}
			for _, file := range []string{"create_events.sql", "create_event_state.sql", "create_event_changes.sql",
				"create_changes_to_state.sql", "create_changes_to_events.sql"} {
				text, err := os.ReadFile("testdata/legacy/generation/" + file)
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
			stmt, err := render("create_changes_to_error_days.sql", s.dialect)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.conn.Exec(ctx, stmt); err != nil {
				t.Fatal(err)
			}
			current := s.queries.states
			s.queries.states = legacyStatesQuery(t, s)
			// That exporter inserted everything into event_changes.
			currentConn := s.conn
			s.conn = &legacyInsertConn{Conn: currentConn, state: db + ".event_state", into: db + ".event_changes"}

			now := time.Now().UTC()
			var before, after []event.Operation
			for i := range 40 {
				errMsg := ""
				if i%3 == 0 {
					errMsg = "e"
				}
				before = append(before, createOp(fmt.Sprintf("m%02d", i), fmt.Sprintf("conv%d", i%4),
					"chat", now.AddDate(0, 0, -(i%5)), float64(i), errMsg))
			}
			before = append(before, updateOp("m00", withError("")), deleteOp("m02"))
			for i := 0; i < 40; i += 3 {
				after = append(after, updateOp(fmt.Sprintf("m%02d", i), func(o *event.Operation) {
					o.Model, o.InputTokens, o.OutputTokens = "gpt-4o", 100, 10
					o.Set = o.Set.With(event.FieldModel).With(event.FieldInputTokens).With(event.FieldOutputTokens)
				}))
			}
			after = append(after, deleteOp("m05"), llmOp("m99", "conv1", "gpt-4o-mini", now, 300, 50, 5, 0, ""))

			apply(t, s, before...)
			apply(t, ref, before...)
			if err := migrate(ctx, s.conn, s.dialect); err != nil {
				t.Fatalf("migration: %v", err)
			}
			if err := migrate(ctx, s.conn, s.dialect); err != nil {
				t.Fatalf("second migration: %v", err)
			}
			s.queries.states, s.conn = current, currentConn
			for _, table := range []string{"events", "event_state", "event_changes"} {
				got, err := tableColumns(ctx, s.conn, db, table)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tableColumns(ctx, ref.conn, ref.dialect.Database, table)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s columns after the migration:\n got %v\nwant %v", table, got, want)
				}
			}
			prices := event.NewPriceTable(event.DefaultPrices())
			s.SetPrices(prices)
			ref.SetPrices(prices)
			apply(t, s, after...)
			apply(t, ref, after...)
			if n := apply(t, s, after...); n.Changed != 0 {
				t.Fatalf("replay after the migration changed %d ids", n.Changed)
			}
			if got := mustEvent(t, s, "m03"); got.Model != "gpt-4o" || got.Cost != (100*2.5+10*10)/1e6 {
				t.Fatalf("m03 after the migration: %+v", got.Generation)
			}
			checkMigratedReads(t, s, ref, []string{"chat"}, now)
		})
	}
}

// TestModelAnalyticsMatchModel: usage per model and day, latency and errors
// per model, and conversations by cost equal those of a Go model of the
// same operations (creates, model and token updates, latency and error
// updates, deletes, a replayed batch), on both engines.
func TestModelAnalyticsMatchModel(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		prices := event.NewPriceTable(event.DefaultPrices())
		s.SetPrices(prices)
		now := time.Now().UTC()
		models := []string{"gpt-4o-mini-2024-07-18", "gpt-4o", "claude-sonnet-4-20250514", "unpriced-model"}
		states := map[string]*event.State{}
		var ops []event.Operation
		for i := range 400 {
			ts := now.AddDate(0, 0, -(i % 6))
			errMsg := ""
			if i%5 == 0 {
				errMsg = "500"
			}
			id := fmt.Sprintf("llm%03d", i)
			if i%9 == 0 {
				// Not an LLM call: no model, no tokens.
				ops = append(ops, createOp(id, fmt.Sprintf("conv%02d", i%17), "retrieve", ts, float64(i%23), errMsg))
				continue
			}
			ops = append(ops, llmOp(id, fmt.Sprintf("conv%02d", i%17), models[i%len(models)], ts, float64(i%41)*10,
				uint64(100+i), uint64(i%50), uint64(i%3*10), errMsg))
		}
		for i := 1; i < 400; i += 7 {
			ops = append(ops, updateOp(fmt.Sprintf("llm%03d", i), withTokens(uint64(1000+i), 5)))
		}
		for i := 2; i < 400; i += 13 {
			ops = append(ops, updateOp(fmt.Sprintf("llm%03d", i), func(o *event.Operation) {
				o.Model, o.LatencyMs, o.Error = "gpt-4o", 0, "timeout"
				o.Set = o.Set.With(event.FieldModel).With(event.FieldLatency).With(event.FieldError)
			}))
		}
		for i := 3; i < 400; i += 11 {
			ops = append(ops, deleteOp(fmt.Sprintf("llm%03d", i)))
		}
		for i := range ops {
			st := states[ops[i].ID]
			if st == nil {
				st = &event.State{ID: ops[i].ID}
				states[ops[i].ID] = st
			}
			st.Apply(&ops[i])
		}
		apply(t, s, ops[:250]...)
		apply(t, s, ops[250:]...)
		apply(t, s, ops[120:300]...)

		nano := func(st *event.State) int64 {
			cost, _ := prices.Cost(&st.Generation)
			return int64(math.RoundToEven(cost * nanoDollars))
		}
		type usageKey struct{ model, date string }
		wantUsage := map[usageKey]*Usage{}
		wantCostNano := map[usageKey]int64{}
		type latencyAgg struct {
			latencies []float64
			errors    int64
		}
		wantLatency := map[string]*latencyAgg{}
		type convAgg struct {
			costNano, calls, in, out int64
		}
		wantConv := map[string]*convAgg{}
		since := now.Truncate(24*time.Hour).AddDate(0, 0, -3)
		for _, st := range states {
			if !st.Visible() {
				continue
			}
			c := wantConv[st.ConversationID]
			if c == nil {
				c = &convAgg{}
				wantConv[st.ConversationID] = c
			}
			c.costNano += nano(st)
			c.in += int64(st.InputTokens)
			c.out += int64(st.OutputTokens)
			if st.Model == "" {
				continue
			}
			c.calls++
			l := wantLatency[st.Model]
			if l == nil {
				l = &latencyAgg{}
				wantLatency[st.Model] = l
			}
			l.latencies = append(l.latencies, st.LatencyMs)
			if st.Error != "" {
				l.errors++
			}
			if st.Timestamp.Before(since) {
				continue
			}
			k := usageKey{st.Model, st.Timestamp.Format(time.DateOnly)}
			u := wantUsage[k]
			if u == nil {
				u = &Usage{Model: st.Model, Date: k.date}
				wantUsage[k] = u
			}
			u.Calls++
			u.InputTokens += int64(st.InputTokens)
			u.OutputTokens += int64(st.OutputTokens)
			u.CacheReadTokens += int64(st.CacheReadTokens)
			u.CacheCreationTokens += int64(st.CacheCreationTokens)
			u.ReasoningTokens += int64(st.ReasoningTokens)
			wantCostNano[k] += nano(st)
		}

		usage, err := s.ModelUsage(ctx, "", since)
		if err != nil {
			t.Fatal(err)
		}
		if len(usage) != len(wantUsage) {
			t.Fatalf("%d usage rows, want %d: %+v", len(usage), len(wantUsage), usage)
		}
		for i, u := range usage {
			k := usageKey{u.Model, u.Date}
			want := *wantUsage[k]
			want.Cost = float64(wantCostNano[k]) / nanoDollars
			if u != want {
				t.Fatalf("usage %v: %+v, want %+v", k, u, want)
			}
			if i > 0 && (usage[i-1].Date > u.Date || usage[i-1].Date == u.Date && usage[i-1].Model >= u.Model) {
				t.Fatalf("usage not ordered by day then model: %+v before %+v", usage[i-1], u)
			}
		}
		one, err := s.ModelUsage(ctx, "gpt-4o", since)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range one {
			if u.Model != "gpt-4o" {
				t.Fatalf("model filter let %+v through", u)
			}
		}
		if len(one) == 0 {
			t.Fatal("no usage for gpt-4o")
		}

		latency, err := s.ModelLatency(ctx, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(latency) != len(wantLatency) {
			t.Fatalf("%d latency rows, want %d", len(latency), len(wantLatency))
		}
		for _, r := range latency {
			want := wantLatency[r.Model]
			if r.Calls != uint64(len(want.latencies)) || r.Errors != want.errors ||
				r.P50 != exactQuantile(want.latencies, 0.5) || r.P95 != exactQuantile(want.latencies, 0.95) {
				t.Fatalf("latency of %s: %+v, want %d calls, %d errors, p50 %v, p95 %v", r.Model, r,
					len(want.latencies), want.errors, exactQuantile(want.latencies, 0.5), exactQuantile(want.latencies, 0.95))
			}
		}

		// A window: only the calls of the last two days.
		recent, err := s.ModelLatency(ctx, since.AddDate(0, 0, 2), 100)
		if err != nil {
			t.Fatal(err)
		}
		var recentCalls, allCalls uint64
		for _, r := range recent {
			recentCalls += r.Calls
		}
		for _, r := range latency {
			allCalls += r.Calls
		}
		if recentCalls == 0 || recentCalls >= allCalls {
			t.Fatalf("%d calls in the last two days of %d", recentCalls, allCalls)
		}

		top, err := s.TopCostConversations(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		withCost := 0
		for _, c := range wantConv {
			if c.costNano > 0 {
				withCost++
			}
		}
		if len(top) != withCost {
			t.Fatalf("%d conversations, want %d", len(top), withCost)
		}
		for i, r := range top {
			c := wantConv[r.ConversationID]
			if r.Cost != float64(c.costNano)/nanoDollars || r.Calls != c.calls || r.InputTokens != c.in || r.OutputTokens != c.out {
				t.Fatalf("conversation %s: %+v, want %+v", r.ConversationID, r, c)
			}
			if i > 0 && top[i-1].Cost < r.Cost {
				t.Fatalf("not ranked by cost: %+v before %+v", top[i-1], r)
			}
		}
	})
}

// TestMigrationHealsAHalfMigratedDatabase: a view of the insert path left
// from before the LLM call columns beside a new event_changes (a migration
// that stopped half way, or an older collector that recreated it) is
// recreated at open, on both engines.
func TestMigrationHealsAHalfMigratedDatabase(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			ctx := context.Background()
			s := openStore(t, e)
			db := s.dialect.Database
			text, err := os.ReadFile("testdata/legacy/generation/create_changes_to_state.sql")
			if err != nil {
				t.Fatal(err)
			}
			stmt, err := renderText("create_changes_to_state.sql", text, s.dialect)
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"DROP TABLE IF EXISTS " + db + ".event_changes_to_state", stmt} {
				if err := s.conn.Exec(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			if err := migrate(ctx, s.conn, s.dialect); err != nil {
				t.Fatalf("migration: %v", err)
			}
			s.SetPrices(event.NewPriceTable(event.DefaultPrices()))
			apply(t, s, llmOp("h1", "c", "gpt-4o", base, 10, 100, 10, 0, ""))
			if got := mustEvent(t, s, "h1"); got.Model != "gpt-4o" || got.SpanID == "" {
				t.Fatalf("after healing: %+v", got.Generation)
			}
		})
	}
}
