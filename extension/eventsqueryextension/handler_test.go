package eventsqueryextension

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// fakeReader serves canned data and records the arguments of each call, so
// that the tests can check how the HTTP parameters reach the store.
type fakeReader struct {
	events       []storage.StoredEvent
	days         []storage.DayCount
	latency      []storage.LatencyRow
	sessions     []storage.SessionErrors
	letters      []storage.DeadLetter
	perDay       []storage.DayEvents
	names        []storage.NameEvents
	fresh        storage.Freshness
	freshErr     error
	err          error // returned by every query
	pingErr      error
	block        bool // queries wait for their context to end
	usage        []storage.Usage
	modelLatency []storage.ModelLatency
	costs        []storage.ConversationCost

	mu         sync.Mutex
	calls      []string
	args       []any
	freshCalls []time.Time
}

func (f *fakeReader) record(ctx context.Context, call string, args ...any) error {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.args = append(f.args, args)
	f.mu.Unlock()
	if f.block {
		<-ctx.Done()
		return ctx.Err()
	}
	return f.err
}

func (f *fakeReader) lastArgs(t *testing.T) (string, []any) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		t.Fatal("the store was not called")
	}
	return f.calls[len(f.calls)-1], f.args[len(f.args)-1].([]any)
}

func (f *fakeReader) Event(ctx context.Context, id string) (*storage.StoredEvent, error) {
	if err := f.record(ctx, "Event", id); err != nil {
		return nil, err
	}
	for i := range f.events {
		if f.events[i].ID == id {
			e := f.events[i]
			return &e, nil
		}
	}
	return nil, storage.ErrNotFound
}

func (f *fakeReader) Conversation(ctx context.Context, conv string, after *storage.ConversationCursor, limit int) ([]storage.StoredEvent, error) {
	var a storage.ConversationCursor
	if after != nil {
		a = *after
	}
	if err := f.record(ctx, "Conversation", conv, after != nil, a, limit); err != nil {
		return nil, err
	}
	var out []storage.StoredEvent
	for _, e := range f.events {
		if e.ConversationID != conv {
			continue
		}
		ms := e.Timestamp.UnixMilli()
		if after != nil && (ms < a.TimestampMs || (ms == a.TimestampMs && e.ID <= a.ID)) {
			continue
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y storage.StoredEvent) int {
		return cmp.Or(x.Timestamp.Compare(y.Timestamp), strings.Compare(x.ID, y.ID))
	})
	return out[:min(limit, len(out))], nil
}

func (f *fakeReader) ErrorCounts(ctx context.Context, name string, days int, now time.Time) ([]storage.DayCount, error) {
	if err := f.record(ctx, "ErrorCounts", name, days, now); err != nil {
		return nil, err
	}
	return f.days, nil
}

func (f *fakeReader) Latency(ctx context.Context, filter storage.LatencyFilter, limit int) ([]storage.LatencyRow, error) {
	if err := f.record(ctx, "Latency", filter, limit); err != nil {
		return nil, err
	}
	return f.latency, nil
}

func (f *fakeReader) TopErrorSessions(ctx context.Context, minEvents int, since time.Time, limit int) ([]storage.SessionErrors, error) {
	if err := f.record(ctx, "TopErrorSessions", minEvents, limit, since); err != nil {
		return nil, err
	}
	return f.sessions, nil
}

func (f *fakeReader) DeadLetters(ctx context.Context, limit int) ([]storage.DeadLetter, error) {
	if err := f.record(ctx, "DeadLetters", limit); err != nil {
		return nil, err
	}
	return f.letters, nil
}

func (f *fakeReader) EventDays(ctx context.Context, name string, days int, now time.Time) ([]storage.DayEvents, error) {
	if err := f.record(ctx, "EventDays", name, days, now); err != nil {
		return nil, err
	}
	return f.perDay, nil
}

