package eventsqueryextension

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/extension"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

func testSettings() extension.Settings {
	return extension.Settings{
		ID:                component.NewID(componentType),
		TelemetrySettings: componenttest.NewNopTelemetrySettings(),
		BuildInfo:         component.NewDefaultBuildInfo(),
	}
}

func testConfig() *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = "127.0.0.1:0"
	return cfg
}

func get(t *testing.T, url string) answer {
	t.Helper()
	resp, err := http.Get(url)
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

func TestFactory(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	if f.Type().String() != "eventsquery" || f.Stability() != component.StabilityLevelAlpha {
		t.Errorf("type %s stability %s", f.Type(), f.Stability())
	}
	ext, err := f.Create(context.Background(), testSettings(), f.CreateDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ext.(httpapi.ReadRoutes); !ok {
		t.Error("the extension does not implement httpapi.ReadRoutes")
	}
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown without Start: %v", err)
	}
}

// ClickHouse down at start: Start succeeds, reads answer 503, Shutdown is
// clean.
func TestLifecycleWithClickHouseDown(t *testing.T) {
	t.Parallel()
	cfg := testConfig()
	cfg.ClickHouse.Endpoint = "tcp://127.0.0.1:1"
	cfg.ClickHouse.DialTimeout = time.Second
	ext, err := NewFactory().Create(context.Background(), testSettings(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatalf("Start failed with ClickHouse down: %v", err)
	}
	base := "http://" + ext.(*queryExtension).addr.String()

	a := get(t, base+"/health")
	if a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, `"status":"degraded"`) ||
		!strings.Contains(a.body, "127.0.0.1:1") {
		t.Errorf("/health: %d %s", a.status, a.body)
	}
	a = get(t, base+"/event/e1")
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "1" ||
		!strings.Contains(a.body, `"code":"unavailable"`) {
		t.Errorf("/event/e1: %d %v %s", a.status, a.header, a.body)
	}
	a = get(t, base+"/analytics/latency?limit=0")
	if a.status != http.StatusBadRequest {
		t.Errorf("a bad parameter answered %d while ClickHouse is down, want 400", a.status)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ext.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := http.Get(base + "/health"); err == nil {
		t.Error("the server still answers after Shutdown")
	}
}

func TestStartFailsWhenThePortIsTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.ServerConfig.NetAddr.Endpoint = ln.Addr().String()
	ext := newQueryExtension(cfg, testSettings(), (&fakeOpener{}).open)
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err == nil {
		t.Fatal("Start succeeded on a port in use")
	}
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after a failed Start: %v", err)
	}
}

// fakeOpener fails while down is set and hands out fake stores otherwise.
type fakeOpener struct {
	down    atomic.Bool
	opens   atomic.Int32
	release chan struct{} // when set, open waits for it
	mu      sync.Mutex
	stores  []*closableReader
}

type closableReader struct {
	fakeReader
	closed atomic.Bool
}

func (c *closableReader) Close() error {
	c.closed.Store(true)
	return nil
}

func (o *fakeOpener) open(context.Context, storage.Config) (store, error) {
	o.opens.Add(1)
	if o.release != nil {
		<-o.release
	}
	if o.down.Load() {
		return nil, errors.New("dial tcp 127.0.0.1:9000: connection refused")
	}
	s := &closableReader{}
	o.mu.Lock()
	o.stores = append(o.stores, s)
	o.mu.Unlock()
	return s, nil
}

func (o *fakeOpener) opened() []*closableReader {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*closableReader(nil), o.stores...)
}

// A ClickHouse that comes up after Start is picked up by the next request;
// attempts are spaced by the reopen interval.
func TestConnectsLazily(t *testing.T) {
	t.Parallel()
	opener := &fakeOpener{}
	opener.down.Store(true)
	ext := newQueryExtension(testConfig(), testSettings(), opener.open)
	var clock atomic.Int64 // seconds since the start of the test
	start := time.Now()
	ext.stores.now = func() time.Time { return start.Add(time.Duration(clock.Load()) * time.Second) }
	if err := ext.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + ext.addr.String()

	if a := get(t, base+"/health"); a.status != http.StatusServiceUnavailable {
		t.Fatalf("/health while down: %d %s", a.status, a.body)
	}
	opener.down.Store(false)
	// Within the reopen interval the last failure is answered again.
	if a := get(t, base+"/health"); a.status != http.StatusServiceUnavailable || opener.opens.Load() != 1 {
		t.Fatalf("/health within the reopen interval: %d, %d attempts", a.status, opener.opens.Load())
	}
	clock.Add(1)
	if a := get(t, base+"/health"); a.status != http.StatusOK {
		t.Fatalf("/health once up: %d %s", a.status, a.body)
	}
	if a := get(t, base+"/analytics/latency"); a.status != http.StatusOK {
		t.Fatalf("/analytics/latency once up: %d %s", a.status, a.body)
	}
	if n := opener.opens.Load(); n != 2 {
		t.Errorf("%d connection attempts, want 2 (one failed, one kept)", n)
	}
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := opener.opened(); len(s) != 1 || !s[0].closed.Load() {
		t.Error("Shutdown did not close the store")
	}
}

// ReadHandler serves the same routes as the extension's own port, before
// Start too (the receiver starts after its extensions, but need not).
func TestReadHandler(t *testing.T) {
	t.Parallel()
	opener := &fakeOpener{}
	ext := newQueryExtension(testConfig(), testSettings(), opener.open)
	srv := httptest.NewServer(ext.ReadHandler())
	defer srv.Close()
	a := do(t, srv, "GET", "/health")
	if a.status != http.StatusOK || a.body != `{"status":"ok","clickhouse":"ok"}` {
		t.Errorf("/health: %d %s", a.status, a.body)
	}
	if a := do(t, srv, "GET", "/event/nope"); a.status != http.StatusNotFound {
		t.Errorf("/event/nope: %d %s", a.status, a.body)
	}
	if err := ext.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if a := do(t, srv, "GET", "/health"); a.status != http.StatusServiceUnavailable {
		t.Errorf("/health after Shutdown: %d %s", a.status, a.body)
	}
}

// Shutdown honours its context while a connection attempt hangs, and the
// store that attempt opens afterwards is closed, not leaked.
func TestShutdownDuringConnect(t *testing.T) {
	t.Parallel()
	opener := &fakeOpener{release: make(chan struct{})}
	ext := newQueryExtension(testConfig(), testSettings(), opener.open)
	srv := httptest.NewServer(ext.ReadHandler())
	defer srv.Close()

	done := make(chan answer)
	go func() {
		resp, err := http.Get(srv.URL + "/health")
		if err != nil {
			done <- answer{}
			return
		}
		resp.Body.Close()
		done <- answer{status: resp.StatusCode}
	}()
	for opener.opens.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := ext.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown during a hanging connect: %v, want the context's error", err)
	}
	close(opener.release)
	if a := <-done; a.status != http.StatusServiceUnavailable {
		t.Errorf("the request that raced Shutdown got %d, want 503", a.status)
	}
	if s := opener.opened(); len(s) != 1 || !s[0].closed.Load() {
		t.Error("the store opened after Shutdown was not closed")
	}
}
