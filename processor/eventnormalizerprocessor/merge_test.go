package eventnormalizerprocessor

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// genAIRecord is a record of the OpenAI instrumentation: an event name, a
// body, its attributes, logged in the span of the call.
func genAIRecord(name string, span pcommon.SpanID, body map[string]any, attributes map[string]any) func(plog.LogRecord) {
	return func(lr plog.LogRecord) {
		withAttrs(attributes)(lr)
		withTrace(testTrace, span)(lr)
		lr.SetFlags(plog.DefaultLogRecordFlags.WithIsSampled(true))
		lr.SetEventName(name)
		if body != nil {
			_ = lr.Body().SetEmptyMap().FromRaw(body)
		}
	}
}

// TestGenAIRecordsMergeIntoTheSpanEvent: the records of one LLM call, in
// either mode of the instrumentation, become one update of the event of
// the call's span (the spanevents connector's, whose id is the span id),
// carrying the prompt and the completion; nothing becomes an event of its
// own.
func TestGenAIRecordsMergeIntoTheSpanEvent(t *testing.T) {
	t.Parallel()
	other := pcommon.SpanID{9, 9, 9, 9, 9, 9, 9, 9}
	quiet := pcommon.SpanID{7, 7, 7, 7, 7, 7, 7, 7}
	system := map[string]any{"gen_ai.system": "openai"}
	h := newHarness(t, event.DefaultLimits())
	in := newLogs(map[string]any{"service.name": "app"},
		// Default mode: one record per message, the choice last.
		genAIRecord("gen_ai.system.message", testSpan, map[string]any{"content": "be brief"}, system),
		genAIRecord("gen_ai.user.message", testSpan, map[string]any{"content": "Say hi"}, system),
		genAIRecord("gen_ai.choice", testSpan, map[string]any{
			"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Hi!"},
		}, system),
		// Latest conventions: one operation details record.
		genAIRecord("gen_ai.client.inference.operation.details", other, nil, map[string]any{
			"gen_ai.operation.name":     "chat",
			"gen_ai.input.messages":     []any{map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "Q"}}}},
			"gen_ai.output.messages":    []any{map[string]any{"role": "assistant", "parts": []any{map[string]any{"type": "text", "content": "A"}}}},
			"gen_ai.usage.input_tokens": int64(3),
			"error.type":                "<class 'openai.InternalServerError'>",
		}),
		// Content capture off: the records hold nothing the span lacks.
		genAIRecord("gen_ai.choice", quiet, map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant"}}, system),
	)
	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	ops := decode(t, out)
	require.Len(t, ops, 2)
	byID := map[string]event.Operation{}
	for _, op := range ops {
		byID[op.ID] = op
	}
	call := byID[testSpanHex]
	assert.Equal(t, event.OpUpdate, call.Op)
	assert.Equal(t, event.Fields(0).With(event.FieldInput).With(event.FieldOutput), call.Set)
	assert.Equal(t, "system: be brief\nuser: Say hi", call.Input)
	assert.Equal(t, "Hi!", call.Output)

	details := byID[other.String()]
	assert.Equal(t, event.Fields(0).With(event.FieldInput).With(event.FieldOutput), details.Set,
		"latency, tokens and error are the span's: the record sets only the messages")
	assert.Equal(t, "Q", details.Input)
	assert.Equal(t, "A", details.Output)

	assert.Equal(t, map[string]int64{"merged": 5}, h.sums(t, "otelcol_events_normalizer_records", "outcome"))
	// gen_ai.system x4, and the details record's operation name, tokens and error.type.
	assert.Equal(t, map[string]int64{"merged": 7}, h.sums(t, "otelcol_events_normalizer_omitted_attributes", "reason"))

	// Applied with the span's create in either order, one event: the
	// span's fields and the records' messages.
	create := event.Operation{Op: event.OpCreate, ID: testSpanHex, Version: 1, Set: event.AllFields, Event: event.Event{
		ConversationID: testTraceHex, Name: "chat", Timestamp: testTS, LatencyMs: 800,
		Generation: event.Generation{Model: "gpt-4o-mini", InputTokens: 11, OutputTokens: 3},
	}}
	var a, b event.State
	a.Apply(&create)
	a.Apply(&call)
	b.Apply(&call)
	b.Apply(&create)
	assert.Equal(t, a.Event, b.Event)
	assert.True(t, b.Visible())
	assert.Equal(t, "chat", b.Name)
	assert.Equal(t, "Hi!", b.Output)
	assert.Equal(t, uint64(11), b.InputTokens)
	assert.InDelta(t, 800, b.LatencyMs, 0)
}

