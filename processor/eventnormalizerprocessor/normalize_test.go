package eventnormalizerprocessor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func attrs(kv ...string) []event.Attribute {
	out := []event.Attribute{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, event.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	return out
}

func TestConvert(t *testing.T) {
	t.Parallel()
	observed := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		limits   func(*event.Limits)
		resource map[string]any
		record   func(plog.LogRecord)
		wantID   string
		want     event.Event
		// wantOmitted counts the attributes left out for the limits.
		wantOmitted int64
	}{
		{
			name: "event API names",
			record: withAttrs(map[string]any{
				"id": "my-id", "conversation_id": "conv_001", "event_name": "event_a",
				"input": "Hello", "output": "Hi there", "latency": 150.5, "error": "",
				"model": "gpt-x", "tokens": 12,
			}),
			wantID: "my-id",
			want: event.Event{
				ConversationID: "conv_001", Name: "event_a", Input: "Hello", Output: "Hi there", LatencyMs: 150.5,
				// error "" is no error, not an attribute; an attribute of
				// any type is kept, as a string.
				Attributes: attrs("model", "gpt-x", "tokens", "12"),
			},
		},
		{
			name: "GenAI conventions",
			record: withAttrs(map[string]any{
				"event.id":               "e2",
				"gen_ai.conversation.id": "conv_2",
				"gen_ai.operation.name":  "chat",
				"gen_ai.input.messages":  `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
				"gen_ai.output.messages": `[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]`,
				"latency_ms":             int64(42),
				"error.type":             "timeout",
				"gen_ai.request.model":   "m1",
			}),
			wantID: "e2",
			want: event.Event{
				ConversationID: "conv_2", Name: "chat",
				Input: "hi", Output: "hello",
				LatencyMs: 42, Error: "timeout",
				Attributes: attrs(
					"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
					"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]`,
				),
				Generation: event.Generation{Model: "m1", Operation: "chat"},
			},
		},
		{
			name: "older GenAI and session names",
			record: withAttrs(map[string]any{
				"session.id": "s3", "event.name": "ev3",
				"gen_ai.prompt": "p", "gen_ai.completion": "c",
				"duration_ms": 7.25, "exception.message": "boom",
			}),
			want: event.Event{ConversationID: "s3", Name: "ev3", Input: "p", Output: "c", LatencyMs: 7.25, Error: "boom"},
		},
		{
			name: "structured GenAI messages are rendered as text",
			record: withAttrs(map[string]any{
				"conversation_id": "c", "event_name": "chat",
				"gen_ai.input.messages": []any{map[string]any{
					"role": "user", "parts": []any{map[string]any{"type": "text", "content": "hi"}},
				}},
				"gen_ai.output.messages": map[string]any{"role": "assistant", "content": "hello"},
			}),
			want: event.Event{
				ConversationID: "c", Name: "chat",
				Input: "hi", Output: "hello",
				Attributes: attrs(
					"gen_ai.input.messages", `[{"parts":[{"content":"hi","type":"text"}],"role":"user"}]`,
					"gen_ai.output.messages", `{"content":"hello","role":"assistant"}`,
				),
			},
		},
		{
			name: "the event API's input is text as it is, even when it looks like a message",
			record: withAttrs(map[string]any{
				"conversation_id": "c", "event_name": "n",
				"input": `{"role":"user","content":"x"}`, "gen_ai.completion": `[{"role":"assistant","content":"y"}]`,
			}),
			want: event.Event{
				ConversationID: "c", Name: "n",
				Input: `{"role":"user","content":"x"}`, Output: `[{"role":"assistant","content":"y"}]`,
			},
		},
		{
			name: "record EventName field",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "gen_ai.operation.name": "chat"})(lr)
				lr.SetEventName("gen_ai.client.inference.operation.details")
			},
			// A GenAI record is named by its operation.
			want: event.Event{
				ConversationID: "c", Name: "chat",
				Generation: event.Generation{Operation: "chat"},
			},
		},
		{
			name: "event.name attribute beats the EventName field",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event.name": "from_attribute"})(lr)
				lr.SetEventName("from_field")
			},
			want: event.Event{ConversationID: "c", Name: "from_attribute"},
		},
		{
			name: "event_name beats event.name",
			record: withAttrs(map[string]any{
				"conversation_id": "c", "event_name": "first", "event.name": "second", "gen_ai.operation.name": "third",
			}),
			want: event.Event{
				ConversationID: "c", Name: "first",
				Attributes: attrs("event.name", "second"),
				Generation: event.Generation{Operation: "third"},
			},
		},
		{
			name: "conversation precedence",
			record: withAttrs(map[string]any{
				"conversation_id": "a", "gen_ai.conversation.id": "b", "session.id": "c", "event_name": "n",
			}),
			want: event.Event{ConversationID: "a", Name: "n", Attributes: attrs("gen_ai.conversation.id", "b", "session.id", "c")},
		},
		{
			name:   "gen_ai.conversation.id beats session.id",
			record: withAttrs(map[string]any{"gen_ai.conversation.id": "b", "session.id": "c", "event_name": "n"}),
			want:   event.Event{ConversationID: "b", Name: "n", Attributes: attrs("session.id", "c")},
		},
		{
			name:     "conversation from the resource",
			resource: map[string]any{"gen_ai.conversation.id": "from_resource", "service.name": "svc"},
			record:   withAttrs(map[string]any{"event_name": "n"}),
			want:     event.Event{ConversationID: "from_resource", Name: "n", Attributes: attrs("service.name", "svc")},
		},
		{
			name:     "record conversation beats the resource",
			resource: map[string]any{"conversation_id": "from_resource"},
			record:   withAttrs(map[string]any{"session.id": "from_record", "event_name": "n"}),
			want:     event.Event{ConversationID: "from_record", Name: "n", Attributes: attrs("conversation_id", "from_resource")},
		},
		{
			name:   "an empty string counts as absent",
			record: withAttrs(map[string]any{"conversation_id": "", "session.id": "s", "event_name": "n", "input": "", "gen_ai.prompt": "p"}),
			want:   event.Event{ConversationID: "s", Name: "n", Input: "p"},
		},
		{
			name: "the HTTP API body with empty fields",
			record: withAttrs(map[string]any{
				"id": "", "conversation_id": "c", "event_name": "n",
				"input": "", "output": "", "latency": 0, "error": "",
			}),
			want: event.Event{ConversationID: "c", Name: "n"},
		},
		{
			name: "empty aliases of every field are no attributes",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{
					"event.id": "", "gen_ai.conversation.id": "", "session.id": "s",
					"event_name": "", "event.name": "", "gen_ai.operation.name": "",
					"gen_ai.input.messages": "", "gen_ai.prompt": "", "gen_ai.output.messages": "", "gen_ai.completion": "",
					"latency_ms": "", "duration_ms": "", "error.type": "", "exception.message": "",
					"other": "", "kept": "v",
				})(lr)
				lr.SetEventName("from_field")
			},
			// An empty attribute that is no field's alias is an attribute like any other.
			want: event.Event{ConversationID: "s", Name: "from_field", Attributes: attrs("kept", "v", "other", "")},
		},
		{
			name: "trace context",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "model": "m"})(lr)
				withTrace(testTrace, testSpan)(lr)
			},
			want: event.Event{ConversationID: "c", Name: "n", Attributes: attrs(
				"model", "m", "span_id", testSpanHex, "trace_id", testTraceHex)},
		},
		{
			name: "trace context replaces attributes of its keys",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "trace_id": "mine", "span_id": "mine"})(lr)
				withTrace(testTrace, testSpan)(lr)
			},
			want: event.Event{ConversationID: "c", Name: "n", Attributes: attrs("span_id", testSpanHex, "trace_id", testTraceHex)},
		},
		{
			name:   "trace_id and span_id attributes without trace context",
			record: withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "trace_id": "t", "span_id": "s"}),
			want:   event.Event{ConversationID: "c", Name: "n", Attributes: attrs("span_id", "s", "trace_id", "t")},
		},
		{
			name: "a span id without a trace id",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				withTrace(pcommon.NewTraceIDEmpty(), testSpan)(lr)
			},
			want: event.Event{ConversationID: "c", Name: "n", Attributes: attrs("span_id", testSpanHex)},
		},
		{
			name:   "trace context comes first within max_attributes",
			limits: func(l *event.Limits) { l.MaxAttributes = 3 },
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "a": "1", "b": "2"})(lr)
				withTrace(testTrace, testSpan)(lr)
			},
			want:        event.Event{ConversationID: "c", Name: "n", Attributes: attrs("a", "1", "span_id", testSpanHex, "trace_id", testTraceHex)},
			wantOmitted: 1,
		},
		{
			name:   "the trace id before the span id",
			limits: func(l *event.Limits) { l.MaxAttributes = 1 },
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "a": "1"})(lr)
				withTrace(testTrace, testSpan)(lr)
			},
			want:        event.Event{ConversationID: "c", Name: "n", Attributes: attrs("trace_id", testTraceHex)},
			wantOmitted: 2,
		},
		{
			name:   "a trace id beyond max_attribute_bytes is left out",
			limits: func(l *event.Limits) { l.MaxAttributeBytes = 16 },
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				withTrace(testTrace, testSpan)(lr)
			},
			want:        event.Event{ConversationID: "c", Name: "n", Attributes: attrs("span_id", testSpanHex)},
			wantOmitted: 1,
		},
		{
			name: "ERROR severity makes the body the error",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetSeverityNumber(plog.SeverityNumberError)
				lr.Body().SetStr("upstream timed out")
			},
			want: event.Event{ConversationID: "c", Name: "n", Error: "upstream timed out"},
		},
		{
			name: "FATAL severity without a body",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetSeverityNumber(plog.SeverityNumberFatal)
			},
			want: event.Event{ConversationID: "c", Name: "n", Error: "error"},
		},
		{
			name: "severity text when the number is unset",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetSeverityText("error")
				lr.Body().SetEmptyMap().PutStr("msg", "structured")
			},
			want: event.Event{ConversationID: "c", Name: "n", Error: "error", Attributes: attrs("body", `{"msg":"structured"}`)},
		},
		{
			name: "error attribute beats the severity",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "error": "rate limited"})(lr)
				lr.SetSeverityNumber(plog.SeverityNumberError)
				lr.Body().SetStr("body")
			},
			want: event.Event{ConversationID: "c", Name: "n", Error: "rate limited", Attributes: attrs("body", "body")},
		},
		{
			name: "WARN severity is no error",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetSeverityNumber(plog.SeverityNumberWarn4)
				lr.Body().SetStr("careful")
			},
			// The body of a record that is no error is kept.
			want: event.Event{ConversationID: "c", Name: "n", Attributes: attrs("body", "careful")},
		},
		{
			name:   "error flag true",
			record: withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "error": true}),
			want:   event.Event{ConversationID: "c", Name: "n", Error: "error"},
		},
		{
			name: "error flag false overrides the severity",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n", "error": false})(lr)
				lr.SetSeverityNumber(plog.SeverityNumberError)
			},
			want: event.Event{ConversationID: "c", Name: "n"},
		},
		{
			name: "observed timestamp when the record has none",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetTimestamp(0)
				lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
			},
			want: event.Event{ConversationID: "c", Name: "n", Timestamp: observed},
		},
		{
			name: "now when the record has no timestamp at all",
			record: func(lr plog.LogRecord) {
				withAttrs(map[string]any{"conversation_id": "c", "event_name": "n"})(lr)
				lr.SetTimestamp(0)
			},
			want: event.Event{ConversationID: "c", Name: "n", Timestamp: testNow},
		},
		{
			name:   "attributes beyond the limits are left out",
			limits: func(l *event.Limits) { l.MaxAttributes = 2; l.MaxAttributeBytes = 8 },
			record: withAttrs(map[string]any{
				"conversation_id": "c", "event_name": "n",
				"d": "4", "b": "2", "c": "3", "a": "1",
				"long":           "123456789",
				"a_too_long_key": "v",
				"":               "empty key",
				"bad":            "\xff",
			}),
			want:        event.Event{ConversationID: "c", Name: "n", Attributes: attrs("a", "1", "b", "2")},
			wantOmitted: 6,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limits := event.DefaultLimits()
			if tt.limits != nil {
				tt.limits(&limits)
			}
			h := newHarness(t, limits)
			in := newLogs(tt.resource, tt.record)
			sent := in.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			out, err := h.n.processLogs(context.Background(), in)
			require.NoError(t, err)
			ops := decode(t, out)
			require.Len(t, ops, 1)
			op := ops[0]

			assert.Equal(t, event.OpCreate, op.Op)
			assert.Equal(t, event.AllFields, op.Set)
			assert.NotZero(t, op.Version)
			if tt.wantID != "" {
				assert.Equal(t, tt.wantID, op.ID)
			} else {
				id, err := uuid.Parse(op.ID)
				require.NoError(t, err, "generated id %q", op.ID)
				assert.Equal(t, uuid.Version(7), id.Version())
			}
			want := tt.want
			if want.Timestamp.IsZero() {
				want.Timestamp = testTS
			}
			if want.Attributes == nil {
				want.Attributes = []event.Attribute{}
			}
			// The record's trace context links the event to its span.
			if !sent.TraceID().IsEmpty() {
				want.TraceID = sent.TraceID().String()
			}
			if !sent.SpanID().IsEmpty() {
				want.SpanID = sent.SpanID().String()
			}
			assert.Equal(t, want, op.Event)

			lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, "event.create", lr.EventName())
			assert.Equal(t, sent.TraceID(), lr.TraceID(), "the record keeps its trace context")
			assert.Equal(t, sent.SpanID(), lr.SpanID())
			assert.Equal(t, testNow, lr.ObservedTimestamp().AsTime().UTC())
			assert.Equal(t, event.ScopeName, out.ResourceLogs().At(0).ScopeLogs().At(0).Scope().Name())

			assert.Equal(t, map[string]int64{"converted": 1}, h.sums(t, "otelcol_events_normalizer_records", "outcome"))
			assert.Empty(t, h.sums(t, "otelcol_events_normalizer_dropped_records", "reason"))
			if tt.wantOmitted > 0 {
				assert.Equal(t, map[string]int64{"": tt.wantOmitted}, h.sums(t, "otelcol_events_normalizer_omitted_attributes", ""))
			} else {
				assert.Empty(t, h.sums(t, "otelcol_events_normalizer_omitted_attributes", ""))
			}
		})
	}
}

