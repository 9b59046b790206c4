package readbench

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Candidates: changes to internal/storage measured next to the current
// store, on copies of the versioned tables (same rows, same unmerged parts,
// copied part by part with merges stopped) or with another query text. They
// run as raw SQL on the engine connection, decoded like the baselines.
//
//   - event_state_g1k, events_g1k: index_granularity = 1024 instead of 8192.
//     A lookup by id reads one granule in every part (the primary index
//     cannot tell which part holds the id), so a smaller granule reads 8x
//     less.
//   - event_state_pjg: event_state_g1k with a projection of the full rows
//     sorted by (conversation_id, ts_ms, id), so that a conversation page is
//     one range read of event_state (ClickHouse 24.8+ for a projection on a
//     ReplacingMergeTree: deduplicate_merge_projection_mode).
//   - event_state_pxg: event_state_g1k with a projection of _part_offset
//     sorted by conversation_id only (a secondary index: the rows are then
//     read from the table itself; ClickHouse 25.x).
//   - PREWHERE id = ?: select_state.sql's ORDER BY revision DESC LIMIT 1
//     makes 26.x plan a top-K filter on revision as the PREWHERE and apply
//     id = ? after reading; an explicit PREWHERE restores the point read.
//   - latencyCandidateList: p95 queries (the previous store query and
//     the replacements measured for issue 16).
//
// The candidate tables are built and measured only with
// READBENCH_TABLE_CANDIDATES=1: they take minutes to copy at 10M events,
// and the proposals they measured are settled ("Read path" in
// BENCHMARKS.md).

// candidateTables are built from the versioned tables by buildCandidates:
// each part of src is copied with INSERT ... SELECT *, as the
// inserts that wrote the part would have filled the table.
var candidateTables = []struct {
	name, src, engine string
	alter             []string
}{
	{"event_state_g1k", "event_state", "ReplacingMergeTree(revision) ORDER BY id SETTINGS index_granularity = 1024", nil},
	{"events_g1k", "events", "CollapsingMergeTree(sign) PARTITION BY toYYYYMM(event_time) ORDER BY (conversation, event_time, id) SETTINGS index_granularity = 1024", nil},
	{"event_state_pjg", "event_state", "ReplacingMergeTree(revision) ORDER BY id SETTINGS index_granularity = 1024, deduplicate_merge_projection_mode = 'rebuild'",
		[]string{"ADD PROJECTION by_conversation (SELECT * ORDER BY conversation_id, ts_ms, id)"}},
	{"event_state_pxg", "event_state", "ReplacingMergeTree(revision) ORDER BY id SETTINGS index_granularity = 1024, deduplicate_merge_projection_mode = 'rebuild'",
		[]string{"ADD PROJECTION by_conversation (SELECT _part_offset ORDER BY conversation_id)"}},
}

// buildCandidates copies the versioned tables into the candidate tables,
// one insert per source part so that the copies have the same parts.
func (r *bench) buildCandidates() {
	db := database
	for _, c := range candidateTables {
		// A complete copy is recorded in readbench_candidates.
		if len(r.mustQuery(fmt.Sprintf("SELECT 1 FROM system.tables WHERE database = '%s' AND name = 'readbench_candidates'", db))) == 0 {
			r.mustQuery(fmt.Sprintf("CREATE TABLE %s.readbench_candidates (name String) ENGINE = MergeTree ORDER BY name", db))
		}
		if len(r.mustQuery(fmt.Sprintf("SELECT 1 FROM %s.readbench_candidates WHERE name = %s", db, quote(c.name)))) != 0 {
			continue
		}
		start := time.Now()
		create := fmt.Sprintf("CREATE TABLE %s.%s AS %s.%s ENGINE = %s", db, c.name, db, c.src, c.engine)
		stmts := []string{fmt.Sprintf("DROP TABLE IF EXISTS %s.%s SYNC", db, c.name), create}
		for _, a := range c.alter {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s.%s %s", db, c.name, a))
		}
		stmts = append(stmts, fmt.Sprintf("SYSTEM STOP MERGES %s.%s", db, c.name))
		for _, p := range r.mustQuery(fmt.Sprintf("SELECT name FROM system.parts WHERE database = '%s' AND table = '%s' AND active ORDER BY min_block_number", db, c.src)) {
			stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.%s ", db, c.name)+
				fmt.Sprintf("SELECT * FROM %s.%s WHERE _part = %s", db, c.src, quote(str(p[0])))+" SETTINGS max_insert_threads = 1")
		}
		stmts = append(stmts, fmt.Sprintf("INSERT INTO %s.readbench_candidates VALUES (%s)", db, quote(c.name)))
		for _, q := range stmts {
			r.mustQuery(q)
		}
		r.logf("built candidate table %s in %s", c.name, time.Since(start).Round(time.Millisecond))
	}
}

