package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// An insert writes event_state first, then event_changes, whose views write
// events and error_days in parallel. A fault between or inside those writes
// (disk full, engine or collector killed, a server error) can store a state
// without its analytics rows, or the rows of events without those of
// error_days. Whoever retries the operations (the exporter's retry, the
// persistent queue after a restart, Kafka's redelivery) finds them already in
// the state: they change nothing. repair runs for exactly those ids, so
// derived data converges to what event_state says without a scan of the
// whole database:
//   - events: the id's rows, netted, must be the +1 row of its state (when
//     visible) and nothing else. Whatever else is there is the row of an
//     earlier state whose transition was lost, or a transition written twice;
//     one change from what is there to the state is written through
//     event_changes, like any other change, so that its error rows follow.
//   - error_days and event_days: recounted from events over the days and the
//     event names of those ids (an event's day never changes), since a lost
//     part of theirs leaves no trace in events. Other writers keep writing
//     meanwhile; a difference is added only when two reads agree on it
//     (reconcileDays).

// analyticsRow is a netted row of events.
type analyticsRow struct {
	conversation, name string
	tsMs               int64
	latency            float64
	isError            uint8
	// The LLM call's analytics columns: model, token counts, cost.
	model  string
	tokens [numTokenColumns]uint64
	cost   float64
	n      int64
}

// matches reports whether r is the analytics row of st.
func (r analyticsRow) matches(st *event.State) bool {
	return r.n == 1 && r.conversation == st.ConversationID && r.name == st.Name &&
		r.tsMs == storedTime(st.Timestamp).UnixMilli() && r.latency == st.LatencyMs &&
		r.isError == boolByte(st.Error != "") && r.model == st.Model &&
		r.tokens == tokenCounts(&st.Generation) && r.cost == st.Cost
}

// state returns a visible state whose analytics row is r.
func (r analyticsRow) state(id string, revision uint64) *event.State {
	st := &event.State{ID: id, Revision: revision, Created: true, Event: event.Event{
		ConversationID: r.conversation, Name: r.name, Timestamp: timeOf(r.tsMs), LatencyMs: r.latency,
		Generation: event.Generation{
			Model: r.model, InputTokens: r.tokens[0], OutputTokens: r.tokens[1], CacheReadTokens: r.tokens[2],
			CacheCreationTokens: r.tokens[3], ReasoningTokens: r.tokens[4], Cost: r.cost,
		},
	}}
	if r.isError != 0 {
		// Only whether there is an error reaches the analytics rows.
		st.Error = "error"
	}
	return st
}

// repair makes the analytics rows of states (the current states of their
// ids) agree with them, and returns the number of ids it corrected.
func (s *Store) repair(ctx context.Context, states []*event.State) (int, error) {
	ids := make([]string, len(states))
	for i, st := range states {
		ids[i] = st.ID
	}
	rows, err := s.conn.QueryIDs(ctx, s.queries.analyticsRows, ids)
	if err != nil {
		return 0, fmt.Errorf("read the analytics rows of %d replayed ids: %w", len(ids), engineError(err))
	}
	rows = engineRows{rows}
	defer rows.Close()
	found := make(map[string][]analyticsRow, len(ids))
	for rows.Next() {
		var id string
		var r analyticsRow
		if err := rows.Scan(&id, &r.conversation, &r.name, &r.tsMs, &r.latency, &r.isError,
			&r.model, &r.tokens[0], &r.tokens[1], &r.tokens[2], &r.tokens[3], &r.tokens[4], &r.cost, &r.n); err != nil {
			return 0, fmt.Errorf("scan analytics row: %w", err)
		}
		found[id] = append(found[id], r)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read the analytics rows of %d replayed ids: %w", len(ids), err)
	}

	w := newStateWriter(len(states))
	repaired := 0
	for _, st := range states {
		have := found[st.ID]
		if st.Visible() && len(have) == 1 && have[0].matches(st) || !st.Visible() && len(have) == 0 {
			continue
		}
		repaired++
		none := &event.State{ID: st.ID, Revision: st.Revision}
		// Cancel every row there (a net -k row gets k +1 rows, a net +k
		// row k -1 rows), then add the state's row: the last +1 row of the
		// id is the state's, which is the row a collapsing merge keeps.
		for _, r := range have {
			for range abs(r.n) {
				if r.n > 0 {
					w.add(r.state(st.ID, st.Revision), none)
				} else {
					w.add(none, r.state(st.ID, st.Revision))
				}
			}
		}
		if st.Visible() {
			w.add(none, st)
		}
	}
	if w.len() > 0 {
		if err := s.conn.Insert(ctx, s.changes, omitDefaults(w.changeColumns())); err != nil {
			return 0, fmt.Errorf("repair the analytics rows of %d ids: %w", repaired, err)
		}
	}
	names := map[string]bool{}
	for _, st := range states {
		names[st.Name] = true
		for _, r := range found[st.ID] {
			names[r.name] = true
		}
	}
	if err := s.reconcileDays(ctx, states, slices.Sorted(maps.Keys(names))); err != nil {
		return 0, err
	}
	return repaired, nil
}

