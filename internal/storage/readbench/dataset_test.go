package readbench

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/chdb"
)

// The dataset is generated in SQL from numbers(): event n (0 <= n < events)
// has every field derived from hashes of n, so the state after its create,
// its update and its delete can each be computed without reading the
// tables, and the append-only copy of the final state is generated the same
// way rather than derived from the versioned tables (the checks then compare
// the two independently).
//
//   - conversations: events/10. In the uniform shape event n belongs to
//     sipHash64('conv', n) % conversations (Poisson-like, 10 events on
//     average). In the skewed shape it belongs to conversation
//     floor(conversations^u) - 1, u uniform in [0, 1) from the same hash: a
//     Zipf-like law in which conversation r holds about
//     events * ln(1 + 1/(r+1)) / ln(conversations) events. With 10M events
//     the largest holds ~500 000, the next five 100 000 to 300 000, about
//     65 more over 10 000, and most of the rest one or a few events (the
//     shape of one long agent conversation, or of a sender that puts
//     everything under one id, beside ordinary traffic). A conversation
//     starts at a uniform instant of the last 30 days and its events fall
//     in the following hour.
//   - 20 event names, skewed (the most frequent ~22%, the rarest ~1.2%).
//   - latency: log-normal (median ~400 ms), clamped to 1..10000 ms, one
//     decimal (100 000 possible values, so rows rarely share one).
//   - 5% errors.
//   - 10% of the events updated (sipHash64('u', n) % 100 < 10): the update
//     changes the latency (always) and the error state (one update in five)
//     and the output; so every update writes a -1 and a +1 row into events,
//     the worst case for the analytics table.
//   - 5% deleted (sipHash64('d', n) % 100 < 5, independent of the updates:
//     0.5% are updated then deleted).

// names are the 20 event names.
var names = []string{
	"llm.completion", "llm.chat", "tool.call", "retrieval.query", "agent.step",
	"page_view", "button_click", "search", "llm.embedding", "session.start",
	"session.end", "login", "logout", "signup", "add_to_cart",
	"checkout", "purchase", "feedback.thumbs_up", "feedback.thumbs_down", "error.client",
}

// Dataset shapes: how events spread over conversations.
const (
	shapeUniform = "uniform"
	shapeSkewed  = "skewed"
)

// dataset describes one generated dataset.
type dataset struct {
	db            string
	shape         string
	events        uint64 // creates
	conversations uint64
	startMs       int64 // first instant of the 30-day window (Unix ms)
	timeType      string
}

// updateRank is event.updateRank: set in the field rank of an update.
const updateRank = "9223372036854775808"

// base is the SELECT that derives every field of events [from, from+count).
func (d *dataset) base(from, count uint64) string {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = "'" + n + "'"
	}
	const span = 30*86400000 - 3600000
	conversation := fmt.Sprintf("sipHash64('conv', n) %% %d", d.conversations)
	if d.shape == shapeSkewed {
		conversation = fmt.Sprintf("toUInt64(floor(exp((sipHash64('conv', n) %% 4294967296) / 4294967296 * log(%d)))) - 1", d.conversations)
	}
	return fmt.Sprintf(`
SELECT
    number AS n,
    UUIDNumToString(sipHash128('e', n)) AS id,
    %[3]s AS ci,
    UUIDNumToString(sipHash128('c', ci)) AS conv,
    [%[4]s][1 + toUInt32(floor(20 * pow((sipHash64('n', n) %% 1000000) / 1e6, 2)))] AS name,
    toInt64(%[5]d + sipHash64('cs', ci) %% %[6]d + sipHash64('t', n) %% 3600000) AS ts_ms,
    ((sipHash64('l1', n) %% 1000000) + 0.5) / 1e6 AS u1,
    ((sipHash64('l2', n) %% 1000000) + 0.5) / 1e6 AS u2,
    round(least(10000, greatest(1, exp(6 + sqrt(-2 * log(u1)) * cos(2 * pi() * u2)))), 1) AS lat0,
    toUInt8(sipHash64('err', n) %% 100 < 5) AS err0,
    toUInt8(sipHash64('u', n) %% 100 < 10) AS upd,
    toUInt8(sipHash64('d', n) %% 100 < 5) AS del,
    if(lat0 >= 5000, round(lat0 / 2, 1), round(lat0 * (1.1 + (sipHash64('ul', n) %% 100) / 100), 1)) AS lat1,
    toUInt8(if(sipHash64('uf', n) %% 5 = 0, 1 - err0, err0)) AS err1,
    ['upstream timeout', 'rate limited', 'invalid tool arguments'][1 + sipHash64('em', n) %% 3] AS emsg,
    if(err0 = 1, emsg, '') AS emsg0,
    if(err1 = 1, emsg, '') AS emsg1,
    concat('Q', toString(n), ': ', repeat('please summarise the attached document ', 1 + toUInt32(sipHash64('in', n) %% 6))) AS input,
    concat('A: ', repeat('the document describes ', 1 + toUInt32(sipHash64('out', n) %% 10))) AS out0,
    concat(out0, '(revised)') AS out1,
    ['model', 'region'] AS akeys,
    [['gpt-4o', 'claude-3', 'llama-3', 'mistral'][1 + sipHash64('m', n) %% 4], ['eu', 'us', 'ap'][1 + sipHash64('r', n) %% 3]] AS avals,
    toUInt64(ts_ms) * 1000000 + 1 AS v1,
    v1 + 2000000000 AS v2,
    v1 + 60000000000 AS v3,
    [v1, v1, v1, v1, bitOr(v2, %[7]s), bitOr(v2, %[7]s), bitOr(v2, %[7]s), v1] AS fv2,
    if(upd = 1, lat1, lat0) AS latf,
    if(upd = 1, err1, err0) AS errf,
    if(upd = 1, emsg1, emsg0) AS emsgf,
    if(upd = 1, out1, out0) AS outf,
    if(upd = 1, fv2, CAST([], 'Array(UInt64)')) AS fvf,
    toUInt64(1 + upd) AS revf
FROM numbers(%[1]d, %[2]d)`, from, count, conversation, strings.Join(quoted, ", "), d.startMs, span, updateRank)
}

