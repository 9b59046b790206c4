package eventsqueryextension

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

func TestEventSummary(t *testing.T) {
	t.Parallel()
	newest := testNow.Add(-1500 * time.Millisecond)
	fake := &fakeReader{
		perDay: []storage.DayEvents{{Date: "2026-11-23", Events: 4, Errors: 1}, {Date: "2026-11-24", Events: 0, Errors: 0}},
		names:  []storage.NameEvents{{EventName: `<b>"x"</b>`, Events: 4, Errors: 1, P95: 12.5}},
		fresh:  storage.Freshness{NewestVersion: uint64(newest.UnixNano()), StoredSince: 30},
	}
	srv := newTestServer(t, fake, nil)
	a := do(t, srv, "GET", "/analytics/events?event_name=chat&days=2")
	want := `{"event_name":"chat","days":2,` +
		`"data":[{"date":"2026-11-23","events":4,"errors":1},{"date":"2026-11-24","events":0,"errors":0}],` +
		`"event_names":[{"event_name":"\u003cb\u003e\"x\"\u003c/b\u003e","events":4,"errors":1,"p95_latency":12.5}],` +
		`"ingest":{"newest_accepted_at":"2026-11-24T15:29:58.500Z","age_seconds":1.5,"stored_last_minute":30,"per_second":0.5}}`
	if a.status != 200 || a.body != want {
		t.Fatalf("%d %s\nwant %s", a.status, a.body, want)
	}
	if got := a.header.Get("X-Data-Age"); got != "1.500" {
		t.Errorf("X-Data-Age %q, want 1.500", got)
	}
	fake.mu.Lock()
	byCall := map[string][]any{}
	for i, c := range fake.calls {
		byCall[c] = fake.args[i].([]any)
	}
	fake.mu.Unlock()
	if len(byCall) != 2 {
		t.Fatalf("calls %v", byCall)
	}
	if d := byCall["EventDays"]; len(d) != 3 || d[0] != "chat" || d[1] != 2 {
		t.Errorf("EventDays(%v)", d)
	}
	// The names cover the same days, whatever the event_name filter.
	if n := byCall["EventNames"]; len(n) != 1 || !n[0].(time.Time).Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("EventNames(%v)", n)
	}

	for _, bad := range []string{"?days=0", "?days=367", "?days=x", "?event_name=" + strings.Repeat("n", 5000)} {
		if a := do(t, srv, "GET", "/analytics/events"+bad); a.status != 400 {
			t.Errorf("GET /analytics/events%s: %d, want 400", bad, a.status)
		}
	}
}

// TestFreshnessWithAControlledClock: the data age follows the handler's
// clock, one reading serves for a second, and an unreadable freshness drops
// the header rather than the answer.
func TestFreshnessWithAControlledClock(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	fake := &fakeReader{fresh: storage.Freshness{NewestVersion: uint64(base.UnixNano())}}
	var mu sync.Mutex
	now := base
	at := func(d time.Duration) {
		mu.Lock()
		now = base.Add(d)
		mu.Unlock()
	}
	h := newHandler(createDefaultConfig().(*Config), zap.NewNop(), func(context.Context) (reader, error) { return fake, nil })
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	steps := []struct {
		at      time.Duration
		newest  time.Duration // of the stored data, from base; -1 keeps it
		readErr error
		want    string
	}{
		{at: 250 * time.Millisecond, newest: 0, want: "0.250"},
		// within freshnessTTL of the reading: the cached newest, the current clock
		{at: 900 * time.Millisecond, newest: 800 * time.Millisecond, want: "0.900"},
		// a new reading
		{at: 1300 * time.Millisecond, newest: -1, want: "0.500"},
		{at: 5 * time.Second, newest: -1, readErr: errors.New("down"), want: ""},
		// a newest operation ahead of this clock is not a negative age
		{at: 7 * time.Second, newest: 9 * time.Second, want: "0.000"},
	}
	for i, s := range steps {
		if s.newest >= 0 {
			fake.setFresh(storage.Freshness{NewestVersion: uint64(base.Add(s.newest).UnixNano())})
		}
		fake.mu.Lock()
		fake.freshErr = s.readErr
		fake.mu.Unlock()
		at(s.at)
		a := do(t, srv, "GET", "/analytics/sessions/top-errors")
		if a.status != 200 {
			t.Fatalf("step %d: %d %s", i, a.status, a.body)
		}
		if got := a.header.Get("X-Data-Age"); got != s.want {
			t.Errorf("step %d (at %s): X-Data-Age %q, want %q", i, s.at, got, s.want)
		}
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if len(fake.freshCalls) != 4 {
		t.Errorf("%d freshness readings, want 4 (one cached)", len(fake.freshCalls))
	}
	if want := base.Add(250 * time.Millisecond).Add(-time.Minute); !fake.freshCalls[0].Equal(want) {
		t.Errorf("ingest window from %s, want %s", fake.freshCalls[0], want)
	}
}
