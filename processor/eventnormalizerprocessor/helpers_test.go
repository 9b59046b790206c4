package eventnormalizerprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

var (
	testNow   = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	testTS    = time.Date(2026, 11, 24, 9, 59, 58, 123_000_000, time.UTC)
	testTrace = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	testSpan  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

const (
	testTraceHex = "5b8efff798038103d269b633813fc60c"
	testSpanHex  = "eee19b7ec3c1b174"
)

type harness struct {
	n    *normalizer
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

func newHarness(t *testing.T, limits event.Limits) *harness {
	t.Helper()
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := tel.NewTelemetrySettings()
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	n, err := newNormalizer(&Config{Limits: limits, ConversationID: event.DefaultConversationConfig()}, set)
	require.NoError(t, err)
	n.now = func() time.Time { return testNow }
	return &harness{n: n, tel: tel, logs: logs}
}

// sums returns the data points of an int64 sum by the value of one
// attribute ("" for a metric without attributes); nothing when the metric
// was never recorded.
func (h *harness) sums(t *testing.T, name, key string) map[string]int64 {
	t.Helper()
	m, err := h.tel.GetMetric(name)
	if err != nil {
		return map[string]int64{}
	}
	sum, ok := m.Data.(metricdata.Sum[int64])
	require.True(t, ok, "metric %s is not an int64 sum", name)
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		v, _ := dp.Attributes.Value(attribute.Key(key))
		out[v.AsString()] += dp.Value
	}
	return out
}

// newLogs builds one resource with the given attributes holding the given
// records.
func newLogs(resource map[string]any, records ...func(plog.LogRecord)) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	if resource != nil {
		_ = rl.Resource().Attributes().FromRaw(resource)
	}
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	for _, build := range records {
		build(lrs.AppendEmpty())
	}
	return ld
}

// withAttrs is a record at testTS with the given attributes.
func withAttrs(attrs map[string]any) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(testTS))
		_ = lr.Attributes().FromRaw(attrs)
	}
}

// withTrace gives a record the trace context of a span it was logged in.
func withTrace(trace pcommon.TraceID, span pcommon.SpanID) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		lr.SetTraceID(trace)
		lr.SetSpanID(span)
	}
}

// canonical is a record encoding op the way the receiver does.
func canonical(op event.Operation) func(plog.LogRecord) {
	return func(lr plog.LogRecord) { op.MarshalLogRecord(lr, testNow) }
}

func validCreate(id string) event.Operation {
	return event.Operation{
		Op: event.OpCreate, ID: id, Version: 42, Set: event.AllFields,
		Event: event.Event{ConversationID: "c", Name: "n", Timestamp: testTS},
	}
}

// decode reads every output record back as the exporter would: each must be
// a canonical event within the default limits.
func decode(t *testing.T, ld plog.Logs) []event.Operation {
	t.Helper()
	var ops []event.Operation
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		sls := rls.At(i).ScopeLogs()
		for j := range sls.Len() {
			lrs := sls.At(j).LogRecords()
			for k := range lrs.Len() {
				op, err := event.UnmarshalLogRecord(lrs.At(k))
				require.NoError(t, err)
				require.Nil(t, event.DefaultLimits().Validate(&op))
				ops = append(ops, op)
			}
		}
	}
	return ops
}
