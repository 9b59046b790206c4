package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// fakeCollector is an in-memory stand-in for the collector's HTTP API,
// enough for a whole run of the tool. loseEvery > 0 acknowledges every
// loseEvery-th create without storing it, so that the test can check that
// verification notices.
type fakeCollector struct {
	mu        sync.Mutex
	events    map[string]*eventJSON
	deleted   map[string]bool
	creates   int
	loseEvery int
}

func newFakeCollector(loseEvery int) *fakeCollector {
	return &fakeCollector{events: map[string]*eventJSON{}, deleted: map[string]bool{}, loseEvery: loseEvery}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeCollector) create(c createJSON) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := uuid.Must(uuid.NewV7()).String()
	f.creates++
	if f.loseEvery > 0 && f.creates%f.loseEvery == 0 {
		return id
	}
	f.events[id] = &eventJSON{ID: id, ConversationID: c.ConversationID, EventName: c.EventName, Input: c.Input, Output: c.Output,
		Latency: c.Latency, Error: c.Error, Attributes: c.Attributes, Timestamp: time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00")}
	return id
}

// visible returns the visible events that satisfy keep, ordered as the API
// orders a conversation.
func (f *fakeCollector) visible(keep func(e *eventJSON) bool) []eventJSON {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []eventJSON
	for id, e := range f.events {
		if !f.deleted[id] && keep(e) {
			out = append(out, *e)
		}
	}
	slices.SortFunc(out, func(a, b eventJSON) int { return strings.Compare(a.Timestamp+a.ID, b.Timestamp+b.ID) })
	return out
}

func (f *fakeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	path, _ := url.PathUnescape(r.URL.EscapedPath())
	switch {
	case path == "/health":
		writeJSON(w, 200, map[string]string{"status": "ok"})
	case path == "/event/" && r.Method == http.MethodPost:
		var c createJSON
		if json.NewDecoder(r.Body).Decode(&c) != nil {
			writeJSON(w, 400, nil)
			return
		}
		writeJSON(w, 202, map[string]string{"id": f.create(c)})
	case path == "/events/batch":
		var items []createJSON
		if json.NewDecoder(r.Body).Decode(&items) != nil {
			writeJSON(w, 400, nil)
			return
		}
		var res []map[string]any
		for i, c := range items {
			res = append(res, map[string]any{"index": i, "status": 202, "id": f.create(c)})
		}
		writeJSON(w, 202, map[string]any{"accepted": len(items), "rejected": 0, "results": res})
	case strings.HasPrefix(path, "/event/"):
		id := strings.TrimPrefix(path, "/event/")
		f.mu.Lock()
		e, ok := f.events[id]
		ok = ok && !f.deleted[id]
		switch r.Method {
		case http.MethodPut:
			var patch map[string]any
			_ = json.NewDecoder(r.Body).Decode(&patch)
			if ok {
				e.Error, e.Latency = patch["error"].(string), patch["latency"].(float64)
			}
		case http.MethodDelete:
			f.deleted[id] = true
		}
		var copyOf eventJSON
		if ok {
			copyOf = *e
		}
		f.mu.Unlock()
		switch {
		case r.Method != http.MethodGet:
			writeJSON(w, 202, map[string]string{"id": id})
		case ok:
			writeJSON(w, 200, copyOf)
		default:
			writeJSON(w, 404, nil)
		}
	case strings.HasPrefix(path, "/events/conversation/"):
		conv := strings.TrimPrefix(path, "/events/conversation/")
		all := f.visible(func(e *eventJSON) bool { return e.ConversationID == conv })
		from, _ := strconv.Atoi(q.Get("cursor"))
		limit, _ := strconv.Atoi(q.Get("limit"))
		page := map[string]any{"conversation_id": conv, "events": all[from:min(from+limit, len(all))], "next_cursor": nil}
		if from+limit < len(all) {
			page["next_cursor"] = strconv.Itoa(from + limit)
		}
		writeJSON(w, 200, page)
	case path == "/analytics/errors":
		name := q.Get("event_name")
		n := len(f.visible(func(e *eventJSON) bool { return e.EventName == name && e.Error != "" }))
		writeJSON(w, 200, map[string]any{"data": []map[string]any{{"date": "today", "errors": n}}})
	case path == "/analytics/latency":
		name := q.Get("event_name")
		counts := map[string]int{}
		for _, e := range f.visible(func(e *eventJSON) bool { return name == "" || e.EventName == name }) {
			counts[e.ConversationID]++
		}
		var data []map[string]any
		for c, n := range counts {
			data = append(data, map[string]any{"conversation_id": c, "count": n})
		}
		writeJSON(w, 200, map[string]any{"data": data})
	case path == "/analytics/sessions/top-errors":
		writeJSON(w, 200, map[string]any{"data": []any{}})
	default:
		writeJSON(w, 404, nil)
	}
}

// runAgainst runs the whole tool, small, against handler and returns its
// exit code and JSON report.
func runAgainst(t *testing.T, handler http.Handler) (int, map[string]any) {
	t.Helper()
	srv := httptest.NewServer(handler)
	defer srv.Close()
	cfg, err := parseConfig([]string{"-url", srv.URL, "-json", "-ceilings=false", "-clickhouse=", "-concurrency", "4",
		"-inserts", "300", "-updates", "100", "-deletes", "100", "-batch-size", "50",
		"-fresh-rate", "400", "-fresh-duration", "500ms", "-fresh-batch", "10", "-queries", "5", "-sample", "60",
		"-verify-timeout", "1s", "-e2e-timeout", "1s"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), cfg, "test", &stdout, &stderr)
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("the JSON report does not parse: %v\n%s\n%s", err, stdout.String(), stderr.String())
	}
	return code, rep
}

func TestWholeRunAgainstAFakeCollector(t *testing.T) {
	code, rep := runAgainst(t, newFakeCollector(0))
	v := rep["verification"].(map[string]any)
	if code != 0 || v["passed"] != true {
		t.Fatalf("a faithful collector failed (exit %d): %v", code, v)
	}
	if n := len(rep["phases"].([]any)); n != 5 {
		t.Errorf("%d phases in the report, want insert, update, delete, batch.http, batch.e2e", n)
	}
}

func TestVerificationCatchesALostEvent(t *testing.T) {
	code, rep := runAgainst(t, newFakeCollector(97))
	v := rep["verification"].(map[string]any)
	if code != 1 || v["passed"] != false || !strings.Contains(v["summary"].(string), "missing") {
		t.Fatalf("a collector that loses acknowledged events passed (exit %d): %v", code, v)
	}
}
