package readbench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/chdb"
	"github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// BenchmarkReadPath generates the dataset (see dataset_test.go) in the
// embedded engine, checks that every read of the store returns what the
// same read over the append-only copy returns, then times each read path
// through the real Store method against its baseline, next to the
// candidate changes of candidates_test.go, and prints a table of p50/p95
// and ratios. The whole report is one benchmark iteration; run it with
// -benchtime 1x. BENCHMARKS.md ("Read path") has the figures.
//
// Environment:
//
//	CHDB_LIB          libchdb.so (default <module root>/.cache/chdb/libchdb.so)
//	READBENCH_EVENTS  creates (default 10000000)
//	READBENCH_SHAPE   uniform (default) or skewed: how the events spread
//	                  over conversations (dataset_test.go)
//	READBENCH_RUNS    timed runs per read, after 2 warm-up runs (default 20)
//	READBENCH_DIR     keep the engine's data here and reuse it on the next
//	                  run with the same READBENCH_EVENTS (default: a
//	                  temporary directory, removed at the end)
//	READBENCH_REPORT  also write the report to this file
//	READBENCH_TABLE_CANDIDATES=1  also build and time the candidate tables
//	                  of candidates_test.go
//	READBENCH_ONLY    time only the reads whose name matches this regular
//	                  expression (e.g. "overview|freshness|top error")
func BenchmarkReadPath(b *testing.B) {
	for range b.N {
		if b.N > 1 {
			b.Fatal("run with -benchtime 1x: one iteration is the whole report")
		}
		runReport(b)
	}
}

const (
	// queryMaxMemory is eventsqueryextension's default query_max_memory.
	queryMaxMemory = 2 << 30

	database = "readbench"
	warmups  = 2
	day      = 24 * time.Hour
)

func envUint(b *testing.B, name string, def uint64) uint64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, 64)
	if err != nil || v == 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// bench holds what the report needs.
type bench struct {
	b     *testing.B
	ctx   context.Context
	conn  *chdb.Conn
	store *storage.Store
	d     dataset
	now   time.Time
	runs  int
	out   io.Writer
	// tableCandidates: build and time the candidate tables.
	tableCandidates bool
}

func (r *bench) logf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

// query runs sql on the raw connection and decodes the rows as the store
// does (JSONCompactEachRow, one JSON array per line).
func (r *bench) query(sql string) ([][]json.RawMessage, error) {
	out, err := r.conn.Query(r.ctx, sql, "JSONCompactEachRow")
	if err != nil {
		return nil, fmt.Errorf("%w\nin: %s", err, sql)
	}
	var rows [][]json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), len(out)+1)
	for sc.Scan() {
		var row []json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, sc.Err()
}

func (r *bench) mustQuery(sql string) [][]json.RawMessage {
	rows, err := r.query(sql)
	if err != nil {
		r.b.Fatal(err)
	}
	return rows
}

func str(v json.RawMessage) string {
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return strings.Trim(string(v), `"`)
	}
	return s
}

func num(v json.RawMessage) float64 {
	f, err := strconv.ParseFloat(strings.Trim(string(v), `"`), 64)
	if err != nil {
		panic(fmt.Sprintf("not a number: %s", v))
	}
	return f
}

func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