func (f *fakeReader) EventNames(ctx context.Context, since time.Time) ([]storage.NameEvents, error) {
	if err := f.record(ctx, "EventNames", since); err != nil {
		return nil, err
	}
	return f.names, nil
}

// Freshness is not recorded among the calls: it runs beside the route's
// own query, and the tests check the route's arguments.
func (f *fakeReader) Freshness(_ context.Context, since time.Time) (storage.Freshness, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.freshCalls = append(f.freshCalls, since)
	return f.fresh, f.freshErr
}

func (f *fakeReader) setFresh(v storage.Freshness) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fresh = v
}

func (f *fakeReader) ModelUsage(ctx context.Context, model string, since time.Time) ([]storage.Usage, error) {
	if err := f.record(ctx, "ModelUsage", model, since); err != nil {
		return nil, err
	}
	return f.usage, nil
}

func (f *fakeReader) ModelLatency(ctx context.Context, since time.Time, limit int) ([]storage.ModelLatency, error) {
	if err := f.record(ctx, "ModelLatency", since, limit); err != nil {
		return nil, err
	}
	return f.modelLatency, nil
}

func (f *fakeReader) TopCostConversations(ctx context.Context, limit int) ([]storage.ConversationCost, error) {
	if err := f.record(ctx, "TopCostConversations", limit); err != nil {
		return nil, err
	}
	return f.costs, nil
}

func (f *fakeReader) Ping(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pingErr
}

var testNow = time.Date(2026, 11, 24, 15, 30, 0, 0, time.UTC)

func testEvent(id, conv string, ts time.Time) storage.StoredEvent {
	return storage.StoredEvent{ID: id, Version: 1, Event: event.Event{
		ConversationID: conv, Name: "event_a", Timestamp: ts, Input: "in", Output: "out", LatencyMs: 150.5,
	}}
}

// newTestServer serves a handler over r; getErr, when set, is what opening
// the store returns instead.
func newTestServer(t *testing.T, r reader, getErr error, mutate ...func(*Config)) *httptest.Server {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	for _, m := range mutate {
		m(cfg)
	}
	h := newHandler(cfg, zap.NewNop(), func(context.Context) (reader, error) {
		if getErr != nil {
			return nil, getErr
		}
		return r, nil
	})
	h.now = func() time.Time { return testNow }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, srv *httptest.Server, method, path string) answer {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

// errorCode returns the code of an error body, failing when the body is not
// the API's error shape.
func errorCode(t *testing.T, a answer) (code, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(a.body), &body); err != nil || body.Error.Code == "" {
		t.Fatalf("not an error body: %q (%v)", a.body, err)
	}
	return body.Error.Code, body.Error.Message
}

