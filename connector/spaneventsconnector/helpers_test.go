package spaneventsconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

var (
	testNow   = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	testStart = time.Date(2026, 11, 24, 9, 59, 58, 123_000_000, time.UTC)
	testTrace = pcommon.TraceID{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c}
	testSpan  = pcommon.SpanID{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74}
)

const (
	testTraceHex = "5b8efff798038103d269b633813fc60c"
	testSpanHex  = "eee19b7ec3c1b174"
)

type harness struct {
	c    *spanEvents
	sink *consumertest.LogsSink
	tel  *componenttest.Telemetry
	logs *observer.ObservedLogs
}

func newHarness(t *testing.T, cfg *Config) *harness {
	t.Helper()
	return newHarnessWithNext(t, cfg, nil)
}

func newHarnessWithNext(t *testing.T, cfg *Config, next consumer.Logs) *harness {
	t.Helper()
	if cfg == nil {
		cfg = createDefaultConfig().(*Config)
	}
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	set := tel.NewTelemetrySettings()
	core, logs := observer.New(zap.DebugLevel)
	set.Logger = zap.New(core)
	sink := new(consumertest.LogsSink)
	if next == nil {
		next = sink
	}
	c, err := newSpanEvents(cfg, set, next)
	require.NoError(t, err)
	c.now = func() time.Time { return testNow }
	return &harness{c: c, sink: sink, tel: tel, logs: logs}
}

// sums returns the data points of an int64 sum by the value of one
// attribute; nothing when the metric was never recorded.
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

// newTraces builds one resource with the given attributes holding the given
// spans.
func newTraces(resource map[string]any, spans ...func(ptrace.Span)) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	if resource != nil {
		_ = rs.Resource().Attributes().FromRaw(resource)
	}
	ss := rs.ScopeSpans().AppendEmpty().Spans()
	for _, build := range spans {
		build(ss.AppendEmpty())
	}
	return td
}

// span is a span of testTrace/testSpan named name, starting at testStart
// and lasting 1.5 ms, with the given attributes.
func span(name string, attrs map[string]any) func(ptrace.Span) {
	return func(s ptrace.Span) {
		s.SetName(name)
		s.SetTraceID(testTrace)
		s.SetSpanID(testSpan)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(testStart))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(testStart.Add(1500 * time.Microsecond)))
		_ = s.Attributes().FromRaw(attrs)
	}
}

// then applies more changes to a span built by span.
func then(build func(ptrace.Span), more ...func(ptrace.Span)) func(ptrace.Span) {
	return func(s ptrace.Span) {
		build(s)
		for _, m := range more {
			m(s)
		}
	}
}

func withEvent(name string, attrs map[string]any) func(ptrace.Span) {
	return func(s ptrace.Span) {
		e := s.Events().AppendEmpty()
		e.SetName(name)
		_ = e.Attributes().FromRaw(attrs)
	}
}

func withStatus(code ptrace.StatusCode, msg string) func(ptrace.Span) {
	return func(s ptrace.Span) {
		s.Status().SetCode(code)
		s.Status().SetMessage(msg)
	}
}

// decode reads every record back as the exporter would: each must be a
// canonical event within the default limits.
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