// pointReadPrewhere is select_state.sql with PREWHERE.
func (r *bench) pointReadPrewhere(table, id string) string {
	return fmt.Sprintf("SELECT %s FROM %s.%s PREWHERE id = %s ORDER BY revision DESC LIMIT 1", stateCols, database, table, quote(id))
}

// conversationTwoReads is Store.Conversation on other tables: the page of
// ids from the analytics table, then their states (PREWHERE id IN ...).
// It returns the visible events' ids in page order.
func (r *bench) conversationTwoReads(eventsTable, stateTable, conv string) ([]string, error) {
	page, err := r.query(fmt.Sprintf(`SELECT id, event_time_ms FROM %s.%s
WHERE conversation = %s AND (event_time_ms > %d OR (event_time_ms = %d AND id > ''))
GROUP BY id, event_time_ms HAVING sum(sign) > 0 ORDER BY event_time_ms, id LIMIT %d`,
		database, eventsTable, quote(conv), cursorStart, cursorStart, conversationLimit))
	if err != nil || len(page) == 0 {
		return nil, err
	}
	ids := make([]string, len(page))
	for i, row := range page {
		ids[i] = quote(str(row[0]))
	}
	states, err := r.query(fmt.Sprintf("SELECT %s FROM %s.%s PREWHERE id IN (%s) ORDER BY id, revision DESC LIMIT 1 BY id",
		stateCols, database, stateTable, strings.Join(ids, ", ")))
	if err != nil {
		return nil, err
	}
	visible := make(map[string]bool, len(states))
	for _, s := range states {
		visible[str(s[0])] = num(s[3]) == 1 && num(s[4]) == 0
	}
	out := make([]string, 0, len(page))
	for _, row := range page {
		if id := str(row[0]); visible[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

// cursorStart is the cursor of a first page (Store.Conversation's).
const cursorStart = -1 << 62

// conversationProjectionSQL reads a page from event_state alone: the latest
// revision of each id of the conversation (found through the projection
// sorted by conversation_id), visible ones only. conversation_id and ts_ms
// never change once an event is created, and a state's row carries them
// from its create on.
func (r *bench) conversationProjectionSQL(table, conv, settings string) string {
	return fmt.Sprintf(`SELECT * FROM (
    SELECT %s FROM %s.%s
    WHERE conversation_id = %s AND (ts_ms > %d OR (ts_ms = %d AND id > ''))
    ORDER BY ts_ms, id, revision DESC LIMIT 1 BY id
) WHERE created = 1 AND deleted = 0 ORDER BY ts_ms, id LIMIT %d%s`,
		stateCols, database, table, quote(conv), cursorStart, cursorStart, conversationLimit, settings)
}

// projectionIndexSettings lets the _part_offset projection serve as an
// index on parts smaller than a million rows (the default threshold).
const projectionIndexSettings = " SETTINGS min_table_rows_to_use_projection_index = 0"

// The p95 queries measured beside the store's select_latency.sql (hash
// netting, then a sort of the kept values): drop-in replacements (the same
// columns and parameters: the table, the event name or the empty string,
// the first second of the window or 0, the limit), each exact: the value at
// index floor(0.95 n) of the sorted net multiset of a (name, conversation)
// group (quantileExact's position). Every -1 row has an equal +1 row in its
// group, so the net count of every latency is >= 0.
var latencyCandidateList = []latencyCandidate{
	{"previous store query (quadratic netting)", latencyPreviousSQL, true},
	{"candidate: one array, sorted netting when the group has -1 rows", latencySignedSQL, false},
	{"candidate: net per (name, conversation, latency) first", latencyNetFirstSQL, false},
	{"candidate: hash netting, arrayReduce quantileExact", latencyHash("arrayReduce('quantileExact(0.95)', " + latencyHashNet + ")"), false},
}

// latencyHashSQL nets without sorting: the -1 entries first, then for
// each +1 entry its occurrence number among the entries of its value (o)
// and among the +1 entries of its value (op), both by hashing
// (arrayEnumerateUniq); the q -1 entries of the value come first, so o =
// q + op and the entry is kept when op > q, that is 2 op > o. The p95 of
// what is kept is quantileExact's, in linear time. -0 becomes 0, which
// hashes differently.
const latencyHashSQL = `SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           groupArray(if(sign > 0, latency_ms, if(latency_ms = 0, -inf, -latency_ms))) AS a,
           arrayCount(x -> x < 0, a) AS m,
           toInt64(length(a)) - 2 * toInt64(m) AS n,
           arrayConcat(arrayFilter(x -> x < 0, a), arrayFilter(x -> x >= 0, a)) AS qp,
           arrayMap(x -> if(x >= 0, if(x = 0, 0, x), if(x = -inf, 0, -x)), qp) AS v,
           arrayMap(x -> x >= 0, qp) AS plus,
           P95 AS p95
    FROM %[1]s
    WHERE (%[2]s = '' OR name = %[2]s) AND (%[3]d = 0 OR event_time >= toDateTime(%[3]d))
    GROUP BY name, conversation
    HAVING n > 0
)
ORDER BY p95 DESC, name, conversation
LIMIT %[4]d`

func latencyHash(p95 string) string { return strings.Replace(latencyHashSQL, "P95", p95, 1) }

const latencyHashNet = `arrayFilter((x, p, o, op) -> p AND 2 * op > o, v, plus, arrayEnumerateUniq(v), arrayEnumerateUniq(v, plus))`

type latencyCandidate struct {
	name, sql string
	// quadratic marks a query whose cost grows with the square of a
	// group's size: it is not run on the skewed dataset.
	quadratic bool
}

// latencyPreviousSQL is select_latency.sql before issue 16: one array per
// group, the -1 rows stored negated (-inf for a -1 row of latency 0); a +1
// value is kept only when its occurrence number exceeds the count of its
// -1 rows, which countEqual finds by scanning the whole array once per
// element: quadratic time and memory in the size of a group with -1 rows.
const latencyPreviousSQL = `SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           arraySort(groupArray(if(sign > 0, latency_ms, if(latency_ms = 0, -inf, -latency_ms)))) AS a,
           arrayCount(x -> x < 0, a) AS m,
           toInt64(length(a)) - 2 * toInt64(m) AS n,
           toUInt64(floor(0.95 * n)) + 1 AS k,
           if(m = 0, a[k], arrayFilter((x, o) -> o > countEqual(a, if(x = 0, -inf, -x)),
                                        arraySlice(a, m + 1), arrayEnumerateUniq(arraySlice(a, m + 1)))[k]) AS p95
    FROM %[1]s
    WHERE (%[2]s = '' OR name = %[2]s) AND (%[3]d = 0 OR event_time >= toDateTime(%[3]d))
    GROUP BY name, conversation
    HAVING n > 0
)
ORDER BY p95 DESC, name, conversation
LIMIT %[4]d`

// latencySignedSQL keeps the previous query's single array (-1 rows
// negated) and its shortcut for a group without -1 rows, and nets the other
// groups in n log n: the absolute values and the signs sorted by value, the
// running sum of the signs, and the first run end (the last element of a
// run of equal values) whose running sum exceeds k. At a run end the
// running sum is the net count of the values up to it, so that run's value
// is the one at index k of the net multiset.
const latencySignedSQL = `SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           sum(sign) AS n,
           countIf(sign < 0) AS m,
           arraySort(groupArray(if(sign > 0, latency_ms, if(latency_ms = 0, -inf, -latency_ms)))) AS a,
           toInt64(floor(0.95 * n)) AS k,
           arrayMap(x -> if(x >= 0, x, if(x = -inf, 0, -x)), a) AS l,
           if(m = 0, a[k + 1], arrayElement(arraySort(l), arrayFirstIndex((c, x, next) -> c > k AND x != next,
               arrayCumSum(arraySort((s, x) -> x, arrayMap(x -> if(x >= 0, 1, -1), a), l)),
               arraySort(l), arrayPushBack(arrayPopFront(arraySort(l)), nan)))) AS p95
    FROM %[1]s
    WHERE (%[2]s = '' OR name = %[2]s) AND (%[3]d = 0 OR event_time >= toDateTime(%[3]d))
    GROUP BY name, conversation
    HAVING n > 0
)
ORDER BY p95 DESC, name, conversation
LIMIT %[4]d`

// latencyNetFirstSQL sums the signs per (name, conversation, latency)
// first, keeps the positive counts, then takes the weighted quantile from
// the running sum of the counts sorted by value.
const latencyNetFirstSQL = `SELECT name, conversation, p95, toUInt64(n) FROM (
    SELECT name, conversation,
           sum(c) AS n,
           toInt64(floor(0.95 * n)) AS k,
           arraySort(groupArray(latency_ms))[arrayFirstIndex(s -> s > k,
               arrayCumSum(arraySort((w, x) -> x, groupArray(c), groupArray(latency_ms))))] AS p95
    FROM (
        SELECT name, conversation, latency_ms, sum(sign) AS c
        FROM %[1]s
        WHERE (%[2]s = '' OR name = %[2]s) AND (%[3]d = 0 OR event_time >= toDateTime(%[3]d))
        GROUP BY name, conversation, latency_ms
        HAVING c > 0
    )
    GROUP BY name, conversation
)
ORDER BY p95 DESC, name, conversation
LIMIT %[4]d`

func latencySQL(text, from, name string) string {
	return fmt.Sprintf(text, from, quote(name), 0, latencyLimit)
}

// checkLatencyEdges runs every p95 candidate over a handful of rows with
// the edge cases the generated data lacks (latency 0, a -1 row of latency
// 0, a fully cancelled group, 0.95*n an integer, a cancelled value equal to
// a kept one) against the p95 of the net multiset computed by hand.
func (r *bench) checkLatencyEdges() {
	type row struct {
		conv string
		lat  float64
		sign int
	}
	var rows []row
	add := func(conv string, sign int, lats ...float64) {
		for _, l := range lats {
			rows = append(rows, row{conv, l, sign})
		}
	}
	add("a", 1, 0, 0, 1.5, 2.5)
	add("a", -1, 0, 2.5)
	add("b", 1, 5)
	add("b", -1, 5)
	add("c", 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 20.5)
	add("c", -1, 20.5)
	add("d", 1, 7, 7, 7, 0.1)
	add("d", -1, 7)
	values := make([]string, len(rows))
	for i, v := range rows {
		values[i] = fmt.Sprintf("('n', '%s', %v, %d)", v.conv, v.lat, v.sign)
	}
	from := fmt.Sprintf("(SELECT name, conversation, latency_ms, toInt8(sign) AS sign, toDateTime(1) AS event_time FROM values('name String, conversation String, latency_ms Float64, sign Int8', %s))",
		strings.Join(values, ", "))
	// The net multisets and their quantileExact(0.95) (index floor(0.95*n)).
	want := map[string][2]float64{"a": {1.5, 2}, "c": {20, 20}, "d": {7, 3}}
	for _, c := range latencyCandidateList {
		got := map[string][2]float64{}
		for _, g := range r.mustQuery(latencySQL(c.sql, from, "")) {
			got[str(g[1])] = [2]float64{num(g[2]), num(g[3])}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			r.b.Fatalf("%s on the edge cases: got %v, want %v", c.name, got, want)
		}
	}
}

// checkCandidates fails unless every candidate returns what its baseline
// returns.
func (r *bench) checkCandidates(p picks, name string) {
	r.checkLatencyEdges()
	if r.tableCandidates {
		r.checkTableCandidates(p)
	}
	for _, c := range r.latencyCandidates() {
		for _, n := range []string{"", name} {
			got := r.mustQuery(latencySQL(c.sql, database+".events", n))
			want := r.mustQuery(r.baselineLatency("quantileExact(0.95)(latency_ms)", n))
			if fmt.Sprint(rawStrings(got)) != fmt.Sprint(rawStrings(want)) {
				r.b.Fatalf("%s (event_name %q) differs from quantileExact over the append-only copy:\n%s\n%s", c.name, n, got, want)
			}
		}
	}
	r.logf("checked: every candidate returns what its baseline returns (p95 candidates = quantileExact(0.95) of the append-only copy)")
}

// latencyCandidates are the p95 queries to run on this dataset: the
// quadratic one only on the uniform shape, whose groups are small.
func (r *bench) latencyCandidates() []latencyCandidate {
	var out []latencyCandidate
	for _, c := range latencyCandidateList {
		if !c.quadratic || r.d.shape == shapeUniform {
			out = append(out, c)
		}
	}
	return out
}

// checkTableCandidates fails unless the point reads and conversation pages
// of the candidate tables return what their baselines return.
func (r *bench) checkTableCandidates(p picks) {
	for _, table := range []string{"event_state", "event_state_g1k"} {
		got := r.mustQuery(r.pointReadPrewhere(table, p.ids[0]))
		want := r.mustQuery(r.baselineEvent(p.ids[0]))
		if fmt.Sprint(rawStrings(got)) != fmt.Sprint(rawStrings(want)) {
			r.b.Fatalf("point read on %s: %s, baseline %s", table, got, want)
		}
	}
	want := r.mustQuery(r.baselineConversation(p.convs[0]))
	ids, err := r.conversationTwoReads("events_g1k", "event_state_g1k", p.convs[0])
	if err != nil {
		r.b.Fatal(err)
	}
	if fmt.Sprint(ids) != fmt.Sprint(column(want, 0)) {
		r.b.Fatalf("conversation %s: %v, baseline %v", p.convs[0], ids, column(want, 0))
	}
	for _, q := range []string{
		r.conversationProjectionSQL("event_state_pjg", p.convs[0], ""),
		r.conversationProjectionSQL("event_state_pxg", p.convs[0], projectionIndexSettings),
	} {
		if got := r.mustQuery(q); fmt.Sprint(rawStrings(got)) != fmt.Sprint(rawStrings(want)) {
			r.b.Fatalf("conversation %s: %s\nbaseline %s\nin: %s", p.convs[0], got, want, q)
		}
	}
}

func column(rows [][]json.RawMessage, k int) []string {
	out := make([]string, len(rows))
	for i, row := range rows {
		out[i] = str(row[k])
	}
	return out
}

// rawStrings renders rows for comparison: numbers that JSON prints
// differently (quoted 64-bit integers) compare by value.
func rawStrings(rows [][]json.RawMessage) [][]string {
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(row))
		for j, v := range row {
			out[i][j] = strings.Trim(string(v), `"`)
		}
	}
	return out
}