// reconcileSettle is how long reconcileDays waits before it reads the
// differences again: longer than an insert of another writer takes between
// its parts.
var reconcileSettle = 250 * time.Millisecond

// dayCorrection is one (name, day) difference of error_days or event_days.
type dayCorrection struct {
	name           string
	day            int64 // days since 1970-01-01
	errors, events int64
}

// reconcileDays makes error_days and event_days agree with the analytics
// rows for the names given, over the UTC days the states' events fall on
// (from the first to the last). It adds only the differences that two reads,
// reconcileSettle apart, agree on: another writer's insert between its parts
// (its events written, its error_days not yet) shows as a difference that
// the next read no longer has, and adding it would count that insert twice.
// Limited to the names of the replayed states, a recount never touches the
// counts of names it has no reason to doubt.
func (s *Store) reconcileDays(ctx context.Context, states []*event.State, names []string) error {
	days := make([]time.Time, 0, len(states))
	for _, st := range states {
		if !st.Timestamp.IsZero() {
			days = append(days, st.Timestamp.UTC().Truncate(24*time.Hour))
		}
	}
	if len(days) == 0 {
		return nil
	}
	first, last := slices.MinFunc(days, time.Time.Compare), slices.MaxFunc(days, time.Time.Compare)
	args := []any{first.Unix(), last.AddDate(0, 0, 1).Unix(), first.Format(time.DateOnly), last.Format(time.DateOnly)}
	for _, r := range []struct{ table, query, insert string }{
		{"error_days", s.queries.reconcileErrorDays, "INSERT INTO " + s.dialect.Database + ".error_days (name, day, errors) SELECT ?, toDate('1970-01-01') + ?, ?"},
		{"event_days", s.queries.reconcileEventDays, "INSERT INTO " + s.dialect.Database + ".event_days (name, day, errors, events) SELECT ?, toDate('1970-01-01') + ?, ?, ?"},
	} {
		where := fmt.Sprintf("reconcile %s from %s to %s", r.table, first.Format(time.DateOnly), last.Format(time.DateOnly))
		query, err := bindLiterals(r.query, args)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		before, err := s.dayDifferences(ctx, query, names)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if len(before) == 0 {
			continue
		}
		select {
		case <-time.After(reconcileSettle):
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", where, ctx.Err())
		}
		after, err := s.dayDifferences(ctx, query, names)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		for _, c := range after {
			if !slices.Contains(before, c) {
				continue
			}
			values := []any{c.name, c.day, c.errors, c.events}
			if r.table == "error_days" {
				values = values[:3] // no events column
			}
			if err := s.conn.Exec(ctx, r.insert, values...); err != nil {
				return fmt.Errorf("%s: %w", where, engineError(err))
			}
		}
	}
	return nil
}

// dayDifferences runs a reconcile query for names.
func (s *Store) dayDifferences(ctx context.Context, query string, names []string) ([]dayCorrection, error) {
	rows, err := s.conn.QueryIDs(ctx, query, names)
	if err != nil {
		return nil, engineError(err)
	}
	rows = engineRows{rows}
	defer rows.Close()
	var out []dayCorrection
	for rows.Next() {
		var c dayCorrection
		if err := rows.Scan(&c.name, &c.day, &c.errors, &c.events); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