func runReport(b *testing.B) {
	began := time.Now()
	ctx := context.Background()
	lib := chdbtest.Library(b)
	events := envUint(b, "READBENCH_EVENTS", 10_000_000)
	runs := int(envUint(b, "READBENCH_RUNS", 20))
	dir := os.Getenv("READBENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	var out io.Writer = os.Stdout
	if p := os.Getenv("READBENCH_REPORT"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		out = io.MultiWriter(os.Stdout, f)
	}

	// The raw connection first, so that merges are stopped before the
	// store touches a reused dataset; storage.Open then shares it.
	// Both with the engine settings the collector ships (a process runs
	// one engine, with one set of settings).
	cfg := storage.NewDefaultConfig()
	cfg.Endpoint, cfg.ChdbLibrary, cfg.Database = "chdb://"+dir, lib, database
	conn, err := chdb.Open(lib, dir, chdb.WithSettings(cfg.Embedded.Settings()), chdb.WithAllocator(cfg.Embedded.Allocator))
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = conn.Close() }()
	if err := stopMerges(ctx, conn, database); err != nil {
		b.Fatal(err)
	}
	store, err := storage.Open(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = store.Close() }()
	// The store's reads run under the query API's default memory bound
	// (eventsqueryextension's query_max_memory); the p95 is also timed
	// without it.
	r := &bench{b: b, ctx: storage.WithQueryMaxMemory(ctx, queryMaxMemory), conn: conn, store: store, runs: runs, out: out,
		tableCandidates: os.Getenv("READBENCH_TABLE_CANDIDATES") == "1"}
	shape := os.Getenv("READBENCH_SHAPE")
	switch shape {
	case "":
		shape = shapeUniform
	case shapeUniform, shapeSkewed:
	default:
		b.Fatalf("READBENCH_SHAPE=%q: want %s or %s", shape, shapeUniform, shapeSkewed)
	}
	r.d = dataset{db: database, shape: shape, events: events, conversations: max(1, events/10)}

	tt := r.mustQuery("SELECT type FROM system.columns WHERE database = '" + database + "' AND table = 'events' AND name = 'event_time'")
	if len(tt) != 1 {
		b.Fatal("events.event_time not found")
	}
	r.d.timeType = str(tt[0][0])

	var meta [][]json.RawMessage
	if len(r.mustQuery("SELECT 1 FROM system.tables WHERE database = '"+database+"' AND name = 'readbench_meta'")) == 1 {
		meta = r.mustQuery("SELECT events, start_ms, shape FROM " + database + ".readbench_meta LIMIT 1")
	}
	if len(meta) == 0 {
		if n := r.mustQuery("SELECT count() FROM " + database + ".events"); num(n[0][0]) != 0 {
			b.Fatalf("%s holds an unfinished dataset: remove it", dir)
		}
		r.now = time.Now().UTC().Truncate(time.Second)
		r.d.startMs = r.now.Add(-30 * day).UnixMilli()
		r.logf("generating %d events (%s) in %s (merges stopped)", events, shape, dir)
		if err := r.d.generate(ctx, conn, r.logf); err != nil {
			b.Fatal(err)
		}
		r.mustQuery(fmt.Sprintf("CREATE TABLE %s.readbench_meta (events UInt64, start_ms Int64, shape String) ENGINE = MergeTree ORDER BY tuple()", database))
		r.mustQuery(fmt.Sprintf("INSERT INTO %s.readbench_meta VALUES (%d, %d, %s)", database, events, r.d.startMs, quote(shape)))
	} else {
		if uint64(num(meta[0][0])) != events || str(meta[0][2]) != shape {
			b.Fatalf("%s holds a %s dataset of %s events, not a %s one of %d: remove it or set READBENCH_EVENTS and READBENCH_SHAPE",
				dir, str(meta[0][2]), meta[0][0], shape, events)
		}
		r.d.startMs = int64(num(meta[0][1]))
		r.now = time.UnixMilli(r.d.startMs).Add(30 * day).UTC()
		r.logf("reusing the %s dataset of %d events in %s", shape, events, dir)
	}
	generated := time.Since(began)

	r.logf("engine: chDB %s (embedded, %s), max_threads %s", store.ServerVersion(), filepath.Base(lib),
		str(r.mustQuery("SELECT value FROM system.settings WHERE name = 'max_threads'")[0][0]))
	r.describeTables()
	r.describeGroups()
	p := r.picks(warmups + r.runs)
	r.check(p)
	if r.tableCandidates {
		r.buildCandidates()
	}
	r.checkCandidates(p, names[0])
	r.warmPageCache(dir)

	eps := r.endpoints(p)
	if only := os.Getenv("READBENCH_ONLY"); only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			b.Fatalf("READBENCH_ONLY: %v", err)
		}
		eps = slices.DeleteFunc(eps, func(ep endpoint) bool { return !re.MatchString(ep.name) })
	}
	results := make([]result, 0, len(eps))
	for _, ep := range eps {
		res := r.measure(ep)
		results = append(results, res)
	}
	r.printTable(results)
	r.logf("\ngeneration %s, total %s", generated.Round(time.Second), time.Since(began).Round(time.Second))
}