func TestRouting(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 24, 10, 0, 0, 123_000_000, time.UTC)
	fake := &fakeReader{events: []storage.StoredEvent{testEvent("e1", "c1", ts), testEvent("a/b", "c1", ts.Add(time.Second))}}
	srv := newTestServer(t, fake, nil)

	tests := []struct {
		name, method, path string
		status             int
		code               string // of an error answer
		allow              string
	}{
		{"event", "GET", "/event/e1", 200, "", ""},
		{"event head", "HEAD", "/event/e1", 200, "", ""},
		{"escaped slash in id", "GET", "/event/a%2Fb", 200, "", ""},
		{"unknown event", "GET", "/event/nope", 404, "not_found", ""},
		{"event without id", "GET", "/event/", 404, "not_found", ""},
		{"id too long", "GET", "/event/" + strings.Repeat("x", 129), 400, "invalid_parameter", ""},
		{"put event", "PUT", "/event/e1", 405, "method_not_allowed", "GET, HEAD"},
		{"delete event", "DELETE", "/event/e1", 405, "method_not_allowed", "GET, HEAD"},
		{"post conversation", "POST", "/events/conversation/c1", 405, "method_not_allowed", "GET, HEAD"},
		{"post analytics", "POST", "/analytics/errors?event_name=x", 405, "method_not_allowed", "GET, HEAD"},
		{"post health", "POST", "/health", 405, "method_not_allowed", "GET, HEAD"},
		{"conversation", "GET", "/events/conversation/c1", 200, "", ""},
		{"conversation without id", "GET", "/events/conversation/", 404, "not_found", ""},
		{"errors", "GET", "/analytics/errors?event_name=event_a", 200, "", ""},
		{"latency", "GET", "/analytics/latency", 200, "", ""},
		{"top errors", "GET", "/analytics/sessions/top-errors", 200, "", ""},
		{"health", "GET", "/health", 200, "", ""},
		{"health head", "HEAD", "/health", 200, "", ""},
		{"unknown analytics", "GET", "/analytics/other", 404, "not_found", ""},
		{"trailing slash", "GET", "/analytics/latency/", 404, "not_found", ""},
		{"unknown method on unknown path", "PATCH", "/nope", 404, "not_found", ""},
		{"unknown parameters are ignored", "GET", "/analytics/latency?foo=bar&limit=5", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := do(t, srv, tt.method, tt.path)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", a.status, tt.status, a.body)
			}
			if got := a.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type %q", got)
			}
			if tt.allow != "" && a.header.Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", a.header.Get("Allow"), tt.allow)
			}
			if tt.method == "HEAD" {
				if a.body != "" {
					t.Errorf("HEAD answered a body: %q", a.body)
				}
				return
			}
			if tt.code != "" {
				if code, _ := errorCode(t, a); code != tt.code {
					t.Errorf("code %q, want %q", code, tt.code)
				}
			}
		})
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 24, 10, 0, 0, 123_000_000, time.UTC)
	withAttrs := testEvent("a/b", "conv_001", ts.In(time.FixedZone("X", 3600)))
	withAttrs.Attributes = []event.Attribute{{Key: "model", Value: "gpt-x"}}
	withAttrs.Version = 3
	withAttrs.Error = "boom"
	fake := &fakeReader{events: []storage.StoredEvent{testEvent("e1", "conv_001", ts), withAttrs}}
	srv := newTestServer(t, fake, nil)

	tests := []struct{ path, want string }{
		{"/event/e1", `{"id":"e1","conversation_id":"conv_001","event_name":"event_a","input":"in","output":"out","latency":150.5,"error":"","timestamp":"2026-11-24T10:00:00.123Z","attributes":{},"version":1}`},
		{"/event/a%2Fb", `{"id":"a/b","conversation_id":"conv_001","event_name":"event_a","input":"in","output":"out","latency":150.5,"error":"boom","timestamp":"2026-11-24T10:00:00.123Z","attributes":{"model":"gpt-x"},"version":3}`},
	}
	for _, tt := range tests {
		a := do(t, srv, "GET", tt.path)
		if a.status != 200 || a.body != tt.want {
			t.Errorf("GET %s: %d %s\nwant %s", tt.path, a.status, a.body, tt.want)
		}
	}
	if _, args := fake.lastArgs(t); args[0] != "a/b" {
		t.Errorf("store asked for id %q, want a/b", args[0])
	}
}