func TestDrop(t *testing.T) {
	t.Parallel()
	valid := map[string]any{"conversation_id": "c", "event_name": "n"}
	with := func(extra map[string]any) func(plog.LogRecord) {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return withAttrs(m)
	}
	small := func(l *event.Limits) {
		l.MaxKeyFieldBytes = 4
		l.MaxTextFieldBytes = 4
		l.MaxAttributes = 1
	}
	canonicalWith := func(mutate func(*event.Operation)) func(plog.LogRecord) {
		op := validCreate("id")
		mutate(&op)
		return canonical(op)
	}
	tests := []struct {
		name       string
		limits     func(*event.Limits)
		record     func(plog.LogRecord)
		wantReason string
	}{
		{name: "no conversation", record: withAttrs(map[string]any{"event_name": "n"}), wantReason: "missing_field:conversation_id"},
		{name: "no event name", record: withAttrs(map[string]any{"conversation_id": "c"}), wantReason: "missing_field:event_name"},
		{name: "conversation not a string", record: with(map[string]any{"conversation_id": 42}), wantReason: "invalid_field:conversation_id"},
		{name: "session.id not a string", record: withAttrs(map[string]any{"session.id": 42, "event_name": "n"}), wantReason: "invalid_field:conversation_id"},
		{name: "event name not a string", record: with(map[string]any{"event_name": true}), wantReason: "invalid_field:event_name"},
		{
			name:       "gen_ai.operation.name not a string",
			record:     withAttrs(map[string]any{"conversation_id": "c", "gen_ai.operation.name": 1}),
			wantReason: "invalid_field:event_name",
		},
		{name: "id not a string", record: with(map[string]any{"id": 7}), wantReason: "invalid_field:id"},
		{name: "event.id not a string", record: with(map[string]any{"event.id": 7.5}), wantReason: "invalid_field:id"},
		{name: "id too long", record: with(map[string]any{"id": strings.Repeat("x", 129)}), wantReason: "invalid_field:id"},
		{
			name:       "event.id beyond the configured limit",
			limits:     func(l *event.Limits) { l.MaxIDBytes = 36 },
			record:     with(map[string]any{"event.id": strings.Repeat("x", 37)}),
			wantReason: "invalid_field:id",
		},
		{name: "latency not a number", record: with(map[string]any{"latency": "150"}), wantReason: "invalid_field:latency"},
		{name: "latency_ms negative", record: with(map[string]any{"latency_ms": -1}), wantReason: "invalid_field:latency"},
		{name: "duration_ms a map", record: with(map[string]any{"duration_ms": map[string]any{}}), wantReason: "invalid_field:latency"},
		{name: "conversation too long", limits: small, record: with(map[string]any{"conversation_id": "12345"}), wantReason: "invalid_field:conversation_id"},
		{name: "event name too long", limits: small, record: with(map[string]any{"event_name": "12345"}), wantReason: "invalid_field:event_name"},
		{name: "input too long", limits: small, record: with(map[string]any{"gen_ai.prompt": "12345"}), wantReason: "invalid_field:input"},
		{
			name:       "rendered input too long",
			limits:     small,
			record:     with(map[string]any{"gen_ai.input.messages": []any{"a", "b"}}),
			wantReason: "invalid_field:input",
		},
		{name: "output too long", limits: small, record: with(map[string]any{"gen_ai.completion": "12345"}), wantReason: "invalid_field:output"},
		{name: "error too long", limits: small, record: with(map[string]any{"exception.message": "12345"}), wantReason: "invalid_field:error"},
		{name: "input not UTF-8", record: with(map[string]any{"input": "\xff"}), wantReason: "invalid_field:input"},
		{
			name: "timestamp after 2105",
			record: func(lr plog.LogRecord) {
				with(nil)(lr)
				lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)))
			},
			wantReason: "invalid_field:timestamp",
		},
		{
			name: "canonical with an unknown op",
			record: func(lr plog.LogRecord) {
				canonical(validCreate("id"))(lr)
				lr.Attributes().PutStr(event.AttrOp, "upsert")
			},
			wantReason: "invalid_canonical",
		},
		{
			name:       "canonical without a version",
			record:     func(lr plog.LogRecord) { canonical(validCreate("id"))(lr); lr.Attributes().Remove(event.AttrVersion) },
			wantReason: "invalid_canonical",
		},
		{
			name: "canonical with a latency string",
			record: func(lr plog.LogRecord) {
				canonical(validCreate("id"))(lr)
				lr.Attributes().PutStr(event.AttrLatency, "1")
			},
			wantReason: "invalid_canonical",
		},
		{
			name:       "canonical create without a conversation",
			record:     canonicalWith(func(op *event.Operation) { op.ConversationID = "" }),
			wantReason: "missing_field:conversation_id",
		},
		{
			name:       "canonical update of the conversation",
			record:     canonicalWith(func(op *event.Operation) { op.Op = event.OpUpdate; op.Set = 1 << event.FieldConversationID }),
			wantReason: "immutable_field:conversation_id",
		},
		{
			name:       "canonical beyond the configured limits",
			limits:     small,
			record:     canonicalWith(func(op *event.Operation) { op.Attributes = attrs("a", "1", "b", "2") }),
			wantReason: "invalid_field:attributes",
		},
		{
			name:       "canonical attribute value too long",
			record:     canonicalWith(func(op *event.Operation) { op.Attributes = attrs("k", strings.Repeat("v", 4097)) }),
			wantReason: "invalid_field:attributes",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			limits := event.DefaultLimits()
			if tt.limits != nil {
				tt.limits(&limits)
			}
			h := newHarness(t, limits)
			_, err := h.n.processLogs(context.Background(), newLogs(nil, tt.record))
			require.ErrorIs(t, err, processorhelper.ErrSkipProcessingData)
			assert.Equal(t, map[string]int64{tt.wantReason: 1}, h.sums(t, "otelcol_events_normalizer_dropped_records", "reason"))
			assert.Equal(t, map[string]int64{"dropped": 1}, h.sums(t, "otelcol_events_normalizer_records", "outcome"))
			debug := h.logs.FilterMessage("dropped log record").All()
			require.Len(t, debug, 1)
			assert.Equal(t, tt.wantReason, debug[0].ContextMap()["reason"])
		})
	}
}