// warmPageCache reads every file of the data directory once, so that the
// reads run with the dataset in the OS page cache (it fits in memory) however
// it got there: freshly generated or reused. The engine's own caches keep
// their defaults.
func (r *bench) warmPageCache(dir string) {
	start := time.Now()
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		m, err := io.Copy(io.Discard, f)
		n += m
		return err
	})
	if err != nil {
		r.b.Fatal(err)
	}
	r.logf("read the %.1f GiB of the data directory into the page cache in %s", float64(n)/(1<<30), time.Since(start).Round(time.Millisecond))
}

// describeTables prints the rows and active parts of every table.
func (r *bench) describeTables() {
	rows := r.mustQuery(`SELECT table, sum(rows), count(), formatReadableSize(sum(data_compressed_bytes))
FROM system.parts WHERE database = '` + database + `' AND active GROUP BY table ORDER BY table`)
	r.logf("\n| table | rows | active parts | compressed |\n|---|---:|---:|---:|")
	for _, row := range rows {
		r.logf("| %s | %s | %s | %s |", str(row[0]), str(row[1]), str(row[2]), str(row[3]))
	}
}

// describeGroups prints how the visible events spread over conversations
// and over the (name, conversation) groups of the p95.
func (r *bench) describeGroups() {
	conv := r.mustQuery(`SELECT count(), max(n), quantileExact(0.5)(n), quantileExact(0.99)(n), countIf(n >= 10000), countIf(n >= 100000)
FROM (SELECT count() AS n FROM ` + database + `.events_plain GROUP BY conversation)`)[0]
	groups := r.mustQuery(`SELECT count(), max(n) FROM (SELECT count() AS n FROM ` + database + `.events_plain GROUP BY name, conversation)`)[0]
	r.logf("\nconversations: %s (events per conversation: median %s, p99 %s, max %s; %s with >= 10 000, %s with >= 100 000); (name, conversation) groups: %s, the largest %s events",
		str(conv[0]), str(conv[2]), str(conv[3]), str(conv[1]), str(conv[4]), str(conv[5]), str(groups[0]), str(groups[1]))
}