func TestParameterValidation(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeReader{}, nil)
	tests := []struct {
		path    string
		mention string // the message names the parameter and its range
	}{
		{"/events/conversation/c1?limit=0", "limit: must be an integer between 1 and 1000"},
		{"/events/conversation/c1?limit=1001", "between 1 and 1000"},
		{"/events/conversation/c1?limit=abc", "limit"},
		{"/events/conversation/c1?limit=", "limit"},
		{"/events/conversation/c1?limit=1.5", "limit"},
		{"/events/conversation/c1?limit=-1", "limit"},
		{"/events/conversation/c1?limit=99999999999999999999999", "limit"},
		{"/events/conversation/c1?limit=%201", "limit"},
		{"/events/conversation/c1?cursor=!!!", "cursor"},
		{"/events/conversation/c1?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"t":1}`)), "cursor"},
		{"/events/conversation/c1?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"i":"x"}`)), "cursor"},
		{"/events/conversation/c1?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"t":1,"i":"x","z":2}`)), "cursor"},
		{"/events/conversation/c1?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`{"t":"1","i":"x"}`)), "cursor"},
		{"/events/conversation/c1?cursor=" + base64.RawURLEncoding.EncodeToString([]byte(`[1]`)), "cursor"},
		{"/events/conversation/" + strings.Repeat("c", 1025), "conversation_id: must be at most 1024 bytes"},
		{"/analytics/errors", "event_name: required"},
		{"/analytics/errors?event_name=", "event_name: required"},
		{"/analytics/errors?event_name=" + strings.Repeat("n", 1025), "event_name"},
		{"/analytics/errors?event_name=x&days=0", "days: must be an integer between 1 and 366"},
		{"/analytics/errors?event_name=x&days=367", "days"},
		{"/analytics/errors?event_name=x&days=seven", "days"},
		{"/analytics/latency?limit=0", "limit: must be an integer between 1 and 1000"},
		{"/analytics/latency?limit=1001", "limit"},
		{"/analytics/latency?days=0", "days: must be an integer between 1 and 366"},
		{"/analytics/latency?days=", "days"},
		{"/analytics/sessions/top-errors?limit=0", "limit: must be an integer between 1 and 1000"},
		{"/analytics/sessions/top-errors?limit=x", "limit"},
		{"/analytics/sessions/top-errors?min_events=0", "min_events: must be an integer >= 1"},
		{"/analytics/sessions/top-errors?min_events=-3", "min_events"},
		{"/analytics/sessions/top-errors?days=367", "days: must be an integer between 1 and 366"},
		{"/analytics/models/usage?days=0", "days: must be an integer between 1 and 366"},
		{"/analytics/models/usage?days=x", "days"},
		{"/analytics/models/usage?model=" + strings.Repeat("m", 1025), "model: must be at most 1024 bytes"},
		{"/analytics/models/latency?days=367", "days: must be an integer between 1 and 366"},
		{"/analytics/models/latency?limit=0", "limit"},
		{"/analytics/conversations/top-cost?limit=0", "limit: must be an integer between 1 and 1000"},
		{"/analytics/conversations/top-cost?limit=1001", "limit"},
	}
	for _, tt := range tests {
		t.Run(tt.path[:min(len(tt.path), 80)], func(t *testing.T) {
			t.Parallel()
			a := do(t, srv, "GET", tt.path)
			if a.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", a.status, a.body)
			}
			code, msg := errorCode(t, a)
			if code != "invalid_parameter" || !strings.Contains(msg, tt.mention) {
				t.Errorf("got %s %q, want invalid_parameter mentioning %q", code, msg, tt.mention)
			}
		})
	}
}

// Parameters are checked before the store is needed: a bad request is a 400
// even while ClickHouse is down.
func TestParameterValidationWhileStoreDown(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, nil, errors.New("connection refused"))
	a := do(t, srv, "GET", "/analytics/latency?limit=0")
	if a.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", a.status)
	}
}

