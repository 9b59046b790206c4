package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// ErrNotFound is returned for an unknown or deleted event.
var ErrNotFound = errors.New("event not found")

// Store reads and writes events on one ClickHouse engine.
type Store struct {
	conn    Conn
	dialect dialect
	queries queries
	version string
	// stateTable (database.event_state) and changes (database.event_changes,
	// whose views write the analytics rows) are the tables Apply inserts into.
	stateTable, changes string
	// prices gives the cost of the LLM calls Apply stores.
	prices *event.PriceTable

	// writeMu serialises Apply: the merge reads the stored state of an id and
	// writes the next one, which must not interleave with another merge.
	writeMu sync.Mutex
}

// Open connects to the engine the config names, detects its version and
// creates or migrates the schema.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	kind, addr, err := cfg.parseEndpoint()
	if err != nil {
		return nil, err
	}
	var conn Conn
	switch kind {
	case endpointServer:
		conn, err = openServer(&clickhouse.Options{
			Addr: []string{addr},
			Auth: clickhouse.Auth{
				Database: "default",
				Username: cfg.Username,
				Password: string(cfg.Password),
			},
			DialTimeout: cfg.DialTimeout,
			Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
		})
	case endpointEmbedded:
		conn, err = openEmbedded(cfg.ChdbLibrary, addr, cfg.Embedded)
	}
	if err != nil {
		return nil, err
	}
	s, err := newStore(ctx, conn, cfg)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return s, nil
}

func newStore(ctx context.Context, conn Conn, cfg Config) (*Store, error) {
	version, err := conn.ServerVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("read ClickHouse version: %w", err)
	}
	d, err := serverFeatures(version, cfg.Database, int(cfg.TTL/(24*time.Hour)))
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, conn, d); err != nil {
		return nil, err
	}
	q, err := renderQueries(d)
	if err != nil {
		return nil, err
	}
	return &Store{conn: conn, dialect: d, queries: q, version: version, stateTable: d.Database + ".event_state", changes: d.Database + ".event_changes"}, nil
}

// SetPrices sets the price table of the costs Apply computes (none before).
// Call it before the first Apply.
func (s *Store) SetPrices(t *event.PriceTable) { s.prices = t }

// ServerVersion is the version of the engine found at Open.
func (s *Store) ServerVersion() string { return s.version }

// Ping checks that the engine answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Exec runs one statement on the engine, its `?` placeholders bound to args
// (see bindLiterals): for tools and tests that change the schema around
// the store, never for data.
func (s *Store) Exec(ctx context.Context, statement string, args ...any) error {
	return s.conn.Exec(ctx, statement, args...)
}

// Database is the database the store reads and writes.
func (s *Store) Database() string { return s.dialect.Database }

// Close releases the connection.
func (s *Store) Close() error { return s.conn.Close() }

// ApplyResult counts what one Apply did.
type ApplyResult struct {
	// Changed is the number of ids whose state changed.
	Changed int
	// Unchanged is the number of operations that changed nothing: replays,
	// duplicates, and operations on deleted events.
	Unchanged int
	// Repaired is the number of ids whose analytics rows (events,
	// error_days, event_days) did not match their state and were corrected.
	Repaired int
	// Rows and Bytes are the size of the inserts of the changed states:
	// their rows and the bytes of their columns in the native format,
	// uncompressed (0 without an insert).
	Rows, Bytes int
	// Unpriced is the number of ids whose model or token counts changed to
	// a model the price table does not know: they have no cost.
	Unpriced int
}

