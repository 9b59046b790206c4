package spaneventsconnector

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/metadatatest"
)

func TestResentSpanIsTheSameEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	td := newTraces(nil, then(span("chat", map[string]any{"gen_ai.conversation.id": "c"}),
		withStatus(ptrace.StatusCodeError, "boom")))
	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))

	batches := h.sink.AllLogs()
	require.Len(t, batches, 2)
	first, second := decode(t, batches[0]), decode(t, batches[1])
	require.Len(t, first, 1)
	require.Len(t, second, 1)
	assert.Equal(t, testSpanHex, first[0].ID)
	assert.Equal(t, first[0].ID, second[0].ID, "the event id is the span id")
	assert.Equal(t, first[0].Event, second[0].Event)
	assert.Greater(t, second[0].Version, first[0].Version)

	// Applied in any order, the two operations end in the same state.
	var a, b event.State
	a.Apply(&first[0])
	a.Apply(&second[0])
	b.Apply(&second[0])
	b.Apply(&first[0])
	assert.Equal(t, a.Event, b.Event)
	assert.True(t, a.Visible())
}

func TestOneBatchPerCall(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	td := newTraces(map[string]any{"session.id": "s1", "service.name": "a"},
		span("one", nil),
		then(span("two", nil), func(s ptrace.Span) { s.SetSpanID(pcommon.SpanID{2}) }),
	)
	newTraces(map[string]any{"service.name": "b"},
		then(span("three", map[string]any{"gen_ai.conversation.id": "c2"}), func(s ptrace.Span) { s.SetSpanID(pcommon.SpanID{3}) }),
		then(span("health check", nil), func(s ptrace.Span) { s.SetSpanID(pcommon.SpanID{4}) }),
	).ResourceSpans().MoveAndAppendTo(td.ResourceSpans())

	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
	batches := h.sink.AllLogs()
	require.Len(t, batches, 1)
	// Grouped by the bucket of the event id (the kafka exporter's
	// partition key).
	ops := decode(t, batches[0])
	require.Len(t, ops, 3)
	for i := range batches[0].ResourceLogs().Len() {
		rl := batches[0].ResourceLogs().At(i)
		assert.Equal(t, event.ScopeName, rl.ScopeLogs().At(0).Scope().Name())
		key, ok := rl.Resource().Attributes().Get(event.ResourceAttrPartition)
		require.True(t, ok)
		lrs := rl.ScopeLogs().At(0).LogRecords()
		for j := range lrs.Len() {
			id, _ := lrs.At(j).Attributes().Get(event.AttrID)
			assert.Equal(t, event.PartitionKey(id.Str(), event.DefaultPartitionBuckets), key.Str())
		}
	}
	got := map[string]string{}
	for i, op := range ops {
		got[op.Name] = op.ConversationID + "/" + op.ID
		if i > 0 {
			assert.Greater(t, op.Version, ops[i-1].Version)
		}
	}
	assert.Equal(t, map[string]string{
		"one":   "s1/" + testSpanHex,
		"two":   "s1/0200000000000000",
		"three": "c2/0300000000000000",
	}, got)
	assert.Equal(t, map[string]int64{"converted": 3, "dropped": 1}, h.sums(t, "otelcol_events_spanevents_spans", "outcome"))
	assert.Equal(t, map[string]int64{"missing_field:conversation_id": 1}, h.sums(t, "otelcol_events_spanevents_dropped_spans", "reason"))
}

func TestNextConsumerErrorIsReturned(t *testing.T) {
	t.Parallel()
	errDown := errors.New("queue full")
	h := newHarnessWithNext(t, nil, consumertest.NewErr(errDown))
	err := h.c.ConsumeTraces(context.Background(), newTraces(nil, span("n", map[string]any{"session.id": "s"})))
	require.ErrorIs(t, err, errDown, "the sender retries; the span id keeps the retry idempotent")
}

func TestShutdownWritesPendingWarnings(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	bad := span("", map[string]any{"session.id": "s"})
	require.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(nil, bad)))
	require.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(nil, bad, bad)))
	assert.Equal(t, 1, h.logs.FilterLevelExact(zapcore.WarnLevel).Len(), "the second batch waits for the interval")
	require.NoError(t, h.c.Shutdown(context.Background()))
	warnings := h.logs.FilterLevelExact(zapcore.WarnLevel).All()
	require.Len(t, warnings, 2)
	assert.Equal(t, int64(2), warnings[1].ContextMap()["dropped"])
}

