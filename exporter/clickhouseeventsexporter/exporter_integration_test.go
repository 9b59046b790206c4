package clickhouseeventsexporter

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// chdbLibrary finds libchdb.so: $CHDB_LIB, else <module root>/.cache/chdb.
func chdbLibrary(t *testing.T) string {
	if p := os.Getenv("CHDB_LIB"); p != "" {
		return p
	}
	p, err := filepath.Abs(filepath.Join("..", "..", ".cache", "chdb", "libchdb.so"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("libchdb.so not found at %s and CHDB_LIB is unset: run `make chdb`", p)
	}
	return p
}

func TestExporterWritesThroughThePipeline(t *testing.T) {
	database := fmt.Sprintf("exporter_test_%d", time.Now().UnixNano())
	for _, engine := range []struct {
		name string
		set  func(*Config)
	}{
		{"server", func(c *Config) { c.Endpoint = "tcp://127.0.0.1:9000" }},
		{"embedded", func(c *Config) {
			c.Endpoint = "chdb://" + t.TempDir()
			c.ChdbLibrary = chdbLibrary(t)
		}},
	} {
		t.Run(engine.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			cfg.Database = database
			engine.set(cfg)
			// No queue: ConsumeLogs returns once the rows are in ClickHouse;
			// no retries: a failure shows at once.
			cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
			cfg.BackOffConfig.Enabled = false
			exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				t.Fatal(err)
			}
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
}

func TestExporterStartsWithClickHouseDown(t *testing.T) {
	t.Parallel()
	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "tcp://127.0.0.1:1"
	cfg.DialTimeout = 200 * time.Millisecond
	cfg.QueueConfig = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.BackOffConfig.Enabled = false
	exp, err := NewFactory().CreateLogs(context.Background(), exportertest.NewNopSettings(componentType), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := exp.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatalf("start must not fail when ClickHouse is down: %v", err)
	}
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
