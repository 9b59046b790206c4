package clickhouseeventsexporter

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// statusHost records the statuses reported through it.
type statusHost struct {
	component.Host
	mu       sync.Mutex
	statuses []componentstatus.Status
	errs     []error
}

func (h *statusHost) Report(ev *componentstatus.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.statuses = append(h.statuses, ev.Status())
	h.errs = append(h.errs, ev.Err())
}

// TestInsertFailureReportsStatus: while ClickHouse cannot be reached the
// exporter reports a recoverable error (once, whatever the number of failed
// pushes), and OK after the first insert that succeeds.
func TestInsertFailureReportsStatus(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there until the proxy starts

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "tcp://" + addr
	cfg.DialTimeout = time.Second
	cfg.Database = storagetest.ServerDatabase(t, "exporter_status")
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	if err != nil {
		t.Fatal(err)
	}
	host := &statusHost{Host: componenttest.NewNopHost()}
	if err := exp.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exp.Shutdown(context.Background()) }()

	clock := event.NewClock()
	push := func(id string) error {
		ld, lrs := event.NewLogs()
		op := event.Operation{Op: event.OpCreate, ID: id, Version: clock.Next(), Set: event.AllFields,
			Event: event.Event{ConversationID: "c", Name: "n", Timestamp: time.Now().UTC().Truncate(time.Millisecond)}}
		op.MarshalLogRecord(lrs.AppendEmpty(), time.Now())
		return exp.ConsumeLogs(context.Background(), ld)
	}
	for i := range 2 {
		if err := push("down" + string(rune('0'+i))); err == nil {
			t.Fatal("a push to an unreachable ClickHouse succeeded")
		}
	}
	proxy, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	forwarded := make(chan struct{})
	go func() { forward(proxy, "127.0.0.1:9000"); close(forwarded) }()
	defer func() { _ = proxy.Close(); <-forwarded }()
	if err := push("up"); err != nil {
		t.Fatalf("push once ClickHouse is reachable: %v", err)
	}

	host.mu.Lock()
	defer host.mu.Unlock()
	want := []componentstatus.Status{componentstatus.StatusRecoverableError, componentstatus.StatusOK}
	if len(host.statuses) != 2 || host.statuses[0] != want[0] || host.statuses[1] != want[1] {
		t.Fatalf("statuses %v, want %v", host.statuses, want)
	}
	if host.errs[0] == nil || !strings.Contains(host.errs[0].Error(), "ClickHouse") {
		t.Fatalf("the recoverable error does not say what failed: %v", host.errs[0])
	}
}

// forward copies each connection accepted on ln to target and back until
// ln is closed; it returns once every copy has ended.
func forward(ln net.Listener, target string) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	defer func() {
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		u, err := net.Dial("tcp", target)
		if err != nil {
			_ = c.Close()
			continue
		}
		mu.Lock()
		conns = append(conns, c, u)
		mu.Unlock()
		wg.Go(func() { _, _ = io.Copy(u, c); _ = u.Close() })
		wg.Go(func() { _, _ = io.Copy(c, u); _ = c.Close() })
	}
}