// stateCols are the columns of event_state that select_state.sql reads, and
// the columns of the plain state tables.
const stateCols = "id, revision, version, created, deleted, field_versions, conversation_id, event_name, ts_ms, input, output, latency, error, attr_keys, attr_values"

const stateDDL = `(
    id              String,
    revision        UInt64,
    version         UInt64,
    created         UInt8,
    deleted         UInt8,
    field_versions  Array(UInt64),
    conversation_id String,
    event_name      String,
    ts_ms           Int64,
    input           String,
    output          String,
    latency         Float64,
    error           String,
    attr_keys       Array(String),
    attr_values     Array(String)
)`

// generate fills the versioned tables (events, event_state, created by
// storage.Open) and the append-only baselines with merges stopped, so that
// the reads see every -1/+1 row and every superseded state unmerged, as
// after a burst of ingest. It writes event_state and events directly, not
// through event_changes: the rows are the ones the views of event_changes
// would write, generated without reading event_state back. logf reports
// progress.
func (d *dataset) generate(ctx context.Context, conn *chdb.Conn, logf func(string, ...any)) error {
	exec := func(q string) error {
		_, err := conn.Query(ctx, q, "")
		if err != nil {
			return fmt.Errorf("%w\nin: %.400s", err, q)
		}
		return nil
	}
	db := d.db
	ddl := []string{
		fmt.Sprintf(`CREATE TABLE %s.events_plain (
    id            String,
    conversation  String,
    name          String,
    event_time    %s,
    event_time_ms Int64,
    latency_ms    Float64,
    is_error      UInt8
) ENGINE = MergeTree PARTITION BY toYYYYMM(event_time) ORDER BY (conversation, event_time, id)`, db, d.timeType),
		"CREATE TABLE " + db + ".state_plain " + stateDDL + " ENGINE = MergeTree ORDER BY id",
		"CREATE TABLE " + db + ".conv_plain " + stateDDL + " ENGINE = MergeTree ORDER BY (conversation_id, ts_ms, id)",
	}
	for _, q := range ddl {
		if err := exec(q); err != nil {
			return err
		}
	}
	if err := stopMerges(ctx, conn, db); err != nil {
		return err
	}
	eventTime := "fromUnixTimestamp64Milli(ts_ms, 'UTC')"
	if !strings.HasPrefix(d.timeType, "DateTime64") {
		eventTime = "toDateTime(intDiv(ts_ms, 1000), 'UTC')"
	}
	const eventCols = "id, conversation, name, event_time, event_time_ms, latency_ms, is_error, rev, sign"

	// Each insert writes about a million rows: one or two parts per month.
	type phase struct {
		name  string
		chunk uint64 // events per insert
		stmts func(base string) []string
	}
	phases := []phase{
		{"creates", 1_000_000, func(base string) []string {
			return []string{
				fmt.Sprintf(`INSERT INTO %s.event_state (%s)
SELECT id, 1, v1, 1, 0, CAST([], 'Array(UInt64)'), conv, name, ts_ms, input, out0, lat0, emsg0, akeys, avals FROM (%s)`, db, stateCols, base),
				fmt.Sprintf(`INSERT INTO %s.events (%s)
SELECT id, conv, name, %s, ts_ms, lat0, err0, 1, 1 FROM (%s)`, db, eventCols, eventTime, base),
			}
		}},
		{"updates", 5_000_000, func(base string) []string {
			return []string{
				fmt.Sprintf(`INSERT INTO %s.event_state (%s)
SELECT id, 2, v2, 1, 0, fv2, conv, name, ts_ms, input, out1, lat1, emsg1, akeys, avals FROM (%s) WHERE upd = 1`, db, stateCols, base),
				// The -1 copy of the created row, then the +1 row of the update.
				fmt.Sprintf(`INSERT INTO %s.events (%s)
SELECT id, conv, name, %s, ts_ms, tupleElement(r, 1), tupleElement(r, 2), tupleElement(r, 3), tupleElement(r, 4)
FROM (%s) ARRAY JOIN [(lat0, err0, toUInt64(1), toInt8(-1)), (lat1, err1, toUInt64(2), toInt8(1))] AS r
WHERE upd = 1`, db, eventCols, eventTime, base),
			}
		}},
		{"deletes", 10_000_000, func(base string) []string {
			return []string{
				fmt.Sprintf(`INSERT INTO %s.event_state (%s)
SELECT id, revf + 1, v3, 1, 1, fvf, conv, name, ts_ms, input, outf, latf, emsgf, akeys, avals FROM (%s) WHERE del = 1`, db, stateCols, base),
				fmt.Sprintf(`INSERT INTO %s.events (%s)
SELECT id, conv, name, %s, ts_ms, latf, errf, revf, -1 FROM (%s) WHERE del = 1`, db, eventCols, eventTime, base),
			}
		}},
		{"append-only copies", 1_000_000, func(base string) []string {
			return []string{
				fmt.Sprintf(`INSERT INTO %s.events_plain SELECT id, conv, name, %s, ts_ms, latf, errf FROM (%s) WHERE del = 0`, db, eventTime, base),
				fmt.Sprintf(`INSERT INTO %s.state_plain SELECT id, revf, if(upd = 1, v2, v1), 1, 0, fvf, conv, name, ts_ms, input, outf, latf, emsgf, akeys, avals FROM (%s) WHERE del = 0`, db, base),
				fmt.Sprintf(`INSERT INTO %s.conv_plain SELECT id, revf, if(upd = 1, v2, v1), 1, 0, fvf, conv, name, ts_ms, input, outf, latf, emsgf, akeys, avals FROM (%s) WHERE del = 0`, db, base),
			}
		}},
	}
	for _, p := range phases {
		start := time.Now()
		for from := uint64(0); from < d.events; from += p.chunk {
			for _, q := range p.stmts(d.base(from, min(p.chunk, d.events-from))) {
				if err := exec(q); err != nil {
					return fmt.Errorf("generate %s: %w", p.name, err)
				}
			}
		}
		logf("generated %s in %s", p.name, time.Since(start).Round(time.Millisecond))
	}
	// error_days and event_days: what the views event_changes_to_error_days
	// and event_changes_to_event_days write, one insert per part of events
	// (the signed rows, summed per name and day within the insert).
	start := time.Now()
	parts, err := conn.Query(ctx, fmt.Sprintf("SELECT name FROM system.parts WHERE database = '%s' AND table = 'events' AND active ORDER BY min_block_number", db), "JSONCompact")
	if err != nil {
		return fmt.Errorf("list parts of events: %w", err)
	}
	var list struct{ Data [][]string }
	if err := json.Unmarshal(parts, &list); err != nil {
		return fmt.Errorf("list parts of events: %w", err)
	}
	for _, part := range list.Data {
		if err := exec(fmt.Sprintf(`INSERT INTO %s.error_days (name, day, errors)
SELECT name, toDate(event_time) AS day, sum(sign) AS errors FROM %s.events WHERE is_error = 1 AND _part = '%s' GROUP BY name, day`, db, db, part[0])); err != nil {
			return fmt.Errorf("generate error_days: %w", err)
		}
		if err := exec(fmt.Sprintf(`INSERT INTO %s.event_days (name, day, events, errors)
SELECT name, toDate(event_time) AS day, sum(sign) AS events, sumIf(sign, is_error = 1) AS errors FROM %s.events WHERE _part = '%s' GROUP BY name, day`, db, db, part[0])); err != nil {
			return fmt.Errorf("generate event_days: %w", err)
		}
	}
	logf("generated error_days and event_days in %s", time.Since(start).Round(time.Millisecond))
	return nil
}

// stopMerges stops the background merges of the dataset's tables: the
// engine does not remember it across restarts, so it is issued at every
// open, before anything is read. (A reused dataset could still see a merge
// start between the engine's start and this statement; the parts are
// printed with the report.)
func stopMerges(ctx context.Context, conn *chdb.Conn, db string) error {
	tables := []string{"events", "event_state", "error_days", "event_days", "events_plain", "state_plain", "conv_plain"}
	for _, c := range candidateTables {
		tables = append(tables, c.name)
	}
	for _, t := range tables {
		if _, err := conn.Query(ctx, "SYSTEM STOP MERGES "+db+"."+t, ""); err != nil && !strings.Contains(err.Error(), "UNKNOWN_TABLE") && !strings.Contains(err.Error(), "UNKNOWN_DATABASE") {
			return fmt.Errorf("stop merges of %s: %w", t, err)
		}
	}
	return nil
}
