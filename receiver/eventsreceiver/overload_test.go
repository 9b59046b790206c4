package eventsreceiver

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
)

// TestMaxPendingOperationsSheds: while max_pending_operations operations wait
// for the pipeline, the next write gets 429 with Retry-After at once, a
// single write with its id; once they are answered, writes go again.
func TestMaxPendingOperationsSheds(t *testing.T) {
	t.Parallel()
	sink := &deafSink{release: make(chan struct{})}
	r := newTestReceiver(t, sink, func(c *Config) { c.MaxPendingOperations = 3 })
	var wg sync.WaitGroup
	statuses := make(chan int, 3)
	for range 3 {
		wg.Go(func() {
			statuses <- do(t, r, "POST", "/event/", "application/json", []byte(validEvent)).status
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.pending.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, want 3", r.pending.Load())
		}
		time.Sleep(time.Millisecond)
	}
	for _, req := range []struct{ path, body string }{
		{"/event/", validEvent},
		{"/events/batch", "[" + validEvent + "," + validEvent + "]"},
	} {
		answered := make(chan apiResponse, 1)
		go func() { answered <- do(t, r, "POST", req.path, "application/json", []byte(req.body)) }()
		var resp apiResponse
		select {
		case resp = <-answered:
		case <-time.After(5 * time.Second):
			close(sink.release)
			t.Fatalf("POST %s over the bound waits for the pipeline instead of a 429", req.path)
		}
		if resp.status != http.StatusTooManyRequests || resp.errorCode() != "overloaded" || resp.header.Get("Retry-After") != "1" {
			t.Fatalf("POST %s over the bound: %d %v (Retry-After %q)", req.path, resp.status, resp.body, resp.header.Get("Retry-After"))
		}
		if req.path == "/event/" && resp.body["id"] == nil {
			t.Fatalf("a refused single write names no id: %v", resp.body)
		}
	}
	close(sink.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusAccepted {
			t.Fatalf("an admitted write got %d", s)
		}
	}
	if got := r.pending.Load(); got != 0 {
		t.Fatalf("pending = %d after every answer", got)
	}
	if resp := do(t, r, "POST", "/event/", "application/json", []byte(validEvent)); resp.status != http.StatusAccepted {
		t.Fatalf("after the load: %d %v", resp.status, resp.body)
	}
}

// TestLargeBatchAdmittedAlone: a batch larger than max_pending_operations
// goes when nothing else waits (the bound sheds queueing, not size).
func TestLargeBatchAdmittedAlone(t *testing.T) {
	t.Parallel()
	r := newTestReceiver(t, new(consumertest.LogsSink), func(c *Config) { c.MaxPendingOperations = 1 })
	resp := do(t, r, "POST", "/events/batch", "application/json", []byte("["+validEvent+","+validEvent+","+validEvent+"]"))
	if resp.status != http.StatusAccepted || resp.body["accepted"] != float64(3) {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
}

// statusHost records the component statuses reported through it.
type statusHost struct {
	component.Host
	mu     sync.Mutex
	events []*componentstatus.Event
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, ev)
}

func (h *statusHost) statuses() []componentstatus.Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []componentstatus.Status
	for _, ev := range h.events {
		out = append(out, ev.Status())
	}
	return out
}

// switchSink fails while failing is set.
type switchSink struct {
	mu      sync.Mutex
	failing error
}

func (s *switchSink) set(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = err
}

func (s *switchSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *switchSink) ConsumeLogs(context.Context, plog.Logs) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failing
}

// TestPipelineStatusReported: while the pipeline refuses writes the receiver
// reports a recoverable error (what /health shows as degraded), OK once a
// write goes again, each change once; an overload 429 or a client's own bad
// request is no pipeline failure.
func TestPipelineStatusReported(t *testing.T) {
	t.Parallel()
	sink := &switchSink{}
	r := newTestReceiver(t, sink, func(c *Config) { c.MaxPendingOperations = 0 })
	host := &statusHost{Host: componenttest.NewNopHost()}
	r.host = host
	post := func() int { return do(t, r, "POST", "/event/", "application/json", []byte(validEvent)).status }

	if s := post(); s != http.StatusAccepted {
		t.Fatalf("healthy pipeline: %d", s)
	}
	sink.set(errors.New("kafka: broker not available"))
	for range 3 {
		if s := post(); s != http.StatusServiceUnavailable {
			t.Fatalf("refusing pipeline: %d", s)
		}
	}
	if s := do(t, r, "POST", "/event/", "application/json", []byte(`{`)).status; s != http.StatusBadRequest {
		t.Fatalf("bad request: %d", s)
	}
	sink.set(nil)
	for range 2 {
		if s := post(); s != http.StatusAccepted {
			t.Fatalf("recovered pipeline: %d", s)
		}
	}
	got := host.statuses()
	want := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("statuses %v, want %v", got, want)
	}
	if err := host.events[0].Err(); err == nil || !strings.Contains(err.Error(), "broker not available") {
		t.Fatalf("the recoverable error does not say why: %v", err)
	}
}

// TestBatchLineSheds: with every batch slot taken and as many batches waiting
// for one, the next batch gets 429 at once, before its body is read.
func TestBatchLineSheds(t *testing.T) {
	t.Parallel()
	sink := &deafSink{release: make(chan struct{})}
	r := newTestReceiver(t, sink, func(c *Config) { c.MaxConcurrentBatches = 1 })
	var wg sync.WaitGroup
	statuses := make(chan int, 2)
	for range 2 {
		wg.Go(func() {
			statuses <- do(t, r, "POST", "/events/batch", "application/json", []byte("["+validEvent+"]")).status
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.pending.Load() < 1 || r.batchWaiters.Load() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("pending %d, waiting %d: want one served and one waiting", r.pending.Load(), r.batchWaiters.Load())
		}
		time.Sleep(time.Millisecond)
	}
	unread := &signalReader{r: strings.NewReader("[" + validEvent + "]"), read: make(chan struct{})}
	req := httptest.NewRequest("POST", "/events/batch", unread)
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	answered := make(chan struct{})
	go func() { r.ServeHTTP(rec, req); close(answered) }()
	select {
	case <-answered:
	case <-time.After(5 * time.Second):
		close(sink.release)
		t.Fatal("a batch behind a full line waits instead of a 429")
	}
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") == "" || !strings.Contains(rec.Body.String(), `"overloaded"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	select {
	case <-unread.read:
		t.Fatal("the shed batch's body was read")
	default:
	}
	close(sink.release)
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusAccepted {
			t.Fatalf("a batch in line got %d", s)
		}
	}
}