// check fails the benchmark unless the versioned tables hold the final state
// the append-only copies hold, and every store read returns what its
// baseline returns.
func (r *bench) check(p picks) {
	db := database
	net := r.mustQuery("SELECT sum(sign), sum(sign * toInt64(round(latency_ms * 10))), sum(sign * is_error) FROM " + db + ".events")
	plain := r.mustQuery("SELECT count(), sum(toInt64(round(latency_ms * 10))), sum(is_error) FROM " + db + ".events_plain")
	for i := range 3 {
		if num(net[0][i]) != num(plain[0][i]) {
			r.b.Fatalf("events nets to %s, events_plain holds %s", net[0], plain[0])
		}
	}
	vis := r.mustQuery("SELECT countIf(d = 0), countIf(d = 1) FROM (SELECT argMax(deleted, revision) AS d FROM " + db + ".event_state GROUP BY id)")
	sp := r.mustQuery("SELECT count() FROM " + db + ".state_plain")
	if num(vis[0][0]) != num(sp[0][0]) {
		r.b.Fatalf("event_state has %s visible ids, state_plain %s", vis[0][0], sp[0][0])
	}
	r.logf("\nchecked: %s visible events, %s deleted; the events table nets to the append-only copy", vis[0][0], vis[0][1])

	// Point read.
	e, err := r.store.Event(r.ctx, p.ids[0])
	if err != nil {
		r.b.Fatal(err)
	}
	row := r.mustQuery(r.baselineEvent(p.ids[0]))
	if len(row) != 1 || e.ConversationID != str(row[0][6]) || e.Name != str(row[0][7]) || e.LatencyMs != num(row[0][11]) ||
		e.Error != str(row[0][12]) || e.Output != str(row[0][10]) || e.Version != uint64(num(row[0][1])) {
		r.b.Fatalf("Event(%s) = %+v, baseline %s", p.ids[0], e, row)
	}
	// Conversation page.
	page, err := r.store.Conversation(r.ctx, p.convs[0], nil, conversationLimit)
	if err != nil {
		r.b.Fatal(err)
	}
	rows := r.mustQuery(r.baselineConversation(p.convs[0]))
	if len(page) != len(rows) || len(page) == 0 {
		r.b.Fatalf("Conversation(%s): %d events, baseline %d", p.convs[0], len(page), len(rows))
	}
	for i := range page {
		if page[i].ID != str(rows[i][0]) || page[i].LatencyMs != num(rows[i][11]) {
			r.b.Fatalf("Conversation(%s)[%d] = %s, baseline %s", p.convs[0], i, page[i].ID, rows[i][0])
		}
	}
	// Errors per day, for every name.
	for _, name := range names {
		counts, err := r.store.ErrorCounts(r.ctx, name, errorDays, r.now)
		if err != nil {
			r.b.Fatal(err)
		}
		want := map[string]float64{}
		for _, row := range r.mustQuery(r.baselineErrors(name)) {
			want[str(row[0])] = num(row[1])
		}
		for _, c := range counts {
			if float64(c.Errors) != want[c.Date] {
				r.b.Fatalf("ErrorCounts(%s) on %s = %d, baseline %v", name, c.Date, c.Errors, want[c.Date])
			}
			delete(want, c.Date)
		}
		if len(want) != 0 {
			r.b.Fatalf("ErrorCounts(%s) misses %v", name, want)
		}
	}
	// p95: the same quantile definition, quantileExact's (the value at
	// index floor(0.95 n) of the sorted values).
	lat, err := r.store.Latency(r.ctx, storage.LatencyFilter{}, latencyLimit)
	if err != nil {
		r.b.Fatal(err)
	}
	rows = r.mustQuery(r.baselineLatency("quantileExact(0.95)(latency_ms)", ""))
	if len(lat) != len(rows) {
		r.b.Fatalf("Latency: %d rows, baseline %d", len(lat), len(rows))
	}
	for i := range lat {
		if lat[i].EventName != str(rows[i][0]) || lat[i].ConversationID != str(rows[i][1]) || lat[i].P95 != num(rows[i][2]) || float64(lat[i].Count) != num(rows[i][3]) {
			r.b.Fatalf("Latency[%d] = %+v, baseline %s", i, lat[i], rows[i])
		}
	}
	// Top error sessions.
	top, err := r.store.TopErrorSessions(r.ctx, minEvents, time.Time{}, topLimit)
	if err != nil {
		r.b.Fatal(err)
	}
	rows = r.mustQuery(r.baselineTopErrors())
	if len(top) != len(rows) {
		r.b.Fatalf("TopErrorSessions: %d rows, baseline %d", len(top), len(rows))
	}
	for i := range top {
		if top[i].ConversationID != str(rows[i][0]) || float64(top[i].Errors) != num(rows[i][1]) || float64(top[i].Total) != num(rows[i][2]) {
			r.b.Fatalf("TopErrorSessions[%d] = %+v, baseline %s", i, top[i], rows[i])
		}
	}
	r.logf("checked: every store read returns what its baseline returns")
}

// The parameters of the reads: the API's defaults (a conversation page
// asks for limit+1 events), errors over the whole 30-day window.
const (
	conversationLimit = 101
	errorDays         = 30
	latencyLimit      = 50
	topLimit          = 10
	minEvents         = 1
)

type picks struct {
	ids, convs []string
}

// picks returns n visible ids and n conversations, spread over the table
// and the same on every run of the benchmark.
func (r *bench) picks(n int) picks {
	var p picks
	rows := r.mustQuery(fmt.Sprintf("SELECT id, conversation_id FROM %s.state_plain WHERE cityHash64(id) %% 1000 = 7 ORDER BY cityHash64(id, 'pick') LIMIT %d", database, n))
	for _, row := range rows {
		p.ids = append(p.ids, str(row[0]))
		p.convs = append(p.convs, str(row[1]))
	}
	if len(p.ids) < n {
		r.b.Fatalf("only %d ids to pick from", len(p.ids))
	}
	return p
}

func (r *bench) baselineEvent(id string) string {
	return fmt.Sprintf("SELECT %s FROM %s.state_plain WHERE id = %s", stateCols, database, quote(id))
}

func (r *bench) baselineConversation(conv string) string {
	return fmt.Sprintf("SELECT %s FROM %s.conv_plain WHERE conversation_id = %s ORDER BY ts_ms, id LIMIT %d",
		stateCols, database, quote(conv), conversationLimit)
}

