package eventsreceiver

import (
	"context"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"
)

// readsExtension stands for the eventsquery extension: it records the paths
// the receiver hands it.
type readsExtension struct {
	mu    sync.Mutex
	paths []string
}

func (e *readsExtension) Start(context.Context, component.Host) error { return nil }
func (e *readsExtension) Shutdown(context.Context) error              { return nil }
func (e *readsExtension) ReadAuthenticator() *httpapi.Authenticator   { return nil }

func (e *readsExtension) ReadHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.paths = append(e.paths, r.URL.Path)
		e.mu.Unlock()
		_, _ = io.WriteString(w, "from the extension")
	})
}

type hostWithExtensions map[component.ID]component.Component

func (h hostWithExtensions) GetExtensions() map[component.ID]component.Component { return h }

// TestReadsReachTheQueryExtension: the read routes, the dashboard and /
// are the extension's on the receiver's port; writes stay the receiver's.
func TestReadsReachTheQueryExtension(t *testing.T) {
	queryID := component.MustNewID("eventsquery")
	ext := &readsExtension{}
	addr := freePort(t)
	cfg := createDefaultConfig().(*Config)
	cfg.ServerConfig.NetAddr.Endpoint = addr
	cfg.Query = &queryID
	r, err := newEventsReceiver(cfg, receivertest.NewNopSettings(componentType), new(consumertest.LogsSink))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background(), hostWithExtensions{queryID: ext}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })

	forwarded := []string{"/", "/ui", "/ui/", "/ui/conversation", "/ui/app.js", "/analytics/events",
		"/analytics/errors", "/events/conversation/c1", "/event/e1", "/health", "/dead-letters"}
	for _, p := range forwarded {
		resp, err := http.Get("http://" + addr + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "from the extension" {
			t.Errorf("GET %s: %d %q, want the extension's answer", p, resp.StatusCode, body)
		}
	}
	// No write reaches the dashboard's paths.
	resp, err := http.Post("http://"+addr+"/ui/", "application/json", strings.NewReader(validEvent))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/: %d, want 405", resp.StatusCode)
	}
	ext.mu.Lock()
	defer ext.mu.Unlock()
	if len(ext.paths) != len(forwarded) {
		t.Errorf("the extension saw %v, want %v", ext.paths, forwarded)
	}
}
