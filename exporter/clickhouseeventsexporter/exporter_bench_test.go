package clickhouseeventsexporter

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// BenchmarkExporterVsRawInsert measures, in the same run against the
// ClickHouse server of `make services`, the exporter writing batches of new
// events (decode, state lookup, merge, one insert) and its ceiling: a raw
// clickhouse-go batch insert of the same rows into a plain MergeTree table
// with the same columns. It reports both row rates and their ratio, for one
// push at a time and for concurrent pushes (the sending queue's consumers,
// the Kafka receiver's partitions), the raw inserts then running with the
// same concurrency.
//
//	go test -run '^$' -bench ExporterVsRawInsert -benchtime 20x ./exporter/clickhouseeventsexporter
func BenchmarkExporterVsRawInsert(b *testing.B) {
	for _, pushers := range []int{1, 4} {
		b.Run(fmt.Sprintf("pushers=%d", pushers), func(b *testing.B) { benchmarkExporterVsRawInsert(b, pushers) })
	}
}

func benchmarkExporterVsRawInsert(b *testing.B, pushers int) {
	const batchSize = 10_000
	ctx := context.Background()
	database := storagetest.ServerDatabase(b, "bench")

	cfg := createDefaultConfig().(*Config)
	cfg.Endpoint = "tcp://127.0.0.1:9000"
	cfg.Database = database
	exp, err := newEventsExporter(cfg, exportertest.NewNopSettings(componentType))
	if err != nil {
		b.Fatal(err)
	}
	if err := exp.start(ctx, componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = exp.shutdown(ctx) }()
	if _, err := exp.getStore(ctx); err != nil {
		b.Fatalf("ClickHouse server (make services): %v", err)
	}

	raw, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:9000"},
		Compression: &clickhouse.Compression{Method: clickhouse.CompressionLZ4}})
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	// The original project's table: one row per event with every field.
	if err := raw.Exec(ctx, "CREATE TABLE "+database+".raw (id String, conversation_id String, event_name String, "+
		"timestamp DateTime('UTC'), input String, output String, latency Float64, error String, "+
		"attr_keys Array(String), attr_values Array(String), version UInt64, is_deleted UInt8) "+
		"ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) ORDER BY (conversation_id, timestamp, id)"); err != nil {
		b.Fatal(err)
	}

	clock := event.NewClock()
	ts := time.Now().UTC().Truncate(time.Millisecond)
	makeBatch := func(n int) ([]event.Operation, plog.Logs) {
		ops := make([]event.Operation, batchSize)
		b := event.NewLogsBuilder(event.DefaultPartitionBuckets, 0)
		for i := range ops {
			ops[i] = event.Operation{Op: event.OpCreate, ID: fmt.Sprintf("b%d-%d", n, i), Version: clock.Next(), Set: event.AllFields,
				Event: event.Event{ConversationID: fmt.Sprintf("conv-%d", i%1000), Name: "event_a", Timestamp: ts,
					Input: "What is the weather?", Output: "It's sunny!", LatencyMs: float64(i % 5000)}}
			b.Append(&ops[i], ts)
		}
		return ops, b.Logs()
	}
	rawInsert := func(ops []event.Operation) {
		batch, err := raw.PrepareBatch(ctx, "INSERT INTO "+database+".raw (id, conversation_id, event_name, timestamp, input, output, latency, error, attr_keys, attr_values, version, is_deleted)")
		if err != nil {
			b.Error(err)
			return
		}
		for i := range ops {
			o := &ops[i]
			if err := batch.Append(o.ID, o.ConversationID, o.Name, o.Timestamp, o.Input, o.Output,
				o.LatencyMs, o.Error, []string{}, []string{}, o.Version, uint8(0)); err != nil {
				b.Error(err)
				return
			}
		}
		if err := batch.Send(); err != nil {
			b.Error(err)
		}
	}

	// concurrently runs f(0..pushers-1) at once and returns the wall time.
	concurrently := func(f func(p int)) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for p := range pushers {
			wg.Go(func() { f(p) })
		}
		wg.Wait()
		return time.Since(start)
	}
	var exporterTime, rawTime time.Duration
	b.ResetTimer()
	for n := range b.N {
		b.StopTimer()
		ops := make([][]event.Operation, pushers)
		lds := make([]plog.Logs, pushers)
		for p := range pushers {
			ops[p], lds[p] = makeBatch(n*pushers + p)
		}
		b.StartTimer()
		exporterTime += concurrently(func(p int) {
			if err := exp.pushLogs(ctx, lds[p]); err != nil {
				b.Error(err)
			}
		})
		rawTime += concurrently(func(p int) { rawInsert(ops[p]) })
	}
	rows := float64(b.N * pushers * batchSize)
	b.ReportMetric(rows/exporterTime.Seconds(), "exporter_rows/s")
	b.ReportMetric(rows/rawTime.Seconds(), "raw_rows/s")
	b.ReportMetric(rawTime.Seconds()/exporterTime.Seconds(), "ratio")
}
