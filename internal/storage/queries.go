package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

type queryMaxMemoryKey struct{}

// WithQueryMaxMemory returns a context under which the store's reads run
// with the ClickHouse setting max_memory_usage = bytes, the engine's bound on
// the memory of one query, on either engine (0 keeps the engine's own
// settings). An aggregation whose state outgrows a quarter of the bound
// spills to temporary files on disk (max_bytes_before_external_group_by)
// and finishes, slower; past the bound the read fails
// with ErrQueryMemoryLimit instead of growing the engine's memory, which for
// the embedded engine is the collector's. The bound is per call, like
// clickhouse-go's per-query settings, because it belongs to whoever serves
// the request (the query API) rather than to the connection, which the
// exporter shares.
func WithQueryMaxMemory(ctx context.Context, bytes uint64) context.Context {
	return context.WithValue(ctx, queryMaxMemoryKey{}, bytes)
}

// read runs one of the store's read statements (a SELECT that ends with
// its last clause) under the memory bound of ctx. The bound goes both in
// the settings sent with the query, which is where a server takes it from
// (18.16 does not apply a SETTINGS clause to the query's memory), and in a
// SETTINGS clause, which is where the embedded engine takes it from.
func (s *Store) read(ctx context.Context, query string, args ...any) (Rows, error) {
	ctx, query = withMemoryBound(ctx, query)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, engineError(err)
	}
	return engineRows{rows}, nil
}

// withMemoryBound adds the memory bound of ctx, if any, to a read statement
// (see read).
func withMemoryBound(ctx context.Context, query string) (context.Context, string) {
	if limit, _ := ctx.Value(queryMaxMemoryKey{}).(uint64); limit > 0 {
		// A quarter, not the half ClickHouse suggests: reading blocks, the
		// switch to a two-level table and the p95's arrays come on top
		// (at a half of 1 GiB, the p95 over 10M events still reached the bound).
		spill := limit / 4
		ctx = clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
			"max_memory_usage":                   int(limit),
			"max_bytes_before_external_group_by": int(spill),
		}))
		query += "\nSETTINGS max_memory_usage = " + strconv.FormatUint(limit, 10) +
			", max_bytes_before_external_group_by = " + strconv.FormatUint(spill, 10)
	}
	return ctx, query
}

// engineRows marks the memory-limit errors of a result streamed by the
// server, which can arrive after the first rows.
type engineRows struct{ Rows }

func (r engineRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return engineError(err)
	}
	return nil
}

// StoredEvent is an event as reads return it.
type StoredEvent struct {
	ID string
	// Version is the number of distinct writes the event received
	// (event.State.Writes).
	Version uint64
	event.Event
}

// Event returns the current state of id, or ErrNotFound when it is unknown,
// deleted, or only updated so far (its create has not arrived).
func (s *Store) Event(ctx context.Context, id string) (*StoredEvent, error) {
	rows, err := s.read(ctx, s.queries.state, id)
	if err != nil {
		return nil, fmt.Errorf("read event: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read event: %w", err)
		}
		return nil, ErrNotFound
	}
	st, err := scanState(rows)
	if err != nil {
		return nil, err
	}
	if !st.Visible() {
		return nil, ErrNotFound
	}
	return &StoredEvent{ID: st.ID, Version: st.Writes, Event: st.Event}, nil
}

// ConversationCursor is the position after the last event of a page.
type ConversationCursor struct {
	TimestampMs int64
	ID          string
}

