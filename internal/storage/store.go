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
		conn, err = openEmbedded(cfg.ChdbLibrary, addr)
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
	return &Store{conn: conn, dialect: d, queries: q, version: version}, nil
}

// ServerVersion is the version of the engine found at Open.
func (s *Store) ServerVersion() string { return s.version }

// Ping checks that the engine answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Close releases the connection.
func (s *Store) Close() error { return s.conn.Close() }

// ApplyResult counts what one Apply did.
type ApplyResult struct {
	// Changed is the number of ids whose state changed.
	Changed int
	// Unchanged is the number of operations that changed nothing: replays,
	// duplicates, and operations on deleted events.
	Unchanged int
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
	var w opsWriter
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
		changed := false
		for _, idx := range order[start:end] {
			if next.Apply(&ops[idx]) {
				changed = true
			} else {
				res.Unchanged++
			}
		}
		start = end
		if !changed {
			continue
		}
		res.Changed++
		next.Revision = old.Revision + 1
		w.addState(&next)
		same := old.Visible() && next.Visible() && old.SameAnalytics(&next.Event)
		if old.Visible() && !same {
			w.addRow(old, -1)
		}
		if next.Visible() && !same {
			w.addRow(&next, 1)
		}
	}
	if w.len() == 0 {
		return res, nil
	}
	if err := s.conn.Insert(ctx, s.dialect.Database+".event_ops", w.columns()); err != nil {
		return ApplyResult{}, fmt.Errorf("write %d state changes: %w", res.Changed, err)
	}
	return res, nil
}

// loadStates returns the stored state of each id that has one.
func (s *Store) loadStates(ctx context.Context, ids []string) (map[string]*event.State, error) {
	states := make(map[string]*event.State, len(ids))
	rows, err := s.conn.QueryIDs(ctx, s.queries.states, ids)
	if err != nil {
		return nil, fmt.Errorf("look up the state of %d ids: %w", len(ids), err)
	}
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
	if err := rows.Scan(&st.ID, &st.Revision, &st.Version, &created, &deleted, &fieldVersions,
		&st.ConversationID, &st.Name, &tsMs, &st.Input, &st.Output, &st.LatencyMs, &st.Error,
		&keys, &values); err != nil {
		return nil, fmt.Errorf("scan event state: %w", err)
	}
	st.Created, st.Deleted = created != 0, deleted != 0
	copy(st.FieldVersions[:], fieldVersions)
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

// opsWriter accumulates the columns of one event_ops insert.
type opsWriter struct {
	target, created, deleted []uint8
	sign                     []int8
	id, conv, name           []string
	input, output, errMsg    []string
	revision, version        []uint64
	fieldVersions            [][]uint64
	ts                       []time.Time
	tsMs                     []int64
	latency                  []float64
	attrKeys, attrValues     [][]string
}

func (w *opsWriter) len() int { return len(w.id) }

func (w *opsWriter) add(st *event.State, target uint8, sign int8) {
	w.target = append(w.target, target)
	w.sign = append(w.sign, sign)
	w.id = append(w.id, st.ID)
	w.revision = append(w.revision, st.Revision)
	w.version = append(w.version, st.Version)
	w.created = append(w.created, boolByte(st.Created))
	w.deleted = append(w.deleted, boolByte(st.Deleted))
	w.conv = append(w.conv, st.ConversationID)
	w.name = append(w.name, st.Name)
	ts := st.Timestamp
	if ts.IsZero() {
		// An update that came before its create has no timestamp yet.
		ts = event.MinTimestamp
	}
	w.ts = append(w.ts, ts)
	w.tsMs = append(w.tsMs, ts.UnixMilli())
	w.latency = append(w.latency, st.LatencyMs)
	w.errMsg = append(w.errMsg, st.Error)
	if target == targetEvents {
		// Analytics rows carry only what the events table keeps.
		w.fieldVersions = append(w.fieldVersions, nil)
		w.input = append(w.input, "")
		w.output = append(w.output, "")
		w.attrKeys = append(w.attrKeys, nil)
		w.attrValues = append(w.attrValues, nil)
		return
	}
	w.fieldVersions = append(w.fieldVersions, slices.Clone(st.FieldVersions[:]))
	w.input = append(w.input, st.Input)
	w.output = append(w.output, st.Output)
	keys := make([]string, len(st.Attributes))
	values := make([]string, len(st.Attributes))
	for i, a := range st.Attributes {
		keys[i], values[i] = a.Key, a.Value
	}
	w.attrKeys = append(w.attrKeys, keys)
	w.attrValues = append(w.attrValues, values)
}

// The targets of event_ops rows (see sql/create_event_ops.sql).
const (
	targetState  uint8 = 0
	targetEvents uint8 = 1
)

// addState writes the full state (target 0: event_state).
func (w *opsWriter) addState(st *event.State) { w.add(st, targetState, 1) }

// addRow writes an analytics row or its cancellation (target 1: events).
func (w *opsWriter) addRow(st *event.State, sign int8) { w.add(st, targetEvents, sign) }

func (w *opsWriter) columns() []Column {
	return []Column{
		{"target", w.target}, {"sign", w.sign}, {"id", w.id}, {"revision", w.revision},
		{"version", w.version}, {"created", w.created}, {"deleted", w.deleted},
		{"field_versions", w.fieldVersions}, {"conversation_id", w.conv}, {"event_name", w.name},
		{"timestamp", w.ts}, {"ts_ms", w.tsMs}, {"input", w.input}, {"output", w.output},
		{"latency", w.latency}, {"error", w.errMsg}, {"attr_keys", w.attrKeys},
		{"attr_values", w.attrValues},
	}
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