// Apply merges operations onto the stored states of their ids and writes the
// new states and their analytics rows in one insert. Operations of one id are
// applied in version order; applying the same operations again changes
// nothing, so a redelivered batch is harmless.
func (s *Store) Apply(ctx context.Context, ops []event.Operation) (ApplyResult, error) {
	var res ApplyResult
	if len(ops) == 0 {
		return res, nil
	}
	order := make([]int, len(ops))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		return cmp.Or(cmp.Compare(ops[a].ID, ops[b].ID), cmp.Compare(ops[a].Version, ops[b].Version))
	})
	ids := make([]string, 0, len(ops))
	for i, idx := range order {
		if i == 0 || ops[idx].ID != ops[order[i-1]].ID {
			ids = append(ids, ops[idx].ID)
		}
	}

	s.writeMu.Lock()
	defer s.writeMu.Unlock()

	stored, err := s.loadStates(ctx, ids)
	if err != nil {
		return res, err
	}
	w := newStateWriter(len(ids))
	// replayed holds the final state of every id with an operation that
	// changed nothing: the sign that an earlier insert of it may have stopped
	// between its parts (see repair).
	var replayed []*event.State
	for start := 0; start < len(order); {
		id := ops[order[start]].ID
		end := start
		for end < len(order) && ops[order[end]].ID == id {
			end++
		}
		old, found := stored[id]
		if !found {
			old = &event.State{ID: id}
		}
		next := *old
		changed, unchanged := false, false
		for _, idx := range order[start:end] {
			if next.Apply(&ops[idx]) {
				changed = true
			} else {
				res.Unchanged++
				unchanged = true
			}
		}
		start = end
		if changed {
			res.Changed++
			// The cost is what the price table says when the usage changes,
			// and stays as it was otherwise: a replay or an update of another
			// field keeps the cost computed when the call arrived.
			if next.UsageChanged(&old.Event) {
				cost, priced := s.prices.Cost(&next.Generation)
				next.Cost = cost
				if !priced && (next.Model != "" || next.InputTokens > 0 || next.OutputTokens > 0) {
					res.Unpriced++
				}
			}
			next.Revision = old.Revision + 1
			w.add(old, &next)
		}
		if unchanged && found {
			replayed = append(replayed, &next)
		}
	}
	if w.len() > 0 {
		// The state first, then what derives from it: an insert cut between
		// the two (disk full, engine killed) leaves states whose derived rows
		// are missing, which the retry finds as replays and repairs.
		states, changes := omitDefaults(w.stateColumns()), omitDefaults(w.changeColumns())
		if err := s.conn.Insert(ctx, s.stateTable, states); err != nil {
			return ApplyResult{}, fmt.Errorf("write %d states: %w", res.Changed, err)
		}
		if err := s.conn.Insert(ctx, s.changes, changes); err != nil {
			return ApplyResult{}, fmt.Errorf("write the analytics rows of %d state changes: %w", res.Changed, err)
		}
		res.Rows, res.Bytes = w.len(), nativeBytes(states)+nativeBytes(changes)
	}
	if len(replayed) > 0 {
		repaired, err := s.repair(ctx, replayed)
		if err != nil {
			return ApplyResult{}, err
		}
		res.Repaired = repaired
	}
	return res, nil
}

// loadStates returns the stored state of each id that has one.
func (s *Store) loadStates(ctx context.Context, ids []string) (map[string]*event.State, error) {
	states := make(map[string]*event.State, len(ids))
	// Under a read's memory bound when a read asks (a conversation page);
	// the exporter's merges carry none.
	ctx, query := withMemoryBound(ctx, s.queries.states)
	rows, err := s.conn.QueryIDs(ctx, query, ids)
	if err != nil {
		return nil, fmt.Errorf("look up the state of %d ids: %w", len(ids), engineError(err))
	}
	rows = engineRows{rows}
	defer rows.Close()
	for rows.Next() {
		st, err := scanState(rows)
		if err != nil {
			return nil, err
		}
		states[st.ID] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up the state of %d ids: %w", len(ids), err)
	}
	return states, nil
}