func TestFactory(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	assert.Equal(t, "spanevents", f.Type().String())
	assert.Equal(t, &Config{
		Attributes: defaultAttributes(), ConversationID: event.DefaultConversationConfig(),
		Limits: event.DefaultLimits(), PartitionBuckets: event.DefaultPartitionBuckets,
		MaxResourceBytes: event.DefaultMaxResourceBytes,
	}, f.CreateDefaultConfig())
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	sink := new(consumertest.LogsSink)
	c, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), sink)
	require.NoError(t, err)
	assert.False(t, c.Capabilities().MutatesData)
	require.NoError(t, c.Start(context.Background(), componenttest.NewNopHost()))
	require.NoError(t, c.ConsumeTraces(context.Background(), newTraces(nil,
		span("chat", map[string]any{"gen_ai.conversation.id": "c"}),
	)))
	require.NoError(t, c.Shutdown(context.Background()))
	require.Len(t, sink.AllLogs(), 1)
	ops := decode(t, sink.AllLogs()[0])
	require.Len(t, ops, 1)
	assert.Equal(t, "chat", ops[0].Name)
}

func TestShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	f := NewFactory()
	c, err := f.CreateTracesToLogs(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
	require.NoError(t, err)
	require.NoError(t, c.Shutdown(context.Background()))
}

func TestConcurrentBatches(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	const workers, perWorker = 8, 50
	done := make(chan struct{})
	for range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for range perWorker {
				assert.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(nil,
					span("chat", map[string]any{"session.id": "s"}),
					span("", map[string]any{"session.id": "s"}),
				)))
			}
		}()
	}
	for range workers {
		<-done
	}
	versions := map[uint64]bool{}
	for _, ld := range h.sink.AllLogs() {
		for _, op := range decode(t, ld) {
			assert.False(t, versions[op.Version], "versions are unique across concurrent batches")
			versions[op.Version] = true
		}
	}
	assert.Len(t, versions, workers*perWorker)
	assert.Equal(t, map[string]int64{"converted": workers * perWorker, "dropped": workers * perWorker},
		h.sums(t, "otelcol_events_spanevents_spans", "outcome"))
}

// TestOmittedAttributesAreCounted: what the limits leave out of an event is
// counted by reason; the configured attributes and the trace context are kept
// first.
func TestOmittedAttributesAreCounted(t *testing.T) {
	t.Parallel()
	cfg := createDefaultConfig().(*Config)
	cfg.Attributes = []string{"z.kept"}
	cfg.Limits.MaxAttributes = 5
	cfg.Limits.MaxAttributeBytes = 32
	h := newHarness(t, cfg)
	attrs := map[string]any{"session.id": "s", "z.kept": "yes", "too.long": strings.Repeat("x", 33)}
	for i := range 6 {
		attrs[fmt.Sprintf("a%d", i)] = int64(i)
	}
	require.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(map[string]any{"service.name": "app"}, span("n", attrs))))
	ops := decode(t, h.sink.AllLogs()[0])
	require.Len(t, ops, 1)
	assert.Equal(t, []event.Attribute{
		{Key: "a0", Value: "0"}, {Key: "a1", Value: "1"},
		{Key: "span_id", Value: testSpanHex}, {Key: "trace_id", Value: testTraceHex}, {Key: "z.kept", Value: "yes"},
	}, ops[0].Attributes)
	// a2..a5 and service.name beyond max_attributes, too.long beyond the size.
	assert.Equal(t, map[string]int64{"max_attributes": 5, "size": 1}, h.sums(t, "otelcol_events_spanevents_omitted_attributes", "reason"))
}

// TestTelemetryMatchesMetadata: the connector's instruments are the ones
// metadata.yaml declares, with its descriptions and units.
func TestTelemetryMatchesMetadata(t *testing.T) {
	t.Parallel()
	cfg := createDefaultConfig().(*Config)
	cfg.Limits.MaxAttributeBytes = 32
	h := newHarness(t, cfg)
	td := newTraces(map[string]any{"service.name": "app"},
		span("kept", map[string]any{"session.id": "s", "too.long": strings.Repeat("x", 33)}),
		span("no conversation", map[string]any{}))
	require.NoError(t, h.c.ConsumeTraces(context.Background(), td))
	metadatatest.CheckTelemetry(t, "metadata.yaml", h.tel, "")
}