// TestGenAIRecordWithoutSpanIsAnEvent: a GenAI record logged outside a span
// (no tracer configured) has nothing to merge into: it is an event of its
// own, named by its operation, in the conversation of its trace if any.
func TestGenAIRecordWithoutSpanIsAnEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	in := newLogs(nil, func(lr plog.LogRecord) {
		withAttrs(map[string]any{"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.output_tokens": int64(4)})(lr)
		lr.SetTraceID(testTrace)
		lr.SetEventName("gen_ai.client.inference.operation.details")
	})
	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	ops := decode(t, out)
	require.Len(t, ops, 1)
	assert.Equal(t, event.OpCreate, ops[0].Op)
	assert.Equal(t, testTraceHex, ops[0].ConversationID, "the trace id is the conversation")
	assert.Equal(t, "chat", ops[0].Name)
	assert.Equal(t, event.Generation{Model: "m", Operation: "chat", OutputTokens: 4, TraceID: testTraceHex}, ops[0].Generation)
}

// TestGenAIRecordOfAnUnsampledSpanIsAnEvent: the span of an unsampled call
// is never exported, so its records do not wait for it: each is an event
// of its own (the operation details carry the call's fields).
func TestGenAIRecordOfAnUnsampledSpanIsAnEvent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	in := newLogs(nil, func(lr plog.LogRecord) {
		genAIRecord("gen_ai.client.inference.operation.details", testSpan, nil, map[string]any{
			"gen_ai.operation.name": "chat", "gen_ai.request.model": "m", "gen_ai.usage.input_tokens": int64(3),
		})(lr)
		lr.SetFlags(plog.DefaultLogRecordFlags)
	})
	out, err := h.n.processLogs(context.Background(), in)
	require.NoError(t, err)
	ops := decode(t, out)
	require.Len(t, ops, 1)
	assert.Equal(t, event.OpCreate, ops[0].Op)
	assert.Equal(t, "chat", ops[0].Name)
	assert.Equal(t, testTraceHex, ops[0].ConversationID)
	assert.Equal(t, event.Generation{Model: "m", Operation: "chat", InputTokens: 3, TraceID: testTraceHex, SpanID: testSpanHex}, ops[0].Generation)
}

func TestMetricsAreCountedAndDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, event.DefaultLimits())
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("gen_ai.client.token.usage")
	m.SetEmptyHistogram().DataPoints().AppendEmpty()
	m.Histogram().DataPoints().AppendEmpty()
	_, err := h.n.processMetrics(context.Background(), md)
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData, "the sender is answered with success")
	assert.Equal(t, map[string]int64{"": 2}, h.sums(t, "otelcol_events_normalizer_dropped_data_points", ""))
}

// TestGenAIRecordsOfACallBeyondTheLimitsAreDropped: a call whose messages
// exceed the limits drops all its records, each counted.
func TestGenAIRecordsOfACallBeyondTheLimitsAreDropped(t *testing.T) {
	t.Parallel()
	limits := event.DefaultLimits()
	limits.MaxTextFieldBytes = 8
	h := newHarness(t, limits)
	in := newLogs(nil,
		genAIRecord("gen_ai.user.message", testSpan, map[string]any{"content": "a prompt longer than eight bytes"}, nil),
		genAIRecord("gen_ai.choice", testSpan, map[string]any{"message": map[string]any{"role": "assistant", "content": "ok"}}, nil),
	)
	_, err := h.n.processLogs(context.Background(), in)
	require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
	assert.Equal(t, map[string]int64{"invalid_field:input": 2}, h.sums(t, "otelcol_events_normalizer_dropped_records", "reason"))
	assert.Equal(t, map[string]int64{"dropped": 2}, h.sums(t, "otelcol_events_normalizer_records", "outcome"))
}