func scanState(rows Rows) (*event.State, error) {
	var (
		st               event.State
		created, deleted uint8
		fieldVersions    []uint64
		tsMs             int64
		keys, values     []string
	)
	g := &st.Generation
	if err := rows.Scan(&st.ID, &st.Revision, &st.Version, &created, &deleted, &fieldVersions,
		&st.ConversationID, &st.Name, &tsMs, &st.Input, &st.Output, &st.LatencyMs, &st.Error,
		&keys, &values,
		&g.Model, &g.Provider, &g.Operation, &g.InputTokens, &g.OutputTokens, &g.CacheReadTokens,
		&g.CacheCreationTokens, &g.ReasoningTokens, &g.TimeToFirstTokenMs, &g.FinishReason, &g.Cost,
		&g.TraceID, &g.SpanID, &st.Writes, &st.WriteHashes); err != nil {
		return nil, fmt.Errorf("scan event state: %w", err)
	}
	st.Created, st.Deleted = created != 0, deleted != 0
	if st.Writes == 0 {
		// Stored before writes were counted: its stored changes are the
		// closest count there is.
		st.Writes = st.Revision
	}
	if len(fieldVersions) == 0 {
		for f := range st.FieldVersions {
			st.FieldVersions[f] = st.Version
		}
	} else {
		copy(st.FieldVersions[:], fieldVersions)
	}
	st.Timestamp = timeOf(tsMs)
	st.Attributes = zipAttributes(keys, values)
	return &st, nil
}

func zipAttributes(keys, values []string) []event.Attribute {
	if len(keys) == 0 {
		return nil
	}
	attrs := make([]event.Attribute, min(len(keys), len(values)))
	for i := range attrs {
		attrs[i] = event.Attribute{Key: keys[i], Value: values[i]}
	}
	return attrs
}

// stateWriter accumulates the columns of one event_changes insert.
type stateWriter struct {
	id, conv, name, input, output, errMsg []string
	revision, version, writes             []uint64
	writeHashes                           [][]uint64
	created, deleted, emitPrev, emitNew   []uint8
	fieldVersions                         [][]uint64
	fieldVersionsFlat                     []uint64
	tsMs, prevTsMs                        []int64
	latency, prevLatency                  []float64
	attrKeys, attrValues                  [][]string
	prevConv, prevName                    []string
	prevIsError                           []uint8
	// The LLM call columns and their prev_* copies of the analytics ones.
	model, provider, operation, finishReason, traceID, spanID []string
	tokens                                                    [numTokenColumns][]uint64
	ttft, cost                                                []float64
	prevModel                                                 []string
	prevTokens                                                [numTokenColumns][]uint64
	prevCost                                                  []float64
}

// The token columns, in the order of tokenColumnNames.
const numTokenColumns = 5

var tokenColumnNames = [numTokenColumns]string{
	"input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens", "reasoning_tokens",
}

func tokenCounts(g *event.Generation) [numTokenColumns]uint64 {
	return [numTokenColumns]uint64{g.InputTokens, g.OutputTokens, g.CacheReadTokens, g.CacheCreationTokens, g.ReasoningTokens}
}

// newStateWriter returns a writer with room for n rows, so that appending a
// row never grows a column.
func newStateWriter(n int) *stateWriter {
	return &stateWriter{
		id: make([]string, 0, n), conv: make([]string, 0, n), name: make([]string, 0, n),
		input: make([]string, 0, n), output: make([]string, 0, n), errMsg: make([]string, 0, n),
		revision: make([]uint64, 0, n), version: make([]uint64, 0, n),
		writes: make([]uint64, 0, n), writeHashes: make([][]uint64, 0, n),
		created: make([]uint8, 0, n), deleted: make([]uint8, 0, n),
		emitPrev: make([]uint8, 0, n), emitNew: make([]uint8, 0, n),
		fieldVersions: make([][]uint64, 0, n),
		tsMs:          make([]int64, 0, n), prevTsMs: make([]int64, 0, n),
		latency: make([]float64, 0, n), prevLatency: make([]float64, 0, n),
		attrKeys: make([][]string, 0, n), attrValues: make([][]string, 0, n),
		prevConv: make([]string, 0, n), prevName: make([]string, 0, n),
		prevIsError: make([]uint8, 0, n),
	}
}

func (w *stateWriter) len() int { return len(w.id) }