func TestParametersReachTheStore(t *testing.T) {
	t.Parallel()
	today := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		path     string
		maxLimit int
		call     string
		args     []any
	}{
		{"/analytics/errors?event_name=event_a", 0, "ErrorCounts", []any{"event_a", 7, testNow}},
		{"/analytics/errors?event_name=a+b&days=366", 0, "ErrorCounts", []any{"a b", 366, testNow}},
		{"/analytics/errors?event_name=x&days=1&days=400", 0, "ErrorCounts", []any{"x", 1, testNow}},
		{"/analytics/latency", 0, "Latency", []any{storage.LatencyFilter{}, 50}},
		{"/analytics/latency?limit=1000&event_name=event_a", 0, "Latency", []any{storage.LatencyFilter{EventName: "event_a"}, 1000}},
		{"/analytics/latency?days=1", 0, "Latency", []any{storage.LatencyFilter{Since: today}, 50}},
		{"/analytics/latency?days=7&event_name=", 0, "Latency", []any{storage.LatencyFilter{Since: today.AddDate(0, 0, -6)}, 50}},
		{"/analytics/sessions/top-errors", 0, "TopErrorSessions", []any{1, 10, time.Time{}}},
		{"/analytics/sessions/top-errors?limit=3&min_events=5", 0, "TopErrorSessions", []any{5, 3, time.Time{}}},
		{"/analytics/sessions/top-errors?limit=5", 5, "TopErrorSessions", []any{1, 5, time.Time{}}},
		{"/analytics/sessions/top-errors?days=7", 0, "TopErrorSessions", []any{1, 10, today.AddDate(0, 0, -6)}},
		{"/analytics/models/usage", 0, "ModelUsage", []any{"", today.AddDate(0, 0, -6)}},
		{"/analytics/models/usage?days=1&model=gpt-4o", 0, "ModelUsage", []any{"gpt-4o", today}},
		{"/analytics/models/latency", 0, "ModelLatency", []any{time.Time{}, 100}},
		{"/analytics/models/latency?days=30&limit=5", 0, "ModelLatency", []any{today.AddDate(0, 0, -29), 5}},
		{"/analytics/conversations/top-cost", 0, "TopCostConversations", []any{10}},
		{"/analytics/conversations/top-cost?limit=1000", 0, "TopCostConversations", []any{1000}},
		// One more than asked, to know whether there is a next page.
		{"/events/conversation/c1", 0, "Conversation", []any{"c1", false, storage.ConversationCursor{}, 101}},
		{"/events/conversation/c%2F1?limit=1000", 0, "Conversation", []any{"c/1", false, storage.ConversationCursor{}, 1001}},
		{"/events/conversation/c1?limit=2&cursor=" + encodeCursor(storage.ConversationCursor{TimestampMs: 42, ID: "x"}), 0,
			"Conversation", []any{"c1", true, storage.ConversationCursor{TimestampMs: 42, ID: "x"}, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			fake := &fakeReader{}
			srv := newTestServer(t, fake, nil, func(c *Config) {
				if tt.maxLimit > 0 {
					c.MaxLimit = tt.maxLimit
				}
			})
			a := do(t, srv, "GET", tt.path)
			if a.status != 200 {
				t.Fatalf("status %d: %s", a.status, a.body)
			}
			call, args := fake.lastArgs(t)
			if call != tt.call || len(args) != len(tt.args) {
				t.Fatalf("called %s%v, want %s%v", call, args, tt.call, tt.args)
			}
			for i := range args {
				if !equalArg(args[i], tt.args[i]) {
					t.Errorf("%s argument %d = %v, want %v", call, i, args[i], tt.args[i])
				}
			}
		})
	}
}

func equalArg(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	if fa, ok := a.(storage.LatencyFilter); ok {
		fb, ok := b.(storage.LatencyFilter)
		return ok && fa.EventName == fb.EventName && fa.Since.Equal(fb.Since)
	}
	return a == b
}

func TestMaxLimitIsConfigurable(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeReader{}, nil, func(c *Config) { c.MaxLimit = 5 })
	a := do(t, srv, "GET", "/analytics/latency?limit=6")
	if a.status != 400 {
		t.Fatalf("status %d, want 400", a.status)
	}
	if _, msg := errorCode(t, a); !strings.Contains(msg, "between 1 and 5") {
		t.Errorf("message %q does not give the range", msg)
	}
}

