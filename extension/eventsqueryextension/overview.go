package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

const (
	// headerDataAge is on every read answer: the age in seconds of the
	// newest operation stored (docs/api.md, "Freshness").
	headerDataAge = "X-Data-Age"
	// freshnessTTL is how long one reading of the stored side's freshness
	// serves the answers: the reading scans a column of event_state, so it
	// runs at most once a second whatever the request rate.
	freshnessTTL = time.Second
	// ingestWindow is the window of the ingest rate.
	ingestWindow = time.Minute
)

type eventSummaryJSON struct {
	EventName  string          `json:"event_name"`
	Days       int             `json:"days"`
	Data       []dayEventsJSON `json:"data"`
	EventNames []nameJSON      `json:"event_names"`
	Ingest     *ingestJSON     `json:"ingest"`
}

type dayEventsJSON struct {
	Date   string `json:"date"`
	Events int64  `json:"events"`
	Errors int64  `json:"errors"`
}

type nameJSON struct {
	EventName  string  `json:"event_name"`
	Events     int64   `json:"events"`
	Errors     int64   `json:"errors"`
	P95Latency float64 `json:"p95_latency"`
}

// ingestJSON is the stored side's freshness: null in an answer when it could
// not be read.
type ingestJSON struct {
	// NewestStoredAt is when the receiver accepted the newest stored
	// operation; null when nothing is stored.
	NewestStoredAt *string `json:"newest_accepted_at"`
	// AgeSeconds is how long ago that was; null when nothing is stored.
	AgeSeconds *float64 `json:"age_seconds"`
	// StoredLastMinute counts the stored states of operations accepted in
	// the last minute; PerSecond is that over 60.
	StoredLastMinute uint64  `json:"stored_last_minute"`
	PerSecond        float64 `json:"per_second"`
}

// eventSummary answers GET /analytics/events?event_name=X&days=N: events and
// errors per day (of one name, or all), and per event name the events,
// errors and p95 latency over the same days, with the ingest rate: the data
// of the dashboard's overview in one call.
func (h *handler) eventSummary(q url.Values, _ string) (route, error) {
	name := q.Get("event_name")
	if err := h.checkKeyField("event_name", name); err != nil {
		return nil, err
	}
	days, err := intParam(q, "days", defaultDays, 1, maxDays)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		now := h.now()
		// Side by side: the per-name read scans the window's events, the
		// per-day one reads event_days and the freshness one column; the
		// answer takes the longest of them where the engine has the cores.
		var (
			perDay      []storage.DayEvents
			names       []storage.NameEvents
			daysErr     error
			namesErr    error
			wg          sync.WaitGroup
			fresh       storage.Freshness
			freshnessOK bool
		)
		wg.Add(2)
		go func() {
			defer wg.Done()
			perDay, daysErr = r.EventDays(ctx, name, days, now)
		}()
		go func() {
			defer wg.Done()
			names, namesErr = r.EventNames(ctx, startOfDay(now, days))
		}()
		fresh, freshnessOK = h.freshness.get(ctx, r, now)
		wg.Wait()
		if err := errors.Join(daysErr, namesErr); err != nil {
			return 0, nil, err
		}
		out := eventSummaryJSON{EventName: name, Days: days,
			Data: make([]dayEventsJSON, len(perDay)), EventNames: make([]nameJSON, len(names))}
		for i, d := range perDay {
			out.Data[i] = dayEventsJSON{Date: d.Date, Events: d.Events, Errors: d.Errors}
		}
		for i, n := range names {
			out.EventNames[i] = nameJSON{EventName: n.EventName, Events: n.Events, Errors: n.Errors, P95Latency: n.P95}
		}
		if freshnessOK {
			out.Ingest = toIngestJSON(fresh, now)
		}
		return http.StatusOK, out, nil
	}, nil
}

// toIngestJSON is the freshness f as of now: the age is the same as the
// answer's X-Data-Age.
func toIngestJSON(f storage.Freshness, now time.Time) *ingestJSON {
	out := &ingestJSON{StoredLastMinute: f.StoredSince, PerSecond: float64(f.StoredSince) / ingestWindow.Seconds()}
	if f.NewestVersion != 0 {
		newest := time.Unix(0, int64(f.NewestVersion)).UTC()
		ts := newest.Format(timestampLayout)
		age := math.Round(dataAge(newest, now).Seconds()*1000) / 1000
		out.NewestStoredAt, out.AgeSeconds = &ts, &age
	}
	return out
}

// dataAge is how old the newest stored operation is at now; never negative
// (the receiver's clock may be ahead of this process's).
func dataAge(newest, now time.Time) time.Duration {
	return max(0, now.Sub(newest))
}

// freshness caches the stored side's freshness for freshnessTTL.
type freshness struct {
	mu    sync.Mutex
	value storage.Freshness
	at    time.Time // when value was read; zero: never
}

// get returns the freshness as of a reading at most freshnessTTL old; ok is
// false when it cannot be read (the answer then goes without it rather than
// failing).
func (f *freshness) get(ctx context.Context, r reader, now time.Time) (storage.Freshness, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.at.IsZero() && now.Sub(f.at) < freshnessTTL && !now.Before(f.at) {
		return f.value, true
	}
	v, err := r.Freshness(ctx, now.Add(-ingestWindow))
	if err != nil {
		return storage.Freshness{}, false
	}
	f.value, f.at = v, now
	return v, true
}

// newestStored returns when the newest stored operation was accepted and
// its age as of the handler's clock; ok is false when nothing is stored or
// the freshness cannot be read.
func (h *handler) newestStored(ctx context.Context, r reader) (newest time.Time, age time.Duration, ok bool) {
	now := h.now()
	f, ok := h.freshness.get(ctx, r, now)
	if !ok || f.NewestVersion == 0 {
		return time.Time{}, 0, false
	}
	newest = time.Unix(0, int64(f.NewestVersion))
	return newest, dataAge(newest, now), true
}

// setDataAge puts the X-Data-Age header on an answer: the age of the newest
// stored operation, in seconds with millisecond precision. No header when
// nothing is stored or the freshness cannot be read.
func (h *handler) setDataAge(ctx context.Context, w http.ResponseWriter, r reader) {
	if _, age, ok := h.newestStored(ctx, r); ok {
		w.Header().Set(headerDataAge, strconv.FormatFloat(age.Seconds(), 'f', 3, 64))
	}
}