func (r *bench) errorsSince() int64 {
	return r.now.Truncate(day).AddDate(0, 0, -(errorDays - 1)).Unix()
}

func (r *bench) baselineErrors(name string) string {
	return fmt.Sprintf(`SELECT toString(toDate(event_time)) AS day, count() AS errors FROM %s.events_plain
WHERE name = %s AND is_error = 1 AND event_time >= toDateTime(%d) GROUP BY day ORDER BY day`, database, quote(name), r.errorsSince())
}

// baselineLatency is the p95 per (name, conversation) over the plain rows
// with the quantile function fn, optionally for one name.
func (r *bench) baselineLatency(fn, name string) string {
	where := ""
	if name != "" {
		where = "WHERE name = " + quote(name)
	}
	return fmt.Sprintf(`SELECT name, conversation, %s AS p95, count() AS n FROM %s.events_plain %s
GROUP BY name, conversation ORDER BY p95 DESC, name, conversation LIMIT %d`, fn, database, where, latencyLimit)
}

// overviewDays is the dashboard overview's default range.
const overviewDays = 7

func (r *bench) overviewSince() int64 {
	return r.now.Truncate(day).AddDate(0, 0, -(overviewDays - 1)).Unix()
}

func (r *bench) baselineEventDays() string {
	return fmt.Sprintf(`SELECT toDate(event_time) AS day, count() AS n, sum(is_error) AS errors FROM %s.events_plain
WHERE event_time >= toDateTime(%d) GROUP BY day ORDER BY day`, database, r.overviewSince())
}

func (r *bench) baselineEventNames() string {
	return fmt.Sprintf(`SELECT name, count() AS n, sum(is_error) AS errors, quantileExact(0.95)(latency_ms) AS p95 FROM %s.events_plain
WHERE event_time >= toDateTime(%d) GROUP BY name ORDER BY n DESC, name`, database, r.overviewSince())
}

func (r *bench) baselineTopErrors() string {
	return fmt.Sprintf(`SELECT conversation, sum(is_error) AS errors, count() AS total FROM %s.events_plain
GROUP BY conversation HAVING total >= %d AND errors > 0 ORDER BY errors / total DESC, errors DESC, conversation LIMIT %d`,
		database, minEvents, topLimit)
}

// endpoint is one read path: its variants (the store as it is, then the
// candidates) and the baseline over the append-only copy; i numbers the run
// (for the picks).
type endpoint struct {
	name     string
	target   float64
	variants []variant
	base     func(i int) error
	baseName string
}

type variant struct {
	name string
	run  func(i int) error
}

// samples are the wall and CPU (user+system of the process, all engine
// threads included) times of the timed runs.
type samples struct {
	wall, cpu []time.Duration
}

type result struct {
	endpoint
	variants []samples
	base     samples
}

func (r *bench) rawRun(sql func(i int) string) func(i int) error {
	return func(i int) error {
		_, err := r.query(sql(i))
		return err
	}
}

