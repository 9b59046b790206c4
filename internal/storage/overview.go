package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"
	"time"
)

// DayEvents is the number of events and of errors of one UTC day.
type DayEvents struct {
	Date   string // YYYY-MM-DD
	Events int64
	Errors int64
}

// NameEvents is the number of events, of errors and the p95 latency of one
// event name.
type NameEvents struct {
	EventName string
	Events    int64
	Errors    int64
	P95       float64
}

// EventDays returns the events and errors per UTC day (of eventName; all
// names when empty) for the days days ending today (as of now), oldest
// first, days without events included.
func (s *Store) EventDays(ctx context.Context, eventName string, days int, now time.Time) ([]DayEvents, error) {
	first := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	rows, err := s.read(ctx, s.queries.eventDays, eventName, eventName, first.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("count events per day: %w", err)
	}
	defer rows.Close()
	type counts struct{ events, errors int64 }
	byDay := make(map[string]counts, days)
	for rows.Next() {
		var dayNumber, n, errs int64
		if err := rows.Scan(&dayNumber, &n, &errs); err != nil {
			return nil, fmt.Errorf("scan events per day: %w", err)
		}
		byDay[time.Unix(dayNumber*24*60*60, 0).UTC().Format(time.DateOnly)] = counts{n, errs}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count events per day: %w", err)
	}
	out := make([]DayEvents, days)
	for i := range out {
		d := first.AddDate(0, 0, i).Format(time.DateOnly)
		c := byDay[d]
		out[i] = DayEvents{Date: d, Events: c.events, Errors: c.errors}
	}
	return out, nil
}

// EventNames returns, per event name, the events, errors and p95 latency of
// the events whose timestamp is at or after since, most events first.
func (s *Store) EventNames(ctx context.Context, since time.Time) ([]NameEvents, error) {
	rows, err := s.read(ctx, s.queries.eventNames, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("summarize event names: %w", err)
	}
	defer rows.Close()
	var out []NameEvents
	for rows.Next() {
		var r NameEvents
		if err := rows.Scan(&r.EventName, &r.Events, &r.Errors, &r.P95); err != nil {
			return nil, fmt.Errorf("scan event name: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarize event names: %w", err)
	}
	return out, nil
}

// Freshness is what the stored side holds of the newest operations.
type Freshness struct {
	// NewestVersion is the highest stored operation version (when the
	// receiver accepted it, in ns since the epoch); 0 when nothing is stored.
	NewestVersion uint64
	// StoredSince is the number of stored states whose operation was
	// accepted at or after the moment asked for.
	StoredSince uint64
}

// Freshness returns the newest stored operation version and how many stored
// states come from operations accepted at or after since.
func (s *Store) Freshness(ctx context.Context, since time.Time) (Freshness, error) {
	var f Freshness
	rows, err := s.read(ctx, s.queries.freshness, uint64(since.UnixNano()))
	if err != nil {
		return f, fmt.Errorf("read freshness: %w", err)
	}
	defer rows.Close()
	if rows.Next() {
		if err := rows.Scan(&f.NewestVersion, &f.StoredSince); err != nil {
			return f, fmt.Errorf("scan freshness: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return f, fmt.Errorf("read freshness: %w", err)
	}
	return f, nil
}
