package clickhouseeventsexporter

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"
	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// startWithoutQueue starts an exporter with cfg, without queue (ConsumeLogs
// returns once the rows are in ClickHouse) and without retries (a failure
// shows at once).
func startWithoutQueue(t *testing.T, cfg *Config) exporter.Logs {
	t.Helper()
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	return exp
}

// forEachEngine runs test with the default config on one database of each
// engine: the ClickHouse server of `make services` and the embedded engine.
func forEachEngine(t *testing.T, databasePrefix string, test func(t *testing.T, cfg *Config)) {
	database := storagetest.ServerDatabase(t, databasePrefix)
	for _, engine := range []struct {
		name string
		set  func(*testing.T, *Config)
	}{
		{"server", func(_ *testing.T, c *Config) { c.Endpoint = "tcp://127.0.0.1:9000" }},
		{"embedded", func(t *testing.T, c *Config) {
			c.Endpoint = "chdb://" + t.TempDir()
			c.ChdbLibrary = chdbtest.Library(t)
		}},
	} {
		t.Run(engine.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Database = database
			engine.set(t, cfg)
			test(t, cfg)
		})
	}
}

func TestExporterWritesThroughThePipeline(t *testing.T) {
	forEachEngine(t, "exporter_test", func(t *testing.T, cfg *Config) {
		exp := startWithoutQueue(t, cfg)
		clock := event.NewClock()
		ts := time.Now().UTC().Truncate(time.Millisecond)
		ld, lrs := event.NewLogs()
		create := event.Operation{Op: event.OpCreate, ID: "e1", Version: clock.Next(), Set: event.AllFields,
			Event: event.Event{ConversationID: "c1", Name: "event_a", Timestamp: ts, Input: "hi", Output: "ho", LatencyMs: 12}}
		update := event.Operation{Op: event.OpUpdate, ID: "e1", Version: clock.Next(),
			Set: event.Fields(0).With(event.FieldError), Event: event.Event{Error: "timeout"}}
		create.MarshalLogRecord(lrs.AppendEmpty(), ts)
		update.MarshalLogRecord(lrs.AppendEmpty(), ts)
		lrs.AppendEmpty().Attributes().PutStr("not", "canonical") // dropped, counted
		if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}
		// Redelivery of the same data changes nothing.
		again := plog.NewLogs()
		ld.CopyTo(again)
		if err := exp.ConsumeLogs(context.Background(), again); err != nil {
			t.Fatal(err)
		}
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}

		readCfg := cfg.Config
		store, err := storage.Open(context.Background(), readCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		got, err := store.Event(context.Background(), "e1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Error != "timeout" || got.Input != "hi" || got.LatencyMs != 12 {
			t.Fatalf("stored %+v", got)
		}
		events, err := store.Conversation(context.Background(), "c1", nil, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 {
			t.Fatalf("conversation has %d events after a replay, want 1", len(events))
		}
	})
}

func TestExporterStartsWithClickHouseDown(t *testing.T) {
	t.Parallel()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "tcp://127.0.0.1:1"
	cfg.DialTimeout = 200 * time.Millisecond
	exp := startWithoutQueue(t, cfg) // start must not fail when ClickHouse is down
	ld, lrs := event.NewLogs()
	op := event.Operation{Op: event.OpDelete, ID: "x", Version: 1}
	op.MarshalLogRecord(lrs.AppendEmpty(), time.Now())
	if err := exp.ConsumeLogs(context.Background(), ld); err == nil {
		t.Fatal("push must fail while ClickHouse is down")
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), createDefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentPushesWithoutQueue: concurrent pushes without a sending
// queue each return once their operations are stored.
func TestConcurrentPushesWithoutQueue(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Database = storagetest.ServerDatabase(t, "exporter_test")
	cfg.Endpoint = "tcp://127.0.0.1:9000"
	exp := startWithoutQueue(t, cfg)
	defer func() {
		if err := exp.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	}()
	store, err := storage.Open(context.Background(), cfg.Config)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()

	const pushers, perPush, rounds = 6, 25, 4
	clock := event.NewClock()
	ts := time.Now().UTC().Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for p := range pushers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				ld, lrs := event.NewLogs()
				for i := range perPush {
					id := fmt.Sprintf("p%d-r%d-%d", p, r, i)
					op := event.Operation{Op: event.OpCreate, ID: id, Version: clock.Next(), Set: event.AllFields,
						Event: event.Event{ConversationID: "c", Name: "n", Timestamp: ts, LatencyMs: float64(i)}}
					op.MarshalLogRecord(lrs.AppendEmpty(), ts)
				}
				if err := exp.ConsumeLogs(context.Background(), ld); err != nil {
					t.Error(err)
					return
				}
				// Returned: every operation of the push is readable now.
				for i := range perPush {
					id := fmt.Sprintf("p%d-r%d-%d", p, r, i)
					if got, err := store.Event(context.Background(), id); err != nil || got.LatencyMs != float64(i) {
						t.Errorf("%s after its push returned: %+v, %v", id, got, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	rows, err := store.Latency(context.Background(), storage.LatencyFilter{}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Count != pushers*perPush*rounds {
		t.Fatalf("latency rows %+v, want one group of %d events", rows, pushers*perPush*rounds)
	}
}
