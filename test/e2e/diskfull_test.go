//go:build e2e

package e2e

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// TestDiskFullHeals: the single node with its data (persistent queue and
// embedded engine) on a 64 MiB tmpfs takes batches until the disk is nearly
// full (min_free_space, 16 MiB here, refuses writes first), then updates and
// deletes. While full, every write is answered within twice the pipeline
// timeout (a 503 the client retries with the same ids) and /health is
// degraded. Then the space is given back, the collector restarted, the
// refused writes retried; afterwards every read (the events, conversation
// pages, errors per day, p95 latency, top error sessions) is exactly what the
// acknowledged writes say, and nothing went to the dead letters.
func TestDiskFullHeals(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", dir).CombinedOutput(); err != nil {
		// make test runs as root on CI; elsewhere say why this test cannot run.
		t.Fatalf("mount a 64 MiB tmpfs for the data (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })

	const pipelineTimeout = 2 * time.Second
	port := freePort(t)
	env := append(singleNodeEnv(t, dir, port), "PIPELINE_TIMEOUT="+pipelineTimeout.String(), "MIN_FREE_SPACE_BYTES=16777216")
	c := startCollector(t, "config/single-node.yaml", env, port)
	client := &http.Client{Timeout: 60 * time.Second}

	run := fmt.Sprintf("df%d", time.Now().UnixNano())
	conversations := make([]string, 6)
	for i := range conversations {
		conversations[i] = fmt.Sprintf("%s-conv-%d", run, i)
	}
	day := time.Now().UTC().Truncate(24 * time.Hour)
	model := map[string]*event.State{}
	var (
		mu      sync.Mutex
		version uint64
		// pending holds the writes refused while the disk was full, to
		// retry (same ids) once it has room again.
		pending []pendingWrite
		slowest time.Duration
		refused int
	)
	accept := func(op event.Operation) {
		mu.Lock()
		defer mu.Unlock()
		version++
		op.Version = version
		st := model[op.ID]
		if st == nil {
			st = &event.State{ID: op.ID}
			model[op.ID] = st
		}
		st.Apply(&op)
	}
	send := func(w pendingWrite) bool {
		start := time.Now()
		r := callWith(t, client, w.method, c.baseURL+w.path, w.body)
		took := time.Since(start)
		mu.Lock()
		slowest = max(slowest, took)
		mu.Unlock()
		switch {
		case r.status == http.StatusAccepted:
			for _, op := range w.ops {
				accept(op)
			}
			return true
		case r.status == http.StatusServiceUnavailable || r.status == http.StatusTooManyRequests:
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%s %s: %d without Retry-After", w.method, w.path, r.status)
			}
			mu.Lock()
			refused++
			mu.Unlock()
			return false
		default:
			t.Fatalf("%s %s: %d %s", w.method, w.path, r.status, r.body)
			return false
		}
	}

	// Fill: batches of 100 creates with 2 KiB of incompressible input each,
	// from 4 clients, until 20 batches were refused (or 1 500 were sent).
	var next int
	batch := func() pendingWrite {
		mu.Lock()
		n := next
		next++
		mu.Unlock()
		items := make([]map[string]any, 100)
		ops := make([]event.Operation, 100)
		for i := range items {
			k := n*100 + i
			id := fmt.Sprintf("%s-%06d", run, k)
			conv := conversations[k%len(conversations)]
			name := []string{"chat", "tool"}[k%2]
			ts := day.Add(-time.Duration(k%3) * 24 * time.Hour).Add(time.Duration(k) * time.Millisecond)
			errMsg := ""
			if k%7 == 0 {
				errMsg = "it's a timeout"
			}
			latency := float64(k % 997)
			input := randomHex(1024)
			items[i] = map[string]any{"op": "create", "id": id, "conversation_id": conv, "event_name": name,
				"timestamp": ts.Format(time.RFC3339Nano), "input": input, "latency": latency, "error": errMsg}
			ops[i] = event.Operation{Op: event.OpCreate, ID: id, Set: event.AllFields, Event: event.Event{
				ConversationID: conv, Name: name, Timestamp: ts, Input: input, LatencyMs: latency, Error: errMsg}}
		}
		return pendingWrite{method: "POST", path: "/events/batch", body: items, ops: ops}
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				done := refused >= 20 || next >= 1500
				mu.Unlock()
				if done || t.Failed() {
					return
				}
				if w := batch(); !send(w) {
					mu.Lock()
					pending = append(pending, w)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if refused < 20 {
		t.Fatalf("only %d batches refused after %d: the disk never filled up", refused, next)
	}
	t.Logf("disk full after %d batches; %d stored by then", next, len(model))
	// Right after a refused write, /health says why.
	eventually(t, 30*time.Second, func() string {
		w := batch()
		if send(w) {
			return "a write was accepted again"
		}
		pending = append(pending, w)
		r := call(t, "GET", c.baseURL+"/health", nil)
		if !strings.Contains(string(r.body), `"degraded"`) || !strings.Contains(string(r.body), "min_free_space") {
			return fmt.Sprintf("/health while the disk is nearly full: %d %s", r.status, r.body)
		}
		return ""
	})

	// While full: updates of error and latency, and deletes, of stored events.
	var ids []string
	for id := range model {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for i, id := range ids {
		var w pendingWrite
		switch {
		case i%23 == 0:
			w = pendingWrite{method: "DELETE", path: "/event/" + id,
				ops: []event.Operation{{Op: event.OpDelete, ID: id}}}
		case i%11 == 0:
			w = pendingWrite{method: "PUT", path: "/event/" + id, body: map[string]any{"error": "late", "latency": 5000},
				ops: []event.Operation{{Op: event.OpUpdate, ID: id, Set: event.Fields(0).With(event.FieldError).With(event.FieldLatency),
					Event: event.Event{Error: "late", LatencyMs: 5000}}}}
		default:
			continue
		}
		if !send(w) {
			pending = append(pending, w)
		}
	}
	if limit := 2*pipelineTimeout + 2*time.Second; slowest > limit {
		t.Errorf("a write waited %s for its answer while the disk was full, want at most %s", slowest, limit)
	}
	t.Logf("slowest answer while full: %s; %d writes refused", slowest, refused)

	// Room again: restart, then retry what was refused, in order (an update
	// goes after its create was acknowledged, which the model's order keeps).
	if out, err := exec.Command("mount", "-o", "remount,size=1g", dir).CombinedOutput(); err != nil {
		t.Fatalf("give the space back: %v: %s", err, out)
	}
	c.stop()
	c.start()
	for _, w := range pending {
		eventually(t, 60*time.Second, func() string {
			if send(w) {
				return ""
			}
			return fmt.Sprintf("%s %s still refused", w.method, w.path)
		})
	}
	t.Logf("%d events written in all, %d writes retried; the exporter failed %d inserts and repaired %d times",
		len(model), len(pending), strings.Count(c.logs.String(), "Exporting failed"),
		strings.Count(c.logs.String(), "Repaired the analytics rows"))
	// A full disk is no reason to set an operation aside.
	if r := call(t, "GET", c.baseURL+"/dead-letters", nil); r.status != http.StatusOK || strings.Contains(string(r.body), `"id"`) {
		t.Fatalf("dead letters after a full disk: %d %.2000s", r.status, r.body)
	}
	checkReadsMatch(t, c.baseURL, model, conversations)
}

// pendingWrite is one write request and the operations it carries.
type pendingWrite struct {
	method, path string
	body         any
	ops          []event.Operation
}

func randomHex(n int) string {
	b := make([]byte, n/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// checkReadsMatch waits until every read through the API answers what
// model says: each event, the conversation pages (all pages), errors per
// day, p95 latency per (event name, conversation), top error sessions.
func checkReadsMatch(t *testing.T, baseURL string, model map[string]*event.State, conversations []string) {
	t.Helper()
	byConv := map[string][]*event.State{}
	for _, st := range model {
		if st.Visible() {
			byConv[st.ConversationID] = append(byConv[st.ConversationID], st)
		}
	}
	eventually(t, 120*time.Second, func() string {
		for _, conv := range conversations {
			want := byConv[conv]
			slices.SortFunc(want, func(a, b *event.State) int {
				return cmp.Or(a.Timestamp.Compare(b.Timestamp), cmp.Compare(a.ID, b.ID))
			})
			var got []httpapi.Event
			cursor := ""
			for {
				r := call(t, "GET", baseURL+"/events/conversation/"+conv+"?limit=1000&cursor="+url.QueryEscape(cursor), nil)
				if r.status != http.StatusOK {
					return fmt.Sprintf("conversation %s: %d %s", conv, r.status, r.body)
				}
				var page struct {
					Events []httpapi.Event `json:"events"`
					Next   string          `json:"next_cursor"`
				}
				if err := json.Unmarshal(r.body, &page); err != nil {
					return err.Error()
				}
				got = append(got, page.Events...)
				if cursor = page.Next; cursor == "" {
					break
				}
			}
			if len(got) != len(want) {
				listed := map[string]bool{}
				for _, e := range got {
					listed[e.ID] = true
				}
				var missing []string
				for _, e := range got {
					if st := model[e.ID]; (st == nil || !st.Visible()) && len(missing) < 3 {
						missing = append(missing, fmt.Sprintf("extra %s (model: %+v)", e.ID, st))
					}
				}
				for _, w := range want {
					if !listed[w.ID] && len(missing) < 3 {
						r := call(t, "GET", baseURL+"/event/"+url.PathEscape(w.ID), nil)
						missing = append(missing, fmt.Sprintf("%s (GET: %d)", w.ID, r.status))
					}
				}
				return fmt.Sprintf("conversation %s lists %d events, want %d; missing e.g. %v", conv, len(got), len(want), missing)
			}
			for i, e := range got {
				w := want[i]
				if e.ID != w.ID || e.Error != w.Error || e.Latency != w.LatencyMs || e.Input != w.Input {
					return fmt.Sprintf("conversation %s event %d: %s error %q latency %v, want %s error %q latency %v",
						conv, i, e.ID, e.Error, e.Latency, w.ID, w.Error, w.LatencyMs)
				}
			}
		}
		return checkAnalytics(t, baseURL, model)
	})
	for id, st := range model {
		if st.Visible() {
			continue
		}
		if r := call(t, "GET", baseURL+"/event/"+url.PathEscape(id), nil); r.status != http.StatusNotFound {
			t.Fatalf("deleted %s: %d", id, r.status)
		}
	}
}

// checkAnalytics compares the analytics endpoints with model ("" when they
// agree).
func checkAnalytics(t *testing.T, baseURL string, model map[string]*event.State) string {
	t.Helper()
	errorsByDay := map[string]map[string]int64{}
	latencies := map[[2]string][]float64{}
	type session struct{ errors, total int64 }
	sessions := map[string]*session{}
	for _, st := range model {
		if !st.Visible() {
			continue
		}
		k := [2]string{st.Name, st.ConversationID}
		latencies[k] = append(latencies[k], st.LatencyMs)
		s := sessions[st.ConversationID]
		if s == nil {
			s = &session{}
			sessions[st.ConversationID] = s
		}
		s.total++
		if st.Error != "" {
			s.errors++
			if errorsByDay[st.Name] == nil {
				errorsByDay[st.Name] = map[string]int64{}
			}
			errorsByDay[st.Name][st.Timestamp.Format(time.DateOnly)]++
		}
	}
	for name, want := range errorsByDay {
		r := call(t, "GET", baseURL+"/analytics/errors?days=7&event_name="+name, nil)
		var days struct {
			Data []struct {
				Date   string `json:"date"`
				Errors int64  `json:"errors"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &days); err != nil || r.status != http.StatusOK {
			return fmt.Sprintf("errors of %s: %d %s", name, r.status, r.body)
		}
		for _, d := range days.Data {
			if d.Errors != want[d.Date] {
				return fmt.Sprintf("errors of %s on %s: %d, want %d", name, d.Date, d.Errors, want[d.Date])
			}
		}
	}
	r := call(t, "GET", baseURL+"/analytics/latency?limit=1000", nil)
	var rows struct {
		Data []map[string]any `json:"data"`
	}
	if err := json.Unmarshal(r.body, &rows); err != nil || r.status != http.StatusOK {
		return fmt.Sprintf("latency: %d %s", r.status, r.body)
	}
	seen := 0
	for _, row := range rows.Data {
		conv, _ := row["conversation_id"].(string)
		name, _ := row["event_name"].(string)
		vals, ok := latencies[[2]string{name, conv}]
		if !ok {
			continue // another test's data
		}
		seen++
		s := slices.Clone(vals)
		slices.Sort(s)
		want := s[int(math.Floor(0.95*float64(len(s))))]
		if row["p95_latency"] != want || row["count"] != float64(len(vals)) {
			return fmt.Sprintf("latency of %s/%s: %v, want p95 %v of %d", name, conv, row, want, len(vals))
		}
	}
	if seen != len(latencies) {
		return fmt.Sprintf("latency lists %d of the %d (event name, conversation) groups", seen, len(latencies))
	}
	r = call(t, "GET", baseURL+"/analytics/sessions/top-errors?limit=1000", nil)
	rows.Data = nil
	if err := json.Unmarshal(r.body, &rows); err != nil || r.status != http.StatusOK {
		return fmt.Sprintf("top errors: %d %s", r.status, r.body)
	}
	seen = 0
	for _, row := range rows.Data {
		conv, _ := row["conversation_id"].(string)
		want, ok := sessions[conv]
		if !ok {
			continue
		}
		seen++
		if row["errors"] != float64(want.errors) || row["total"] != float64(want.total) {
			return fmt.Sprintf("top errors of %s: %v, want %d of %d", conv, row, want.errors, want.total)
		}
	}
	if withErrors := len(slices.Collect(func(yield func(string) bool) {
		for conv, s := range sessions {
			if s.errors > 0 && !yield(conv) {
				return
			}
		}
	})); seen != withErrors {
		return fmt.Sprintf("top errors lists %d of the %d sessions with errors", seen, withErrors)
	}
	return ""
}
