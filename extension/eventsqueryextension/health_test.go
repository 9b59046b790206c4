package eventsqueryextension

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.opentelemetry.io/collector/pipeline"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

type healthAnswer struct {
	Status     string         `json:"status"`
	ClickHouse string         `json:"clickhouse"`
	Reasons    []healthReason `json:"reasons"`
}

func getHealth(t *testing.T, srv *httptest.Server) (int, healthAnswer) {
	t.Helper()
	a := do(t, srv, "GET", "/health")
	var h healthAnswer
	if err := json.Unmarshal([]byte(a.body), &h); err != nil {
		t.Fatalf("health body %q: %v", a.body, err)
	}
	return a.status, h
}

// TestHealthFollowsComponentStatus: the host's status events reach /health
// through the extension's ComponentStatusWatcher; an error status makes it
// degraded with the component and its error, StatusOK clears it.
func TestHealthFollowsComponentStatus(t *testing.T) {
	t.Parallel()
	ext := newQueryExtension(testConfig(), testSettings(), (&fakeOpener{}).open)
	var watcher extensioncapabilities.ComponentStatusWatcher = ext
	srv := httptest.NewServer(ext.ReadHandler())
	t.Cleanup(srv.Close)

	exporter := componentstatus.NewInstanceID(component.MustNewID("clickhouseevents"), component.KindExporter,
		pipeline.NewIDWithName(pipeline.SignalLogs, "events"))
	receiver := componentstatus.NewInstanceID(component.MustNewIDWithName("kafka", "storage"), component.KindReceiver)
	// A status may arrive before Start.
	watcher.Changed(exporter, componentstatus.NewEvent(componentstatus.StatusStarting))
	watcher.Changed(exporter, componentstatus.NewEvent(componentstatus.StatusOK))
	if status, h := getHealth(t, srv); status != 200 || h.Status != "ok" || len(h.Reasons) != 0 {
		t.Fatalf("all OK: %d %+v", status, h)
	}

	watcher.Changed(exporter, componentstatus.NewRecoverableErrorEvent(errors.New("insert: connection refused")))
	watcher.Changed(receiver, componentstatus.NewPermanentErrorEvent(errors.New("topic <events> & \"x\" not found")))
	status, h := getHealth(t, srv)
	if status != 200 || h.Status != "degraded" || len(h.Reasons) != 2 {
		t.Fatalf("two errors: %d %+v", status, h)
	}
	want := []healthReason{
		{Source: "exporter/clickhouseevents", Status: "RecoverableError", Message: "insert: connection refused"},
		{Source: "receiver/kafka/storage", Status: "PermanentError", Message: "topic <events> & \"x\" not found"},
	}
	for i, w := range want {
		got := h.Reasons[i]
		if got.Source != w.Source || got.Status != w.Status || got.Message != w.Message || got.Since == "" {
			t.Errorf("reason %d: %+v, want %+v with a time", i, got, w)
		}
	}

	// Concurrent reports, as the host may send them.
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			watcher.Changed(receiver, componentstatus.NewEvent(componentstatus.StatusOK))
		}()
	}
	wg.Wait()
	watcher.Changed(exporter, componentstatus.NewEvent(componentstatus.StatusOK))
	if status, h := getHealth(t, srv); status != 200 || h.Status != "ok" || len(h.Reasons) != 0 {
		t.Fatalf("recovered: %d %+v", status, h)
	}
}

// TestHealthMaxDataAge: with a controlled clock, /health turns degraded
// once the newest stored operation is older than max_data_age, and ok again
// when a newer one is stored; an empty store is not lagging.
func TestHealthMaxDataAge(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	fake := &fakeReader{}
	cfg := createDefaultConfig().(*Config)
	cfg.Health.MaxDataAge = 30 * time.Second
	var mu sync.Mutex
	now := base
	h := newHandler(cfg, zap.NewNop(), func(context.Context) (reader, error) { return fake, nil })
	h.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	steps := []struct {
		at     time.Duration
		newest time.Duration // -1: nothing stored
		status string
	}{
		{0, -1, "ok"},
		{2 * time.Second, 0, "ok"},
		{30 * time.Second, 0, "ok"},
		{31 * time.Second, 0, "degraded"},
		{40 * time.Second, 39 * time.Second, "ok"},
	}
	for i, s := range steps {
		fresh := storage.Freshness{}
		if s.newest >= 0 {
			fresh.NewestVersion = uint64(base.Add(s.newest).UnixNano())
		}
		fake.setFresh(fresh)
		mu.Lock()
		now = base.Add(s.at)
		mu.Unlock()
		code, got := getHealth(t, srv)
		if code != 200 || got.Status != s.status {
			t.Errorf("step %d: %d %+v, want 200 %s", i, code, got, s.status)
		}
		if s.status == "degraded" && (len(got.Reasons) != 1 || got.Reasons[0].Source != "data_age") {
			t.Errorf("step %d: reasons %+v, want data_age", i, got.Reasons)
		}
	}
}
