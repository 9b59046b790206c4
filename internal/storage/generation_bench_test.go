package storage

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkModelAnalyticsReadPath times the three model analytics over the
// versioned analytics rows (every update a -1 and a +1 row, every delete a
// -1 row, unmerged) against the same statements over an append-only copy
// of the final state, on the embedded engine, and reports the ratio of
// their medians (the read-path target: at most 1.5). GENAI_BENCH_CANDIDATE
// names a statement file to time beside them (the parameters of
// sql/select_model_latency.sql); GENAI_BENCH_UNBOUNDED=1 reads without the
// query API's memory bound. The rows are generated
// in SQL from numbers(), written straight into the events table:
//
//   - GENAI_BENCH_EVENTS creates (default 2 000 000), one conversation per
//     10 on average, over the last 30 days;
//   - 6 models, skewed (the most frequent has about half the calls);
//   - latency log-normal (median ~400 ms), 5% errors, token counts and a
//     cost derived from the model;
//   - 10% updated (new latency, output tokens and cost), 5% deleted.
//
// Run: CHDB_LIB=... go test -run '^$' -bench ModelAnalyticsReadPath -benchtime 1x ./internal/storage
func BenchmarkModelAnalyticsReadPath(b *testing.B) {
	events := uint64(2_000_000)
	if v := os.Getenv("GENAI_BENCH_EVENTS"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			b.Fatalf("GENAI_BENCH_EVENTS=%q: %v", v, err)
		}
		events = n
	}
	ctx := context.Background()
	s := openBenchStore(b, engines[1])
	db := s.dialect.Database
	now := time.Now().UTC()
	startMs := now.Add(-30 * 24 * time.Hour).UnixMilli()

	// One row per event state: its fields at the create (k=0) and after the
	// update (k=1); deleted events keep their last state.
	base := fmt.Sprintf(`
SELECT number AS n,
       UUIDNumToString(sipHash128('e', n)) AS id,
       UUIDNumToString(sipHash128('c', sipHash64('conv', n) %% %[2]d)) AS conv,
       toInt64(%[3]d + sipHash64('t', n) %% (30 * 86400000 - 3600000)) AS ts_ms,
       ['gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o-mini', 'gpt-4o', 'gpt-4o', 'claude-sonnet-4', 'gpt-4.1', 'o3-mini', 'gpt-4.1-nano', 'claude-3-5-haiku'][1 + sipHash64('m', n) %% 10] AS model,
       ((sipHash64('l1', n) %% 1000000) + 0.5) / 1e6 AS u1,
       ((sipHash64('l2', n) %% 1000000) + 0.5) / 1e6 AS u2,
       round(least(30000, greatest(1, exp(6 + sqrt(-2 * log(u1)) * cos(2 * pi() * u2)))), 1) AS lat0,
       round(lat0 * 1.3, 1) AS lat1,
       toUInt8(sipHash64('err', n) %% 100 < 5) AS err,
       toUInt64(50 + sipHash64('in', n) %% 4000) AS tin,
       toUInt64(5 + sipHash64('out', n) %% 800) AS tout0,
       tout0 + 100 AS tout1,
       toUInt64(sipHash64('cr', n) %% 3 * 100) AS tcr,
       (tin * 2.5 + tout0 * 10) / 1e6 AS cost0,
       (tin * 2.5 + tout1 * 10) / 1e6 AS cost1,
       toUInt8(sipHash64('u', n) %% 100 < 10) AS upd,
       toUInt8(sipHash64('d', n) %% 100 < 5) AS del
FROM numbers(%[1]d)`, events, max(events/10, 1), startMs)
	row := func(lat, tout, cost, rev, sign string) string {
		return fmt.Sprintf(`id, conv, 'chat', %s, ts_ms, %s, err, %s, %s, model, tin, %s, tcr, 0, 0, %s`,
			s.dialect.msToTime("ts_ms"), lat, rev, sign, tout, cost)
	}
	const cols = "id, conversation, name, event_time, event_time_ms, latency_ms, is_error, rev, sign, " +
		"gen_model, gen_input_tokens, gen_output_tokens, gen_cache_read_tokens, gen_cache_creation_tokens, gen_reasoning_tokens, gen_cost"
	began := time.Now()
	for _, stmt := range []string{
		// The versioned rows, in three inserts (three parts, unmerged).
		"INSERT INTO " + db + ".events (" + cols + ") SELECT " + row("lat0", "tout0", "cost0", "1", "1") + " FROM (" + base + ")",
		"INSERT INTO " + db + ".events (" + cols + ") SELECT " + row("lat0", "tout0", "cost0", "1", "-1") + " FROM (" + base + ") WHERE upd = 1 " +
			"UNION ALL SELECT " + row("lat1", "tout1", "cost1", "2", "1") + " FROM (" + base + ") WHERE upd = 1",
		"INSERT INTO " + db + ".events (" + cols + ") SELECT " + row("if(upd = 1, lat1, lat0)", "if(upd = 1, tout1, tout0)", "if(upd = 1, cost1, cost0)", "3", "-1") +
			" FROM (" + base + ") WHERE del = 1",
		// The append-only copy: the final state of every event left.
		"CREATE TABLE " + db + ".events_append AS " + db + ".events ENGINE = MergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (conversation, event_time, id)",
		"INSERT INTO " + db + ".events_append (" + cols + ") SELECT " + row("if(upd = 1, lat1, lat0)", "if(upd = 1, tout1, tout0)", "if(upd = 1, cost1, cost0)", "1", "1") +
			" FROM (" + base + ") WHERE del = 0",
	} {
		if err := s.conn.Exec(ctx, stmt); err != nil {
			b.Fatalf("generate: %v\n%s", err, stmt)
		}
	}
	b.Logf("generated %d events in %s", events, time.Since(began).Round(time.Second))

	since := now.Truncate(24*time.Hour).AddDate(0, 0, -29).Unix()
	reads := []struct {
		name  string
		query string
		args  []any
	}{
		{"models/usage days=30", s.queries.modelUsage, []any{"", "", since}},
		{"models/latency", s.queries.modelLatency, []any{0, 0, 100}},
		{"conversations/top-cost", s.queries.topCostConversations, []any{10}},
	}
	// A candidate statement to time beside the shipped ones (a file of the
	// same parameters as one of them, rendered like sql/*.sql).
	if file := os.Getenv("GENAI_BENCH_CANDIDATE"); file != "" {
		text, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		q, err := renderText(file, text, s.dialect)
		if err != nil {
			b.Fatal(err)
		}
		reads = append(reads, struct {
			name  string
			query string
			args  []any
		}{"candidate " + file, q, []any{0, 0, 100}})
	}
	const runs = 7
	b.ResetTimer()
	for range b.N {
		for _, r := range reads {
			appendOnly := strings.ReplaceAll(r.query, db+".events", db+".events_append")
			versioned, plain := timeReads(b, s, r.query, appendOnly, r.args, runs)
			ratio := float64(versioned) / float64(plain)
			b.Logf("%-24s versioned p50 %8s  append-only p50 %8s  ratio %.2f", r.name, versioned.Round(time.Millisecond),
				plain.Round(time.Millisecond), ratio)
			b.ReportMetric(ratio, strings.NewReplacer("/", "_", " ", "_", "=", "").Replace(r.name)+"_ratio")
		}
	}
}

// timeReads returns the median durations of runs reads of query a and of
// query b (after one warm-up of each), their rows read to the end, under the
// query API's memory bound. The two alternate, so that a change of the
// machine's load during the runs weighs on both.
func timeReads(b *testing.B, s *Store, qa, qb string, args []any, runs int) (time.Duration, time.Duration) {
	b.Helper()
	ctx := context.Background()
	if os.Getenv("GENAI_BENCH_UNBOUNDED") == "" {
		ctx = WithQueryMaxMemory(ctx, 2<<30)
	}
	read := func(query string) time.Duration {
		start := time.Now()
		rows, err := s.read(ctx, query, args...)
		if err != nil {
			b.Fatalf("read: %v", err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil || n == 0 {
			b.Fatalf("read: %d rows, %v", n, err)
		}
		return time.Since(start)
	}
	var ta, tb []time.Duration
	for i := range runs + 1 {
		da, db := read(qa), read(qb)
		if i > 0 {
			ta, tb = append(ta, da), append(tb, db)
		}
	}
	slices.Sort(ta)
	slices.Sort(tb)
	return ta[len(ta)/2], tb[len(tb)/2]
}