func TestConversationPaging(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	fake := &fakeReader{events: []storage.StoredEvent{
		testEvent("e3", "c1", base.Add(time.Second)),
		testEvent("e1", "c1", base),
		testEvent("e2", "c1", base), // same timestamp: ordered by id
		testEvent("e5", "c1", base.Add(2*time.Second)),
		testEvent("e4", "c1", base.Add(time.Second)),
		testEvent("x1", "other", base),
	}}
	srv := newTestServer(t, fake, nil)

	var (
		got    []string
		cursor string
		pages  int
	)
	for {
		path := "/events/conversation/c1?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		a := do(t, srv, "GET", path)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", path, a.status, a.body)
		}
		var page struct {
			ConversationID string            `json:"conversation_id"`
			Events         []json.RawMessage `json:"events"`
			NextCursor     *string           `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(a.body), &page); err != nil {
			t.Fatal(err)
		}
		if page.ConversationID != "c1" {
			t.Errorf("conversation_id %q", page.ConversationID)
		}
		for _, raw := range page.Events {
			var e eventJSON
			if err := json.Unmarshal(raw, &e); err != nil {
				t.Fatal(err)
			}
			got = append(got, e.ID)
		}
		pages++
		if page.NextCursor == nil {
			if !strings.Contains(a.body, `"next_cursor":null`) {
				t.Errorf("last page lacks next_cursor null: %s", a.body)
			}
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		cursor = *page.NextCursor
	}
	if want := []string{"e1", "e2", "e3", "e4", "e5"}; !slices.Equal(got, want) || pages != 3 {
		t.Errorf("paged %v in %d pages, want %v in 3", got, pages, want)
	}
}

func TestEmptyResultsAreArrays(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, &fakeReader{}, nil)
	tests := []struct{ path, want string }{
		{"/events/conversation/c1", `{"conversation_id":"c1","events":[],"next_cursor":null}`},
		{"/analytics/errors?event_name=x", `{"event_name":"x","days":7,"data":[]}`},
		{"/analytics/latency", `{"data":[]}`},
		{"/analytics/sessions/top-errors", `{"data":[]}`},
	}
	for _, tt := range tests {
		if a := do(t, srv, "GET", tt.path); a.status != 200 || a.body != tt.want {
			t.Errorf("GET %s: %d %s, want %s", tt.path, a.status, a.body, tt.want)
		}
	}
}

func TestAnalyticsJSON(t *testing.T) {
	t.Parallel()
	fake := &fakeReader{
		days:     []storage.DayCount{{Date: "2026-11-23", Errors: 0}, {Date: "2026-11-24", Errors: 2}},
		latency:  []storage.LatencyRow{{EventName: "event_a", ConversationID: "conv_001", P95: 150.5, Count: 3}},
		sessions: []storage.SessionErrors{{ConversationID: "conv_001", Errors: 2, Total: 4}},
	}
	srv := newTestServer(t, fake, nil)
	tests := []struct{ path, want string }{
		{"/analytics/errors?event_name=event_a&days=2", `{"event_name":"event_a","days":2,"data":[{"date":"2026-11-23","errors":0},{"date":"2026-11-24","errors":2}]}`},
		{"/analytics/latency", `{"data":[{"event_name":"event_a","conversation_id":"conv_001","p95_latency":150.5,"count":3}]}`},
		{"/analytics/sessions/top-errors", `{"data":[{"conversation_id":"conv_001","errors":2,"total":4,"error_rate":0.5}]}`},
	}
	for _, tt := range tests {
		if a := do(t, srv, "GET", tt.path); a.status != 200 || a.body != tt.want {
			t.Errorf("GET %s: %d %s\nwant %s", tt.path, a.status, a.body, tt.want)
		}
	}
}

func TestStoreFailures(t *testing.T) {
	t.Parallel()
	paths := []string{
		"/event/e1",
		"/events/conversation/c1",
		"/analytics/errors?event_name=x",
		"/analytics/latency",
		"/analytics/sessions/top-errors",
		"/analytics/events",
	}
	tests := []struct {
		name   string
		reader *fakeReader
		getErr error
	}{
		{"query error", &fakeReader{err: errors.New("code: 241, memory limit exceeded")}, nil},
		{"store not reachable", nil, errors.New("connect to ClickHouse: connection refused")},
		{"query timeout", &fakeReader{block: true}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, tt.reader, tt.getErr, func(c *Config) { c.QueryTimeout = 50 * time.Millisecond })
			for _, p := range paths {
				a := do(t, srv, "GET", p)
				if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" {
					t.Errorf("GET %s: %d Retry-After %q, want 503 with Retry-After 1", p, a.status, a.header.Get("Retry-After"))
					continue
				}
				if code, _ := errorCode(t, a); code != "unavailable" {
					t.Errorf("GET %s: code %q, want unavailable", p, code)
				}
			}
		})
	}
}

// TestMemoryLimit: a read that the engine stopped at its memory bound is a
// 503 memory_limit naming the bound, without Retry-After (the same read
// fails again), on every route.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	engineErr := fmt.Errorf("compute latency: %w: %w", storage.ErrQueryMemoryLimit,
		errors.New("code: 241, message: Memory limit (for query) exceeded: would use 1.00 GiB"))
	tests := []struct {
		name  string
		limit uint64
		want  string
	}{
		{"configured", 1 << 20, "the query needs more memory than query_max_memory (1048576 bytes) allows one query; narrow it (event_name, days) or raise query_max_memory"},
		{"engine's own", 0, "the query needs more memory than ClickHouse allows one query (query_max_memory is 0: the engine's own limit applies); narrow it (event_name, days) or set query_max_memory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, &fakeReader{err: engineErr}, nil, func(c *Config) { c.QueryMaxMemory = tt.limit })
			for _, p := range []string{"/analytics/latency", "/analytics/errors?event_name=x", "/analytics/sessions/top-errors", "/events/conversation/c1", "/event/e1"} {
				a := do(t, srv, "GET", p)
				if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "" {
					t.Errorf("GET %s: %d Retry-After %q, want 503 without Retry-After", p, a.status, a.header.Get("Retry-After"))
					continue
				}
				if code, msg := errorCode(t, a); code != "memory_limit" || msg != tt.want {
					t.Errorf("GET %s: %s %q, want memory_limit %q", p, code, msg, tt.want)
				}
			}
		})
	}
}

func TestHealth(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		reader *fakeReader
		getErr error
		status int
		want   string
	}{
		{"ok", &fakeReader{}, nil, 200, `{"status":"ok","clickhouse":"ok"}`},
		{"ping fails", &fakeReader{pingErr: errors.New("read: connection reset by peer")}, nil, 503,
			`{"status":"degraded","clickhouse":"read: connection reset by peer"}`},
		{"not connected", nil, errors.New("connect to ClickHouse: connection refused"), 503,
			`{"status":"degraded","clickhouse":"connect to ClickHouse: connection refused"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newTestServer(t, tt.reader, tt.getErr)
			if a := do(t, srv, "GET", "/health"); a.status != tt.status || a.body != tt.want {
				t.Errorf("%d %s, want %d %s", a.status, a.body, tt.status, tt.want)
			}
		})
	}
}

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	for _, c := range []storage.ConversationCursor{
		{TimestampMs: 0, ID: "x"},
		{TimestampMs: 1795431234567, ID: "0193a3b0-7c1e-7000-8000-000000000000"},
		{TimestampMs: -1, ID: `a/b?c=d&"e"`},
	} {
		s := encodeCursor(c)
		if strings.ContainsAny(s, "+/=") {
			t.Errorf("cursor %q is not URL-safe", s)
		}
		got, err := decodeCursor(s)
		if err != nil || *got != c {
			t.Errorf("round trip of %+v: %+v, %v", c, got, err)
		}
	}
}
