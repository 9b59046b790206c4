package clickhouseeventsexporter // import "github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter"

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

type eventsExporter struct {
	cfg    *Config
	logger *zap.Logger
	limits event.Limits

	operations     metric.Int64Counter
	dropped        metric.Int64Counter
	deadLettered   metric.Int64Counter
	insertRows     metric.Int64Histogram
	insertBytes    metric.Int64Histogram
	insertDuration metric.Float64Histogram
	storedDelay    metric.Float64Histogram
	// now is the clock of the insert durations and the stored delays.
	now func() time.Time

	status   statusReporter
	unpriced metric.Int64Counter
	prices   *event.PriceTable

	mu    sync.Mutex
	store *storage.Store
}

var (
	outcomeChanged   = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "changed")))
	outcomeUnchanged = metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", "unchanged")))
)

func newEventsExporter(cfg *Config, set exporter.Settings) (*eventsExporter, error) {
	meter := set.MeterProvider.Meter("github.com/otelcol-events/otelcol-events/exporter/clickhouseeventsexporter")
	operations, err := meter.Int64Counter("otelcol_events_exporter_operations",
		metric.WithDescription("Canonical event operations written to ClickHouse, by outcome (changed, unchanged)."),
		metric.WithUnit("{operation}"))
	if err != nil {
		return nil, err
	}
	dropped, err := meter.Int64Counter("otelcol_events_exporter_dropped_records",
		metric.WithDescription("Log records that are not valid canonical event records; each goes to the dead letters."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, err
	}
	deadLettered, err := meter.Int64Counter("otelcol_events_exporter_dead_letters",
		metric.WithDescription("Operations and records written to the dead_letters table instead of the events, refused by the engine on their own, or not canonical event records."),
		metric.WithUnit("{record}"))
	if err != nil {
		return nil, err
	}
	insertRows, err := meter.Int64Histogram("otelcol_events_exporter_insert_rows",
		metric.WithDescription("Rows (state changes) of each insert into ClickHouse."),
		metric.WithUnit("{row}"),
		metric.WithExplicitBucketBoundaries(1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000))
	if err != nil {
		return nil, err
	}
	insertBytes, err := meter.Int64Histogram("otelcol_events_exporter_insert_bytes",
		metric.WithDescription("Bytes of each insert into ClickHouse (its columns in the native format, uncompressed)."),
		metric.WithUnit("By"),
		metric.WithExplicitBucketBoundaries(1024, 16384, 131072, 1048576, 4194304, 16777216, 67108864, 268435456))
	if err != nil {
		return nil, err
	}
	insertDuration, err := meter.Float64Histogram("otelcol_events_exporter_insert_duration",
		metric.WithDescription("Time each insert into ClickHouse took (merge lookup included), successful inserts only."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
	if err != nil {
		return nil, err
	}
	storedDelay, err := meter.Float64Histogram("otelcol_events_exporter_stored_delay",
		metric.WithDescription("Per operation, from its acceptance by the events receiver (its version) to the return of the insert that stored it: the receiver-to-stored freshness of the pipeline."),
		metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600))
	if err != nil {
		return nil, err
	}
	unpriced, err := meter.Int64Counter("otelcol_events_exporter_unpriced_events",
		metric.WithDescription("LLM calls stored without a cost: their model matches no entry of the price table (prices)."),
		metric.WithUnit("{event}"))
	if err != nil {
		return nil, err
	}
	return &eventsExporter{
		cfg:            cfg,
		logger:         set.Logger,
		limits:         event.DefaultLimits(),
		operations:     operations,
		dropped:        dropped,
		deadLettered:   deadLettered,
		insertRows:     insertRows,
		insertBytes:    insertBytes,
		insertDuration: insertDuration,
		storedDelay:    storedDelay,
		now:            time.Now,
		unpriced:       unpriced,
		prices:         event.NewPriceTable(cfg.Prices),
	}, nil
}

// start connects and migrates the schema. A ClickHouse that is down at start
// is not fatal: the queue keeps the data and every push tries again.
func (e *eventsExporter) start(ctx context.Context, host component.Host) error {
	e.status.host = host
	if _, err := e.getStore(ctx); err != nil {
		e.logger.Warn("ClickHouse is not reachable yet; data stays queued and is retried", zap.Error(err))
	}
	return nil
}

func (e *eventsExporter) getStore(ctx context.Context) (*storage.Store, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store != nil {
		return e.store, nil
	}
	store, err := storage.Open(ctx, e.cfg.Config)
	if err != nil {
		return nil, err
	}
	store.SetPrices(e.prices)
	e.logger.Info("ClickHouse schema ready",
		zap.String("endpoint", e.cfg.Endpoint), zap.String("database", e.cfg.Database),
		zap.String("version", store.ServerVersion()))
	e.store = store
	return store, nil
}

func (e *eventsExporter) shutdown(context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.store == nil {
		return nil
	}
	err := e.store.Close()
	e.store = nil
	return err
}

// pushLogs merges and writes the operations of one request of the sending
// queue: its batcher (sending_queue::batch) is what makes inserts large, in
// every topology.
func (e *eventsExporter) pushLogs(ctx context.Context, ld plog.Logs) error {
	err := e.push(ctx, ld)
	e.status.report(err)
	return err
}

func (e *eventsExporter) push(ctx context.Context, ld plog.Logs) error {
	ops, letters := e.decode(ld)
	if len(ops) == 0 && len(letters) == 0 {
		return nil
	}
	store, err := e.getStore(ctx)
	if err != nil {
		return fmt.Errorf("connect to ClickHouse: %w", err)
	}
	if len(ops) > 0 {
		if err := e.apply(ctx, store, ops); err != nil {
			return err
		}
	}
	if len(letters) > 0 {
		// After the operations: a failure here retries the whole request,
		// and applying its operations again changes nothing.
		if err := store.StoreDeadLetters(ctx, letters, time.Now()); err != nil {
			return err
		}
		e.dropped.Add(ctx, int64(len(letters)))
		e.deadLettered.Add(ctx, int64(len(letters)))
	}
	return nil
}

// apply merges and writes ops, isolating what the engine refuses on its own.
func (e *eventsExporter) apply(ctx context.Context, store *storage.Store, ops []event.Operation) error {
	res, err := e.insert(ctx, store, ops)
	if err != nil {
		if !storage.Rejected(err) {
			// The engine is unavailable: the whole request is retried.
			return err
		}
		if res, err = e.isolate(ctx, store, ops, err); err != nil {
			return err
		}
	}
	if res.Repaired > 0 {
		// An earlier insert of these operations was cut between its parts
		// (storage/repair.go); rare enough to say each time.
		e.logger.Warn("Repaired the analytics rows of events whose earlier insert was cut",
			zap.Int("events", res.Repaired))
	}
	e.operations.Add(ctx, int64(len(ops)-res.Unchanged), outcomeChanged)
	e.operations.Add(ctx, int64(res.Unchanged), outcomeUnchanged)
	if res.Unpriced > 0 {
		e.unpriced.Add(ctx, int64(res.Unpriced))
	}
	// Every operation is stored now (or in the dead letters): how long after
	// the receiver accepted it.
	stored := e.now()
	for i := range ops {
		e.storedDelay.Record(ctx, max(0, stored.Sub(time.Unix(0, int64(ops[i].Version)))).Seconds())
	}
	return nil
}

// insert applies ops in one insert and records its size and duration.
func (e *eventsExporter) insert(ctx context.Context, store *storage.Store, ops []event.Operation) (storage.ApplyResult, error) {
	start := e.now()
	res, err := store.Apply(ctx, ops)
	if err != nil || res.Rows == 0 {
		return res, err
	}
	e.insertDuration.Record(ctx, e.now().Sub(start).Seconds())
	e.insertRows.Record(ctx, int64(res.Rows))
	e.insertBytes.Record(ctx, int64(res.Bytes))
	return res, nil
}

// isolate stores the operations of a batch that the engine refused, except
// those it refuses on their own: the batch is split in halves until each
// failing part is one operation, which goes to the dead letters with the
// engine's error. Nothing else is lost: every other operation is applied,
// and any part that fails because the engine became unavailable fails the
// whole call, to be retried (operations applied already change nothing
// then). A batch with k such operations among n costs about 2k log2(n)
// inserts.
func (e *eventsExporter) isolate(ctx context.Context, store *storage.Store, ops []event.Operation, cause error) (storage.ApplyResult, error) {
	if len(ops) == 1 {
		if err := store.StoreDeadLetters(ctx, []storage.DeadLetter{storage.OperationDeadLetter(&ops[0], cause)}, time.Now()); err != nil {
			return storage.ApplyResult{}, err
		}
		e.deadLettered.Add(ctx, 1)
		e.logger.Warn("ClickHouse refused an operation on its own; it is in the dead letters (GET /dead-letters)",
			zap.String("id", ops[0].ID), zap.Uint64("version", ops[0].Version), zap.Error(cause))
		return storage.ApplyResult{Unchanged: 1}, nil
	}
	var total storage.ApplyResult
	half := len(ops) / 2
	for _, part := range [][]event.Operation{ops[:half], ops[half:]} {
		res, err := e.insert(ctx, store, part)
		if err != nil {
			if !storage.Rejected(err) {
				return storage.ApplyResult{}, err
			}
			if res, err = e.isolate(ctx, store, part, err); err != nil {
				return storage.ApplyResult{}, err
			}
		}
		total.Changed += res.Changed
		total.Unchanged += res.Unchanged
		total.Repaired += res.Repaired
		total.Unpriced += res.Unpriced
	}
	return total, nil
}

// decode turns canonical records into operations. A record that is not a
// valid canonical event can never be written: it becomes a dead letter
// (the record as OTLP JSON, with the reason), rather than being retried
// forever or dropped in silence.
func (e *eventsExporter) decode(ld plog.Logs) ([]event.Operation, []storage.DeadLetter) {
	ops := make([]event.Operation, 0, ld.LogRecordCount())
	var (
		letters  []storage.DeadLetter
		firstErr error
	)
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				op, err := event.UnmarshalLogRecord(lrs.At(k))
				if err == nil {
					if verr := e.limits.Validate(&op); verr != nil {
						err = verr
					}
				}
				if err != nil {
					letters = append(letters, recordDeadLetter(lrs.At(k), op, err))
					firstErr = cmpFirst(firstErr, err)
					continue
				}
				ops = append(ops, op)
			}
		}
	}
	if len(letters) > 0 {
		e.logger.Warn("log records that are not valid canonical events go to the dead letters (GET /dead-letters)",
			zap.Int("records", len(letters)), zap.Error(firstErr))
	}
	return ops, letters
}

// recordDeadLetter is the dead letter of a record that is not a valid
// canonical event: the record as OTLP JSON, and the id and version it
// carries, if any.
func recordDeadLetter(lr plog.LogRecord, op event.Operation, cause error) storage.DeadLetter {
	ld := plog.NewLogs()
	lr.CopyTo(ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty())
	body, err := (&plog.JSONMarshaler{}).MarshalLogs(ld)
	if err != nil {
		body, _ = json.Marshal(err.Error())
	}
	return storage.DeadLetter{ID: op.ID, Version: op.Version, Payload: body, Error: cause.Error()}
}

func cmpFirst(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