func (r *bench) endpoints(p picks) []endpoint {
	name := func(i int) string { return names[i%len(names)] }
	// tables returns the variants on candidate tables when they are built.
	tables := func(vs ...variant) []variant {
		if r.tableCandidates {
			return vs
		}
		return nil
	}
	latencyVariants := func(eventName func(i int) string) []variant {
		vs := []variant{
			{"store (select_latency.sql)", func(i int) error {
				_, err := r.store.Latency(r.ctx, storage.LatencyFilter{EventName: eventName(i)}, latencyLimit)
				return err
			}},
			{"store without a memory bound", func(i int) error {
				_, err := r.store.Latency(storage.WithQueryMaxMemory(r.ctx, 0), storage.LatencyFilter{EventName: eventName(i)}, latencyLimit)
				return err
			}},
		}
		for _, c := range r.latencyCandidates() {
			vs = append(vs, variant{c.name, r.rawRun(func(i int) string { return latencySQL(c.sql, database+".events", eventName(i)) })})
		}
		return vs
	}
	return []endpoint{
		{
			name: "GET /event/{id}", target: 2,
			variants: append([]variant{
				{"store (select_state.sql)", func(i int) error {
					_, err := r.store.Event(r.ctx, p.ids[i])
					return err
				}},
			}, tables(
				variant{"candidate: PREWHERE id = ?", r.rawRun(func(i int) string { return r.pointReadPrewhere("event_state", p.ids[i]) })},
				variant{"candidate: PREWHERE, index_granularity 1024", r.rawRun(func(i int) string { return r.pointReadPrewhere("event_state_g1k", p.ids[i]) })},
			)...),
			base:     r.rawRun(func(i int) string { return r.baselineEvent(p.ids[i]) }),
			baseName: "point read on state_plain (ORDER BY id)",
		},
		{
			name: "conversation, first page", target: 2,
			variants: append([]variant{
				{"store (events page + event_state IN)", func(i int) error {
					_, err := r.store.Conversation(r.ctx, p.convs[i], nil, conversationLimit)
					return err
				}},
			}, tables(
				variant{"candidate: index_granularity 1024 on both, PREWHERE", func(i int) error {
					_, err := r.conversationTwoReads("events_g1k", "event_state_g1k", p.convs[i])
					return err
				}},
				variant{"candidate: event_state granularity 1024 + projection of full rows by conversation, one read", r.rawRun(func(i int) string {
					return r.conversationProjectionSQL("event_state_pjg", p.convs[i], "")
				})},
				variant{"candidate: event_state granularity 1024 + _part_offset projection by conversation, one read", r.rawRun(func(i int) string {
					return r.conversationProjectionSQL("event_state_pxg", p.convs[i], projectionIndexSettings)
				})},
			)...),
			base:     r.rawRun(func(i int) string { return r.baselineConversation(p.convs[i]) }),
			baseName: "range read on conv_plain (full rows, ORDER BY conversation_id, ts_ms, id)",
		},
		{
			name: "errors per day (30 days)", target: 1.5,
			variants: []variant{
				{"store (select_error_counts.sql)", func(i int) error {
					_, err := r.store.ErrorCounts(r.ctx, name(i), errorDays, r.now)
					return err
				}},
			},
			base:     r.rawRun(func(i int) string { return r.baselineErrors(name(i)) }),
			baseName: "count() WHERE name AND is_error GROUP BY day on events_plain",
		},
		{
			name: "p95 latency, all names", target: 1.5,
			variants: latencyVariants(func(int) string { return "" }),
			base:     r.rawRun(func(int) string { return r.baselineLatency("quantileExact(0.95)(latency_ms)", "") }),
			baseName: "quantileExact(0.95) GROUP BY name, conversation on events_plain",
		},
		{
			name: "p95 latency, one name", target: 1.5,
			variants: latencyVariants(name),
			base:     r.rawRun(func(i int) string { return r.baselineLatency("quantileExact(0.95)(latency_ms)", name(i)) }),
			baseName: "the same WHERE name = X",
		},
		{
			name: "overview: events and errors per day (7 days)", target: 1.5,
			variants: []variant{{"store (select_event_days.sql)", func(int) error {
				_, err := r.store.EventDays(r.ctx, "", overviewDays, r.now)
				return err
			}}},
			base:     r.rawRun(func(int) string { return r.baselineEventDays() }),
			baseName: "count(), sum(is_error) GROUP BY day on events_plain",
		},
		{
			name: "overview: per event name with p95 (7 days)", target: 1.5,
			variants: []variant{{"store (select_event_names.sql)", func(int) error {
				_, err := r.store.EventNames(r.ctx, time.Unix(r.overviewSince(), 0))
				return err
			}}},
			base:     r.rawRun(func(int) string { return r.baselineEventNames() }),
			baseName: "count(), sum(is_error), quantileExact(0.95) GROUP BY name on events_plain",
		},
		{
			name: "overview: top error sessions (7 days)", target: 1.5,
			variants: []variant{{"store (select_top_error_sessions.sql, days)", func(int) error {
				_, err := r.store.TopErrorSessions(r.ctx, minEvents, time.Unix(r.overviewSince(), 0), topLimit)
				return err
			}}},
			base: r.rawRun(func(int) string {
				return fmt.Sprintf(`SELECT conversation, sum(is_error) AS errors, count() AS total FROM %s.events_plain WHERE event_time >= toDateTime(%d)
GROUP BY conversation HAVING total >= %d AND errors > 0 ORDER BY errors / total DESC, errors DESC, conversation LIMIT %d`,
					database, r.overviewSince(), minEvents, topLimit)
			}),
			baseName: "sum(is_error), count() GROUP BY conversation on events_plain, 7 days",
		},
		{
			name: "freshness (X-Data-Age, ingest rate)", target: 1.5,
			variants: []variant{{"store (select_freshness.sql)", func(int) error {
				_, err := r.store.Freshness(r.ctx, r.now.Add(-time.Minute))
				return err
			}}},
			base:     r.rawRun(func(int) string { return "SELECT max(version) FROM " + database + ".state_plain" }),
			baseName: "max(version) on state_plain",
		},
		{
			name: "top error sessions", target: 1.5,
			variants: []variant{{"store (select_top_error_sessions.sql)", func(int) error {
				_, err := r.store.TopErrorSessions(r.ctx, minEvents, time.Time{}, topLimit)
				return err
			}}},
			base:     r.rawRun(func(int) string { return r.baselineTopErrors() }),
			baseName: "sum(is_error), count() GROUP BY conversation on events_plain",
		},
	}
}