// add writes the state next, which replaces old, and how its analytics rows
// change: a -1 copy of old when old was visible and an analytics column
// changed or the event disappeared, a +1 row of next when next is visible and
// differs from old there.
func (w *stateWriter) add(old, next *event.State) {
	same := old.Visible() && next.Visible() && old.SameAnalytics(&next.Event)
	w.emitPrev = append(w.emitPrev, boolByte(old.Visible() && !same))
	w.emitNew = append(w.emitNew, boolByte(next.Visible() && !same))
	w.prevConv = append(w.prevConv, old.ConversationID)
	w.prevName = append(w.prevName, old.Name)
	w.prevTsMs = append(w.prevTsMs, storedTime(old.Timestamp).UnixMilli())
	w.prevLatency = append(w.prevLatency, old.LatencyMs)
	w.prevIsError = append(w.prevIsError, boolByte(old.Error != ""))
	w.prevModel = append(w.prevModel, old.Model)
	for i, n := range tokenCounts(&old.Generation) {
		w.prevTokens[i] = append(w.prevTokens[i], n)
	}
	w.prevCost = append(w.prevCost, old.Cost)

	w.id = append(w.id, next.ID)
	w.revision = append(w.revision, next.Revision)
	w.version = append(w.version, next.Version)
	w.writes = append(w.writes, next.Writes)
	w.writeHashes = append(w.writeHashes, next.WriteHashes)
	w.created = append(w.created, boolByte(next.Created))
	w.deleted = append(w.deleted, boolByte(next.Deleted))
	w.fieldVersions = append(w.fieldVersions, w.compactFieldVersions(next))
	w.conv = append(w.conv, next.ConversationID)
	w.name = append(w.name, next.Name)
	w.tsMs = append(w.tsMs, storedTime(next.Timestamp).UnixMilli())
	w.input = append(w.input, next.Input)
	w.output = append(w.output, next.Output)
	w.latency = append(w.latency, next.LatencyMs)
	w.errMsg = append(w.errMsg, next.Error)
	var keys, values []string
	if len(next.Attributes) > 0 {
		keys = make([]string, len(next.Attributes))
		values = make([]string, len(next.Attributes))
		for i, a := range next.Attributes {
			keys[i], values[i] = a.Key, a.Value
		}
	}
	w.attrKeys = append(w.attrKeys, keys)
	w.attrValues = append(w.attrValues, values)

	g := &next.Generation
	w.model = append(w.model, g.Model)
	w.provider = append(w.provider, g.Provider)
	w.operation = append(w.operation, g.Operation)
	w.finishReason = append(w.finishReason, g.FinishReason)
	w.traceID = append(w.traceID, g.TraceID)
	w.spanID = append(w.spanID, g.SpanID)
	for i, n := range tokenCounts(g) {
		w.tokens[i] = append(w.tokens[i], n)
	}
	w.ttft = append(w.ttft, g.TimeToFirstTokenMs)
	w.cost = append(w.cost, g.Cost)
}

// compactFieldVersions returns the field ranks to store: none when a single
// create set every field (the common case, restored by scanState from the
// version), else all of them, in one shared backing array per batch.
func (w *stateWriter) compactFieldVersions(st *event.State) []uint64 {
	all := true
	for _, v := range st.FieldVersions {
		all = all && v == st.Version
	}
	if all {
		return nil
	}
	start := len(w.fieldVersionsFlat)
	w.fieldVersionsFlat = append(w.fieldVersionsFlat, st.FieldVersions[:]...)
	return w.fieldVersionsFlat[start:len(w.fieldVersionsFlat):len(w.fieldVersionsFlat)]
}

// storedTime is the timestamp stored for t: a state without a create yet (or
// an absent previous state) has none, and stores the epoch.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return event.MinTimestamp
	}
	return t
}

