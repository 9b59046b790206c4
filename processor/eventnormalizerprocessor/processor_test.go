package eventnormalizerprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-events/otelcol-events/internal/droplog"
	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/metadatatest"
)

func TestCanonicalBatchPassesUnchanged(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	create := validCreate("a")
	update := event.Operation{
		Op: event.OpUpdate, ID: "a", Version: 43,
		Set:   event.Fields(0).With(event.FieldError),
		Event: event.Event{Error: "timeout"},
	}
	del := event.Operation{Op: event.OpDelete, ID: "a", Version: 44}
	// A canonical record logged in a span (the spanevents connector's)
	// gets no trace_id/span_id attributes from the normalizer.
	createInSpan := func(lr plog.LogRecord) { canonical(create)(lr); withTrace(testTrace, testSpan)(lr) }
	in := newLogs(map[string]any{"service.name": "events-receiver"}, createInSpan, canonical(update), canonical(del))
	want := plog.NewLogRecordSlice()
	in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().CopyTo(want)
	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	// The records go on unchanged, in the resource of their id's bucket (the
	// kafka exporter's partition key): one id, one resource.
	require.Equal(t, 1, out.ResourceLogs().Len())
	key, ok := out.ResourceLogs().At(0).Resource().Attributes().Get(event.ResourceAttrPartition)
	require.True(t, ok)
	assert.Equal(t, event.PartitionKey("a", event.DefaultPartitionBuckets), key.Str())
	require.Equal(t, want, out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords())
	ops := decode(t, out)
	require.Len(t, ops, 3)
	assert.Equal(t, []uint64{42, 43, 44}, []uint64{ops[0].Version, ops[1].Version, ops[2].Version}, "versions are kept")
	assert.Equal(t, map[string]int64{"passed": 3}, h.sums(t, "otelcol_events_normalizer_records", "outcome"))
}

func TestMixedBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	in := newLogs(map[string]any{"service.name": "a"},
		canonical(validCreate("canonical")),
		withAttrs(map[string]any{"event_name": "no conversation"}),
	)
	newLogs(map[string]any{"session.id": "s"},
		withAttrs(map[string]any{"event_name": "one"}),
		withAttrs(map[string]any{"event_name": "two", "id": "two"}),
	).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())

	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	require.LessOrEqual(t, out.ResourceLogs().Len(), 3, "one resource per bucket of event ids")
	ops := decode(t, out)
	require.Len(t, ops, 3, "the invalid record is dropped, the others keep their order")

	assert.Equal(t, "canonical", ops[0].ID)
	assert.Equal(t, uint64(42), ops[0].Version, "a canonical record is not restamped")
	assert.Equal(t, "one", ops[1].Name)
	assert.Equal(t, "s", ops[1].ConversationID)
	assert.Equal(t, "two", ops[2].ID)
	assert.Greater(t, ops[2].Version, ops[1].Version, "one clock stamps strictly increasing versions")

	assert.Equal(t, map[string]int64{"passed": 1, "converted": 2, "dropped": 1},
		h.sums(t, "otelcol_events_normalizer_records", "outcome"))
	assert.Equal(t, map[string]int64{"missing_field:conversation_id": 1},
		h.sums(t, "otelcol_events_normalizer_dropped_records", "reason"))
}

func TestEmptyBatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	in := plog.NewLogs()
	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	assert.Equal(t, 0, out.LogRecordCount())
}

func TestDropWarningsAreRateLimited(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	bad := withAttrs(map[string]any{"event_name": "n"})
	worse := withAttrs(map[string]any{"conversation_id": "c", "latency": "slow"})
	now := testNow
	h.n.now = func() time.Time { return now }
	consume := func(records ...func(plog.LogRecord)) {
		t.Helper()
		_, err := h.n.processLogs(context.Background(), newLogs(nil, records...))
		require.Error(t, err)
	}
	warnings := func() []map[string]any {
		var out []map[string]any
		for _, e := range h.logs.FilterLevelExact(zapcore.WarnLevel).All() {
			out = append(out, e.ContextMap())
		}
		return out
	}

	consume(bad, worse)
	require.Len(t, warnings(), 1, "the first drops are reported at once")
	assert.Equal(t, int64(2), warnings()[0]["dropped"])
	assert.Equal(t, map[string]int{"missing_field:conversation_id": 1, "invalid_field:latency": 1},
		warnings()[0]["reasons"])

	consume(bad)
	assert.Len(t, warnings(), 1, "drops within the interval wait")

	now = now.Add(droplog.Interval)
	consume(worse)
	require.Len(t, warnings(), 2)
	assert.Equal(t, int64(2), warnings()[1]["dropped"], "the line sums the batches since the last one")

	consume(bad)
	require.NoError(t, h.n.shutdown(context.Background()))
	require.Len(t, warnings(), 3, "shutdown writes what is pending")
	assert.Equal(t, int64(1), warnings()[2]["dropped"])

	assert.Len(t, h.logs.FilterMessage("dropped log record").FilterLevelExact(zapcore.DebugLevel).All(), 5,
		"every dropped record is logged at debug level")
	assert.Equal(t, map[string]int64{"missing_field:conversation_id": 3, "invalid_field:latency": 2},
		h.sums(t, "otelcol_events_normalizer_dropped_records", "reason"))
}

func TestConcurrentBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	const workers, perWorker = 8, 50
	results := make(chan plog.Logs, workers*perWorker)
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range perWorker {
				out, err := h.n.processLogs(context.Background(), newLogs(nil,
					withAttrs(map[string]any{"session.id": "s", "event_name": "n"}),
					withAttrs(map[string]any{"event_name": "n"}),
				))
				if assert.NoError(t, err) {
					results <- out
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	close(results)
	versions := map[uint64]bool{}
	ids := map[string]bool{}
	for out := range results {
		for _, op := range decode(t, out) {
			versions[op.Version] = true
			ids[op.ID] = true
		}
	}
	assert.Len(t, versions, workers*perWorker, "versions are unique across concurrent batches")
	assert.Len(t, ids, workers*perWorker, "generated ids are unique")
	assert.Equal(t, map[string]int64{"converted": workers * perWorker, "dropped": workers * perWorker},
		h.sums(t, "otelcol_events_normalizer_records", "outcome"))
}

// TestTelemetryMatchesMetadata: the processor's instruments are the ones
// metadata.yaml declares, with its descriptions and units.
func TestTelemetryMatchesMetadata(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	in := newLogs(map[string]any{"session.id": "s"},
		canonical(validCreate("canonical")),
		withAttrs(map[string]any{"event_name": "one", "": "an empty key is left out"}),
	)
	newLogs(nil, withAttrs(map[string]any{"event_name": "no conversation"})).ResourceLogs().MoveAndAppendTo(in.ResourceLogs())
	_, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	md := pmetric.NewMetrics()
	md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty().SetEmptyGauge().DataPoints().AppendEmpty()
	_, err = h.n.processMetrics(context.Background(), md)
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
	metadatatest.CheckTelemetry(t, "metadata.yaml", h.tel, "")
}
