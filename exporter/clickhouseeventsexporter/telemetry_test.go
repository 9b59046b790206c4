package clickhouseeventsexporter

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/metadatatest"
)

func newTelemetryExporter(t *testing.T, cfg *Config) (*eventsExporter, *componenttest.Telemetry) {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	set := exportertest.NewNopSettings(componentType)
	set.TelemetrySettings = tel.NewTelemetrySettings()
	e, err := newEventsExporter(cfg, set)
	if err != nil {
		t.Fatal(err)
	}
	return e, tel
}

// TestTelemetryMatchesMetadata: the exporter's instruments are the ones
// metadata.yaml declares, with its descriptions, units and buckets.
func TestTelemetryMatchesMetadata(t *testing.T) {
	e, tel := newTelemetryExporter(t, createDefaultConfig().(*Config))
	ctx := context.Background()
	e.operations.Add(ctx, 1)
	e.dropped.Add(ctx, 1)
	e.deadLettered.Add(ctx, 1)
	e.insertRows.Record(ctx, 1)
	e.insertBytes.Record(ctx, 1)
	e.insertDuration.Record(ctx, 1)
	e.storedDelay.Record(ctx, 1)
	e.unpriced.Add(ctx, 1)
	metadatatest.CheckTelemetry(t, "metadata.yaml", tel, "")
}

func histogram[N int64 | float64](t *testing.T, tel *componenttest.Telemetry, name string) metricdata.HistogramDataPoint[N] {
	t.Helper()
	m, err := tel.GetMetric(name)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := m.Data.(metricdata.Histogram[N])
	if !ok || len(h.DataPoints) != 1 {
		t.Fatalf("%s: %T %+v, want one histogram point", name, m.Data, m.Data)
	}
	return h.DataPoints[0]
}

// TestInsertTelemetry: with a controlled clock, each insert records its rows,
// bytes and duration, and each operation how long after its acceptance the
// insert stored it.
func TestInsertTelemetry(t *testing.T) {
	forEachEngine(t, "exporter_telemetry", func(t *testing.T, cfg *Config) {
		e, tel := newTelemetryExporter(t, cfg)
		t.Cleanup(func() { _ = e.shutdown(context.Background()) })
		accepted := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
		// Each reading of the clock is 5 ms after the one before, from 2 s
		// after the first operation was accepted.
		var mu sync.Mutex
		now := accepted.Add(2 * time.Second)
		e.now = func() time.Time {
			mu.Lock()
			defer mu.Unlock()
			now = now.Add(5 * time.Millisecond)
			return now
		}
		ld, lrs := event.NewLogs()
		versions := []time.Time{accepted, accepted.Add(time.Second), accepted.Add(1500 * time.Millisecond)}
		for i, v := range versions {
			op := event.Operation{Op: event.OpCreate, ID: fmt.Sprintf("t%d", i), Version: uint64(v.UnixNano()), Set: event.AllFields,
				Event: event.Event{ConversationID: "c", Name: "n", Timestamp: accepted, Input: "in", LatencyMs: 1}}
			op.MarshalLogRecord(lrs.AppendEmpty(), accepted)
		}
		if err := e.pushLogs(context.Background(), ld); err != nil {
			t.Fatal(err)
		}

		rows := histogram[int64](t, tel, "otelcol_events_exporter_insert_rows")
		if rows.Count != 1 || rows.Sum != 3 {
			t.Errorf("insert rows: %d inserts, %d rows; want 1 insert of 3 rows", rows.Count, rows.Sum)
		}
		bytes := histogram[int64](t, tel, "otelcol_events_exporter_insert_bytes")
		if bytes.Count != 1 || bytes.Sum < 3*(2+2+1+2) {
			t.Errorf("insert bytes: %d inserts, %d bytes", bytes.Count, bytes.Sum)
		}
		duration := histogram[float64](t, tel, "otelcol_events_exporter_insert_duration")
		if duration.Count != 1 || math.Abs(duration.Sum-0.005) > 1e-9 {
			t.Errorf("insert duration: %d inserts, %v s; want 1 of 0.005 s (two clock readings)", duration.Count, duration.Sum)
		}
		// Stored at the third reading: accepted + 2 s + 15 ms.
		delay := histogram[float64](t, tel, "otelcol_events_exporter_stored_delay")
		want := 2.015 + 1.015 + 0.515
		if delay.Count != 3 || math.Abs(delay.Sum-want) > 1e-6 {
			t.Errorf("stored delay: %d operations, %v s; want 3, %v s", delay.Count, delay.Sum, want)
		}
		if max, ok := delay.Max.Value(); !ok || math.Abs(max-2.015) > 1e-6 {
			t.Errorf("stored delay max %v, want 2.015", max)
		}
	})
}