// stateColumns are the columns of the event_state insert.
func (w *stateWriter) stateColumns() []Column {
	cols := []Column{
		{"id", w.id}, {"revision", w.revision}, {"version", w.version}, {"created", w.created},
		{"deleted", w.deleted}, {"field_versions", w.fieldVersions}, {"conversation_id", w.conv},
		{"event_name", w.name}, {"ts_ms", w.tsMs}, {"input", w.input},
		{"output", w.output}, {"latency", w.latency}, {"error", w.errMsg}, {"attr_keys", w.attrKeys},
		{"attr_values", w.attrValues}, {"writes", w.writes}, {"write_hashes", w.writeHashes},
		{"model", w.model}, {"provider", w.provider}, {"operation", w.operation},
		{"time_to_first_token", w.ttft}, {"finish_reason", w.finishReason}, {"cost", w.cost},
		{"trace_id", w.traceID}, {"span_id", w.spanID},
	}
	for i, name := range tokenColumnNames {
		cols = append(cols, Column{name, w.tokens[i]})
	}
	return cols
}

// changeColumns are the columns of the event_changes insert: what its views
// read to write the analytics rows.
func (w *stateWriter) changeColumns() []Column {
	cols := []Column{
		{"id", w.id}, {"revision", w.revision}, {"conversation_id", w.conv},
		{"event_name", w.name}, {"ts_ms", w.tsMs}, {"latency", w.latency}, {"error", w.errMsg},
		{"emit_prev", w.emitPrev}, {"emit_new", w.emitNew},
		{"prev_conversation_id", w.prevConv}, {"prev_event_name", w.prevName},
		{"prev_ts_ms", w.prevTsMs}, {"prev_latency", w.prevLatency},
		{"prev_is_error", w.prevIsError},
		{"model", w.model}, {"cost", w.cost}, {"prev_model", w.prevModel}, {"prev_cost", w.prevCost},
	}
	for i, name := range tokenColumnNames {
		cols = append(cols, Column{name, w.tokens[i]}, Column{"prev_" + name, w.prevTokens[i]})
	}
	return cols
}

// omitDefaults drops the columns whose every value is the column default (0,
// "", empty array): the server fills them in, and a batch of creates does
// not ship the columns only updates use. The columns of the sorting and
// version keys are always sent.
func omitDefaults(columns []Column) []Column {
	kept := columns[:0]
	for _, c := range columns {
		if c.Name == "id" || c.Name == "revision" || !allDefault(c.Values) {
			kept = append(kept, c)
		}
	}
	return kept
}

// nativeBytes is the size of the columns in ClickHouse's native format,
// uncompressed: fixed-width values, strings with their length prefix, arrays
// with their offsets. It stands for what an insert ships.
func nativeBytes(columns []Column) int {
	strs := func(vs []string) int {
		n := 0
		for _, v := range vs {
			n += uvarintLen(len(v)) + len(v)
		}
		return n
	}
	total := 0
	for _, c := range columns {
		switch vs := c.Values.(type) {
		case []string:
			total += strs(vs)
		case []uint64:
			total += 8 * len(vs)
		case []int64:
			total += 8 * len(vs)
		case []float64:
			total += 8 * len(vs)
		case []uint8:
			total += len(vs)
		case [][]uint64:
			for _, a := range vs {
				total += 8 + 8*len(a)
			}
		case [][]string:
			for _, a := range vs {
				total += 8 + strs(a)
			}
		}
	}
	return total
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

func allDefault(values any) bool {
	switch vs := values.(type) {
	case []string:
		return !slices.ContainsFunc(vs, func(v string) bool { return v != "" })
	case []uint64:
		return !slices.ContainsFunc(vs, func(v uint64) bool { return v != 0 })
	case []int64:
		return !slices.ContainsFunc(vs, func(v int64) bool { return v != 0 })
	case []uint8:
		return !slices.ContainsFunc(vs, func(v uint8) bool { return v != 0 })
	case []float64:
		return !slices.ContainsFunc(vs, func(v float64) bool { return v != 0 })
	case [][]string:
		return !slices.ContainsFunc(vs, func(v []string) bool { return len(v) != 0 })
	case [][]uint64:
		return !slices.ContainsFunc(vs, func(v []uint64) bool { return len(v) != 0 })
	default:
		return false
	}
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
