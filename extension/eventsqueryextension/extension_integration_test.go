package eventsqueryextension

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// This test runs against the ClickHouse server started by `make services`
// (127.0.0.1:9000). A missing server fails the test: it never skips.

// integrationStore opens a store on a fresh database, dropped at the end.
func integrationStore(t *testing.T) (*storage.Store, storage.Config) {
	t.Helper()
	cfg := storage.NewDefaultConfig()
	cfg.Endpoint = "tcp://" + storagetest.ServerAddr
	cfg.Database = storagetest.ServerDatabase(t, "eventsquery_test")
	cfg.DialTimeout = 5 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := storage.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("open the store at %s (is the service up? `make services`): %v", cfg.Endpoint, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, cfg
}

func TestIntegrationReadAPI(t *testing.T) {
	s, storeCfg := integrationStore(t)
	clock := event.NewClock()
	// Today (UTC), so that the error and latency windows hold every event.
	base := time.Now().UTC().Truncate(24 * time.Hour).Add(time.Minute)
	create := func(id, conv string, ts time.Time, latency float64, errMsg string) event.Operation {
		return event.Operation{Op: event.OpCreate, ID: id, Version: clock.Next(), Set: event.AllFields, Event: event.Event{
			ConversationID: conv, Name: "event_a", Timestamp: ts, Input: "in-" + id, Output: "out-" + id,
			LatencyMs: latency, Error: errMsg, Attributes: []event.Attribute{{Key: "model", Value: "gpt-x"}},
		}}
	}
	ops := []event.Operation{
		create("e1", "c1", base.Add(123*time.Millisecond), 100, ""),
		create("e2", "c1", base.Add(time.Second), 200, "boom"),
		create("e3", "c1", base.Add(2*time.Second), 300, "boom"),
		create("a/b", "c2", base, 50, ""),
	}
	if _, err := s.Apply(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	update := event.Operation{Op: event.OpUpdate, ID: "e1", Version: clock.Next(),
		Set: event.Fields(0).With(event.FieldInput), Event: event.Event{Input: "changed"}}
	remove := event.Operation{Op: event.OpDelete, ID: "e3", Version: clock.Next()}
	if _, err := s.Apply(context.Background(), []event.Operation{update, remove}); err != nil {
		t.Fatal(err)
	}

	cfg := testConfig()
	cfg.ClickHouse = storeCfg
	ext, err := NewFactory().Create(context.Background(), testSettings(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	baseURL := "http://" + ext.(*queryExtension).addr.String()
	ts := func(d time.Duration) string { return base.Add(d).Format(timestampLayout) }
	today := base.Format(time.DateOnly)
	yesterday := base.AddDate(0, 0, -1).Format(time.DateOnly)

	tests := []struct {
		path   string
		status int
		want   string // JSON, compared after decoding
	}{
		{"/health", 200, `{"status":"ok","clickhouse":"ok"}`},
		{"/event/e1", 200, `{"id":"e1","conversation_id":"c1","event_name":"event_a","input":"changed","output":"out-e1",
			"latency":100,"error":"","timestamp":"` + ts(123*time.Millisecond) + `","attributes":{"model":"gpt-x"},"version":2}`},
		{"/event/a%2Fb", 200, `{"id":"a/b","conversation_id":"c2","event_name":"event_a","input":"in-a/b","output":"out-a/b",
			"latency":50,"error":"","timestamp":"` + ts(0) + `","attributes":{"model":"gpt-x"},"version":1}`},
		{"/event/e3", 404, `{"error":{"code":"not_found","message":"no event with this id (unknown or deleted)"}}`},
		{"/event/unknown", 404, `{"error":{"code":"not_found","message":"no event with this id (unknown or deleted)"}}`},
		{"/events/conversation/c2", 200, `{"conversation_id":"c2","events":[{"id":"a/b","conversation_id":"c2","event_name":"event_a",
			"input":"in-a/b","output":"out-a/b","latency":50,"error":"","timestamp":"` + ts(0) + `","attributes":{"model":"gpt-x"},"version":1}],
			"next_cursor":null}`},
		{"/events/conversation/nobody", 200, `{"conversation_id":"nobody","events":[],"next_cursor":null}`},
		{"/analytics/errors?event_name=event_a&days=2", 200,
			`{"event_name":"event_a","days":2,"data":[{"date":"` + yesterday + `","errors":0},{"date":"` + today + `","errors":1}]}`},
		{"/analytics/latency?event_name=event_a&days=1", 200, `{"data":[
			{"event_name":"event_a","conversation_id":"c1","p95_latency":200,"count":2},
			{"event_name":"event_a","conversation_id":"c2","p95_latency":50,"count":1}]}`},
		{"/analytics/latency?event_name=other", 200, `{"data":[]}`},
		{"/analytics/latency?limit=1", 200, `{"data":[{"event_name":"event_a","conversation_id":"c1","p95_latency":200,"count":2}]}`},
		{"/analytics/sessions/top-errors", 200, `{"data":[{"conversation_id":"c1","errors":1,"total":2,"error_rate":0.5}]}`},
		{"/analytics/sessions/top-errors?min_events=3", 200, `{"data":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := get(t, baseURL+tt.path)
			if a.status != tt.status {
				t.Fatalf("status %d, want %d: %s", a.status, tt.status, a.body)
			}
			assertJSONEqual(t, a.body, tt.want)
		})
	}

	// Paging through c1 one event at a time: e1 then e2 (e3 is deleted).
	var ids []string
	path := "/events/conversation/c1?limit=1"
	for range 5 {
		a := get(t, baseURL+path)
		if a.status != 200 {
			t.Fatalf("GET %s: %d %s", path, a.status, a.body)
		}
		var page struct {
			Events     []eventJSON `json:"events"`
			NextCursor *string     `json:"next_cursor"`
		}
		if err := json.Unmarshal([]byte(a.body), &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/events/conversation/c1?limit=1&cursor=" + url.QueryEscape(*page.NextCursor)
	}
	if fmt.Sprint(ids) != "[e1 e2]" {
		t.Errorf("paged %v, want [e1 e2]", ids)
	}
}

// TestIntegrationQueryMaxMemory: a read over query_max_memory is stopped by
// the server and answered 503 memory_limit.
func TestIntegrationQueryMaxMemory(t *testing.T) {
	s, storeCfg := integrationStore(t)
	clock := event.NewClock()
	ops := make([]event.Operation, 0, 1000)
	for i := range cap(ops) {
		ops = append(ops, event.Operation{Op: event.OpCreate, ID: fmt.Sprintf("e%d", i), Version: clock.Next(), Set: event.AllFields,
			Event: event.Event{ConversationID: fmt.Sprintf("c%d", i%10), Name: "event_a", Timestamp: time.Now().UTC(), LatencyMs: float64(i)}})
	}
	if _, err := s.Apply(context.Background(), ops); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.ClickHouse = storeCfg
	cfg.QueryMaxMemory = 1 << 10
	ext, err := NewFactory().Create(context.Background(), testSettings(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ext.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	a := get(t, "http://"+ext.(*queryExtension).addr.String()+"/analytics/latency")
	assertJSONEqual(t, a.body, `{"error":{"code":"memory_limit","message":"the query needs more memory than query_max_memory (1024 bytes) allows one query; narrow it (event_name, days) or raise query_max_memory"}}`)
	if a.status != 503 {
		t.Fatalf("status %d, want 503", a.status)
	}
}

func assertJSONEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("answer is not JSON: %q", got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if string(gb) != string(wb) {
		t.Errorf("got  %s\nwant %s", gb, wb)
	}
}