// Conversation returns up to limit events of a conversation after the cursor
// (nil: from the start), ordered by timestamp then id.
func (s *Store) Conversation(ctx context.Context, conversationID string, after *ConversationCursor, limit int) ([]StoredEvent, error) {
	from := ConversationCursor{TimestampMs: -1 << 62}
	if after != nil {
		from = *after
	}
	rows, err := s.read(ctx, s.queries.conversation, conversationID, from.TimestampMs, from.TimestampMs, from.ID, limit)
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	var ids []string
	for rows.Next() {
		var (
			id   string
			tsMs int64
		)
		if err := rows.Scan(&id, &tsMs); err != nil {
			rows.Close()
			return nil, fmt.Errorf("scan conversation event: %w", err)
		}
		ids = append(ids, id)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	states, err := s.loadStates(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read conversation: %w", err)
	}
	out := make([]StoredEvent, 0, len(ids))
	for _, id := range ids {
		// A state that is missing or no longer visible was changed by an
		// insert that landed between the two reads: leave it out.
		if st, ok := states[id]; ok && st.Visible() {
			out = append(out, StoredEvent{ID: id, Version: st.Writes, Event: st.Event})
		}
	}
	return out, nil
}

// DayCount is the number of errors of one UTC day.
type DayCount struct {
	Date   string // YYYY-MM-DD
	Errors int64
}

// ErrorCounts returns the errors of eventName per UTC day for the days days
// ending today (as of now), oldest first, days without errors included.
func (s *Store) ErrorCounts(ctx context.Context, eventName string, days int, now time.Time) ([]DayCount, error) {
	today := now.UTC().Truncate(24 * time.Hour)
	first := today.AddDate(0, 0, -(days - 1))
	rows, err := s.read(ctx, s.queries.errorCounts, eventName, first.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("count errors: %w", err)
	}
	defer rows.Close()
	counts := make(map[string]int64, days)
	for rows.Next() {
		var dayNumber, n int64
		if err := rows.Scan(&dayNumber, &n); err != nil {
			return nil, fmt.Errorf("scan error count: %w", err)
		}
		counts[time.Unix(dayNumber*24*60*60, 0).UTC().Format(time.DateOnly)] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count errors: %w", err)
	}
	out := make([]DayCount, days)
	for i := range out {
		d := first.AddDate(0, 0, i).Format(time.DateOnly)
		out[i] = DayCount{Date: d, Errors: counts[d]}
	}
	return out, nil
}

// LatencyRow is the p95 latency of one (event name, conversation).
type LatencyRow struct {
	EventName      string
	ConversationID string
	P95            float64
	Count          uint64
}

// LatencyFilter narrows the latency report; zero values mean no filter.
type LatencyFilter struct {
	EventName string
	Since     time.Time
}

// Latency returns the p95 latency per (event name, conversation), highest
// first.
func (s *Store) Latency(ctx context.Context, f LatencyFilter, limit int) ([]LatencyRow, error) {
	var since int64
	if !f.Since.IsZero() {
		since = f.Since.Unix()
	}
	rows, err := s.read(ctx, s.queries.latency, f.EventName, f.EventName, since, since, limit)
	if err != nil {
		return nil, fmt.Errorf("compute latency: %w", err)
	}
	defer rows.Close()
	var out []LatencyRow
	for rows.Next() {
		var r LatencyRow
		if err := rows.Scan(&r.EventName, &r.ConversationID, &r.P95, &r.Count); err != nil {
			return nil, fmt.Errorf("scan latency: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute latency: %w", err)
	}
	return out, nil
}

// SessionErrors is one conversation's error rate.
type SessionErrors struct {
	ConversationID string
	Errors         int64
	Total          int64
}

// TopErrorSessions returns the conversations with errors and at least
// minEvents events, by error rate then errors, highest first, counting the
// events whose timestamp is at or after since (all when since is zero).
func (s *Store) TopErrorSessions(ctx context.Context, minEvents int, since time.Time, limit int) ([]SessionErrors, error) {
	var from int64
	if !since.IsZero() {
		from = since.Unix()
	}
	rows, err := s.read(ctx, s.queries.topErrorSessions, from, from, minEvents, limit)
	if err != nil {
		return nil, fmt.Errorf("rank sessions: %w", err)
	}
	defer rows.Close()
	var out []SessionErrors
	for rows.Next() {
		var r SessionErrors
		if err := rows.Scan(&r.ConversationID, &r.Errors, &r.Total); err != nil {
			return nil, fmt.Errorf("scan session: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rank sessions: %w", err)
	}
	return out, nil
}