// cpuTime is the user+system time of the process so far: the engine runs
// in it, so the difference around a query is the CPU the query used, which
// other processes on the machine disturb less than the wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs every variant and the baseline warmups+runs times; in each
// run the order rotates, so that no variant always follows the same one.
func (r *bench) measure(ep endpoint) result {
	res := result{endpoint: ep, variants: make([]samples, len(ep.variants))}
	type job struct {
		dst *samples
		f   func(int) error
	}
	jobs := []job{{&res.base, ep.base}}
	for k := range ep.variants {
		jobs = append(jobs, job{&res.variants[k], ep.variants[k].run})
	}
	for i := range warmups + r.runs {
		for k := range jobs {
			j := jobs[(i+k)%len(jobs)]
			c0, start := cpuTime(), time.Now()
			err := j.f(i)
			took, cpu := time.Since(start), cpuTime()-c0
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				r.b.Fatalf("%s: %v", ep.name, err)
			}
			if i >= warmups {
				j.dst.wall = append(j.dst.wall, took)
				j.dst.cpu = append(j.dst.cpu, cpu)
			}
		}
	}
	r.logf("measured %s: store p50 %s, baseline p50 %s", ep.name, fmtDur(pct(res.variants[0].wall, 50)), fmtDur(pct(res.base.wall, 50)))
	return res
}

// pct is the nearest-rank percentile.
func pct(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, k)]
}

func fmtDur(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	default:
		return fmt.Sprintf("%.2f ms", ms)
	}
}

func (r *bench) printTable(results []result) {
	r.logf("\n%d timed runs per read after %d warm-ups; in each run the variants and the baseline take turns in rotating order.", r.runs, warmups)
	r.logf("Ratios are variant / baseline; the CPU ratio compares median CPU times (user+system of the process).\n")
	r.logf("| endpoint | variant | p50 / p95 | baseline p50 / p95 | ratio p50 / p95 | CPU ratio | target |")
	r.logf("|---|---|---:|---:|---:|---:|---:|")
	for _, res := range results {
		b50, b95, bc := pct(res.base.wall, 50), pct(res.base.wall, 95), pct(res.base.cpu, 50)
		for k, v := range res.variants {
			o50, o95, oc := pct(v.wall, 50), pct(v.wall, 95), pct(v.cpu, 50)
			r50, r95 := float64(o50)/float64(b50), float64(o95)/float64(b95)
			verdict := "met"
			if r50 > res.target {
				verdict = "**missed**"
			}
			ep := res.name
			if k > 0 {
				ep = ""
			}
			r.logf("| %s | %s | %s / %s | %s / %s | %.2fx / %.2fx | %.2fx | <= %.1fx %s |", ep, res.endpoint.variants[k].name,
				fmtDur(o50), fmtDur(o95), fmtDur(b50), fmtDur(b95), r50, r95, float64(oc)/float64(max(bc, 1)), res.target, verdict)
		}
	}
	r.logf("\nBaselines:")
	for _, res := range results {
		r.logf("- %s: %s", res.name, res.baseName)
	}
}
