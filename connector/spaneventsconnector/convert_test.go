package spaneventsconnector

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap/zapcore"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func attrs(kv ...string) []event.Attribute {
	out := []event.Attribute{}
	for i := 0; i < len(kv); i += 2 {
		out = append(out, event.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	event.SortAttributes(out)
	return out
}

// ids are the attributes every event of testTrace/testSpan carries.
func ids(kv ...string) []event.Attribute {
	return attrs(append([]string{"trace_id", testTraceHex, "span_id", testSpanHex}, kv...)...)
}

func TestConvert(t *testing.T) {
	t.Parallel()
	conv := map[string]any{"gen_ai.conversation.id": "c"}
	tests := []struct {
		name     string
		cfg      func(*Config)
		resource map[string]any
		span     func(ptrace.Span)
		wantID   string
		want     event.Event
	}{
		{
			name:     "GenAI chat span",
			resource: map[string]any{"service.name": "assistant"},
			span: span("chat gpt-x", map[string]any{
				"gen_ai.conversation.id":     "conv_1",
				"gen_ai.operation.name":      "chat",
				"gen_ai.provider.name":       "openai",
				"gen_ai.request.model":       "gpt-x",
				"gen_ai.response.model":      "gpt-x-2026",
				"gen_ai.usage.input_tokens":  int64(12),
				"gen_ai.usage.output_tokens": int64(34),
				"gen_ai.input.messages":      `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
				"gen_ai.output.messages":     `[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]`,
				"http.method":                "POST",
			}),
			want: event.Event{
				ConversationID: "conv_1", Name: "chat", LatencyMs: 1.5,
				Input: "hi", Output: "hello",
				// The messages keep their structure among the attributes;
				// what became a field is not repeated there.
				Attributes: ids(
					"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`,
					"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]`,
					"gen_ai.request.model", "gpt-x",
					"http.method", "POST",
					"service.name", "assistant",
				),
				Generation: event.Generation{
					Model: "gpt-x-2026", Provider: "openai", Operation: "chat", InputTokens: 12, OutputTokens: 34,
				},
			},
		},
		{
			name: "span name without an operation name",
			span: span("retrieve documents", map[string]any{"session.id": "s"}),
			want: event.Event{ConversationID: "s", Name: "retrieve documents", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name: "conversation_id attribute",
			span: span("n", map[string]any{"conversation_id": "c3"}),
			want: event.Event{ConversationID: "c3", Name: "n", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name: "conversation precedence",
			span: span("n", map[string]any{"conversation_id": "a", "gen_ai.conversation.id": "b", "session.id": "c"}),
			want: event.Event{ConversationID: "a", Name: "n", LatencyMs: 1.5, Attributes: ids("gen_ai.conversation.id", "b", "session.id", "c")},
		},
		{
			name: "gen_ai.conversation.id beats session.id",
			span: span("n", map[string]any{"gen_ai.conversation.id": "b", "session.id": "c"}),
			want: event.Event{ConversationID: "b", Name: "n", LatencyMs: 1.5, Attributes: ids("session.id", "c")},
		},
		{
			name: "an empty conversation_id counts as absent",
			span: span("n", map[string]any{"conversation_id": "", "session.id": "c"}),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name: "event_name beats event.name and the operation name",
			span: span("span name", map[string]any{
				"gen_ai.conversation.id": "c", "event_name": "first", "event.name": "second", "gen_ai.operation.name": "third",
			}),
			want: event.Event{
				ConversationID: "c", Name: "first", LatencyMs: 1.5, Attributes: ids("event.name", "second"),
				Generation: event.Generation{Operation: "third"},
			},
		},
		{
			name: "event.name beats the operation name",
			span: span("span name", map[string]any{"gen_ai.conversation.id": "c", "event.name": "second", "gen_ai.operation.name": "third"}),
			want: event.Event{
				ConversationID: "c", Name: "second", LatencyMs: 1.5, Attributes: ids(),
				Generation: event.Generation{Operation: "third"},
			},
		},
		{
			name:     "conversation from the resource",
			resource: map[string]any{"session.id": "from_resource"},
			span:     span("n", nil),
			want:     event.Event{ConversationID: "from_resource", Name: "n", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name:     "span conversation beats the resource",
			resource: map[string]any{"gen_ai.conversation.id": "from_resource"},
			span:     span("n", map[string]any{"conversation_id": "from_span"}),
			want:     event.Event{ConversationID: "from_span", Name: "n", LatencyMs: 1.5, Attributes: ids("gen_ai.conversation.id", "from_resource")},
		},
		{
			name:   "event.id overrides the span id",
			span:   span("n", map[string]any{"gen_ai.conversation.id": "c", "event.id": "client-key"}),
			wantID: "client-key",
			want:   event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name: "structured GenAI messages are rendered as JSON",
			span: span("n", map[string]any{
				"gen_ai.conversation.id": "c",
				"gen_ai.input.messages": []any{map[string]any{
					"role": "user", "parts": []any{map[string]any{"type": "text", "content": "hi"}},
				}},
				"gen_ai.output.messages": []any{map[string]any{"role": "assistant", "finish_reason": "stop"}},
			}),
			want: event.Event{
				ConversationID: "c", Name: "n", LatencyMs: 1.5,
				Input: "hi",
				Attributes: ids(
					"gen_ai.input.messages", `[{"parts":[{"content":"hi","type":"text"}],"role":"user"}]`,
					"gen_ai.output.messages", `[{"finish_reason":"stop","role":"assistant"}]`,
				),
			},
		},
		{
			name: "input that looks like a message is text as it is",
			span: span("n", map[string]any{"gen_ai.conversation.id": "c", "input": `[{"role":"user","content":"x"}]`}),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: `[{"role":"user","content":"x"}]`, Attributes: ids()},
		},
		{
			name: "gen_ai.prompt and gen_ai.completion attributes",
			span: span("n", map[string]any{"gen_ai.conversation.id": "c", "gen_ai.prompt": "p", "gen_ai.completion": "q"}),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "p", Output: "q", Attributes: ids()},
		},
		{
			name: "input and output beat the GenAI attributes",
			span: span("n", map[string]any{
				"gen_ai.conversation.id": "c",
				"input":                  "x", "gen_ai.input.messages": "m", "gen_ai.prompt": "p",
				"output": "y", "gen_ai.output.messages": "n", "gen_ai.completion": "q",
			}),
			want: event.Event{
				ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "x", Output: "y",
				Attributes: ids("gen_ai.input.messages", "m", "gen_ai.prompt", "p", "gen_ai.output.messages", "n", "gen_ai.completion", "q"),
			},
		},
		{
			name: "GenAI messages beat the older prompt and completion",
			span: span("n", map[string]any{
				"gen_ai.conversation.id": "c",
				"gen_ai.input.messages":  "m", "gen_ai.prompt": "p",
				"gen_ai.output.messages": "o", "gen_ai.completion": "q",
			}),
			want: event.Event{
				ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "m", Output: "o",
				Attributes: ids("gen_ai.input.messages", "m", "gen_ai.prompt", "p", "gen_ai.output.messages", "o", "gen_ai.completion", "q"),
			},
		},
		{
			name: "prompt and completion content events",
			span: then(span("n", conv),
				withEvent("gen_ai.content.prompt", map[string]any{"gen_ai.prompt": "p"}),
				withEvent("gen_ai.content.completion", map[string]any{"gen_ai.completion": "q"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "p", Output: "q", Attributes: ids()},
		},
		{
			name: "user message and choice events",
			span: then(span("n", conv),
				withEvent("gen_ai.system.message", map[string]any{"content": "be brief"}),
				withEvent("gen_ai.user.message", map[string]any{"content": "hi"}),
				withEvent("gen_ai.choice", map[string]any{
					"index": 0, "message": map[string]any{"role": "assistant", "content": "hello"},
				}),
			),
			want: event.Event{
				ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "system: be brief\nuser: hi",
				Output: "hello", Attributes: ids(),
			},
		},
		{
			name: "inference details event",
			span: then(span("n", conv),
				withEvent("gen_ai.client.inference.operation.details", map[string]any{
					"gen_ai.input.messages": "in", "gen_ai.output.messages": "out",
				}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "in", Output: "out", Attributes: ids()},
		},
		{
			name: "an event without a known attribute is skipped",
			span: then(span("n", conv),
				withEvent("gen_ai.user.message", map[string]any{"role": "user"}),
				withEvent("gen_ai.user.message", map[string]any{"content": "second"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "second", Attributes: ids()},
		},
		{
			name: "span attributes beat span events",
			span: then(span("n", map[string]any{"gen_ai.conversation.id": "c", "gen_ai.prompt": "attr"}),
				withEvent("gen_ai.user.message", map[string]any{"content": "event"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Input: "attr", Attributes: ids()},
		},
		{
			name: "error status message",
			span: then(span("n", conv),
				withStatus(ptrace.StatusCodeError, "upstream 503"),
				withEvent("exception", map[string]any{"exception.message": "ignored"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "upstream 503", Attributes: ids()},
		},
		{
			name: "error status without a message takes the exception",
			span: then(span("n", conv),
				withStatus(ptrace.StatusCodeError, ""),
				withEvent("exception", map[string]any{"exception.type": "TimeoutError", "exception.message": "read timed out"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "read timed out", Attributes: ids("exception.type", "TimeoutError")},
		},
		{
			name: "error status without a message or an exception takes error.type",
			span: then(span("n", map[string]any{"gen_ai.conversation.id": "c", "error.type": "timeout"}),
				withStatus(ptrace.StatusCodeError, "")),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "timeout", Attributes: ids("error.type", "timeout")},
		},
		{
			name: "error status alone",
			span: then(span("n", conv), withStatus(ptrace.StatusCodeError, "")),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "error", Attributes: ids()},
		},
		{
			name: "exception event on an unset status",
			span: then(span("n", conv),
				withEvent("log", map[string]any{"exception.message": "not an exception event"}),
				withEvent("exception", map[string]any{"exception.message": "first"}),
				withEvent("exception", map[string]any{"exception.message": "second"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "first", Attributes: ids()},
		},
		{
			name: "exception type when there is no message",
			span: then(span("n", conv),
				withEvent("exception", map[string]any{"exception.stacktrace": "..."}),
				withEvent("exception", map[string]any{"exception.type": "ValueError"}),
			),
			// The class of the first exception is kept.
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Error: "ValueError", Attributes: ids("exception.type", "ValueError")},
		},
		{
			name: "an Ok status wins over a handled exception",
			span: then(span("n", conv),
				withStatus(ptrace.StatusCodeOk, ""),
				withEvent("exception", map[string]any{"exception.message": "retried"}),
			),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 1.5, Attributes: ids()},
		},
		{
			name: "sub-millisecond latency",
			span: then(span("n", conv), func(s ptrace.Span) {
				s.SetEndTimestamp(pcommon.NewTimestampFromTime(testStart.Add(250 * time.Microsecond)))
			}),
			want: event.Event{ConversationID: "c", Name: "n", LatencyMs: 0.25, Attributes: ids()},
		},
		{
			name: "a GenAI call without a conversation: the trace id",
			span: span("chat", map[string]any{"gen_ai.operation.name": "chat", "temperature": 0.5, "stream": true, "stop": []any{"a", "b"}}),
			want: event.Event{
				ConversationID: testTraceHex, Name: "chat", LatencyMs: 1.5,
				// Attributes of every type, as strings.
				Attributes: ids("temperature", "0.5", "stream", "true", "stop", `["a","b"]`),
				Generation: event.Generation{Operation: "chat"},
			},
		},
		{
			name:     "OpenAI instrumentation span (latest conventions)",
			resource: map[string]any{"service.name": "app", "telemetry.sdk.language": "python"},
			span: span("chat gpt-4o-mini", map[string]any{
				"gen_ai.operation.name":                "chat",
				"gen_ai.provider.name":                 "openai",
				"gen_ai.request.model":                 "gpt-4o-mini",
				"gen_ai.response.model":                "gpt-4o-mini-2024-07-18",
				"gen_ai.response.finish_reasons":       []any{"stop", "length"},
				"gen_ai.usage.input_tokens":            int64(11),
				"gen_ai.usage.output_tokens":           int64(7),
				"gen_ai.usage.cache_read.input_tokens": int64(4),
				"gen_ai.usage.reasoning.output_tokens": float64(2),
				"gen_ai.response.time_to_first_chunk":  0.25,
				"gen_ai.system_instructions":           `[{"type":"text","content":"be brief"}]`,
				"gen_ai.input.messages":                `[{"role":"user","parts":[{"type":"text","content":"Say hi"}]},{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":{"x":1}}]}]`,
				"gen_ai.output.messages":               `[{"role":"assistant","parts":[{"type":"text","content":"Hi!"}],"finish_reason":"stop"}]`,
			}),
			want: event.Event{
				ConversationID: testTraceHex, Name: "chat", LatencyMs: 1.5,
				Input:  "system: be brief\nuser: Say hi\nassistant: f({\"x\":1})",
				Output: "Hi!",
				Attributes: ids(
					"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Say hi"}]},{"role":"assistant","parts":[{"type":"tool_call","name":"f","arguments":{"x":1}}]}]`,
					"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"Hi!"}],"finish_reason":"stop"}]`,
					"gen_ai.request.model", "gpt-4o-mini",
					"gen_ai.system_instructions", `[{"type":"text","content":"be brief"}]`,
					"service.name", "app", "telemetry.sdk.language", "python",
				),
				Generation: event.Generation{
					Model: "gpt-4o-mini-2024-07-18", Provider: "openai", Operation: "chat", InputTokens: 11, OutputTokens: 7,
					CacheReadTokens: 4, ReasoningTokens: 2, TimeToFirstTokenMs: 250, FinishReason: "stop,length",
				},
			},
		},
		{
			name: "deprecated attributes and a token count of the wrong type",
			span: span("chat", map[string]any{
				"session.id": "s", "gen_ai.system": "openai", "gen_ai.usage.prompt_tokens": int64(5),
				"gen_ai.usage.completion_tokens": "many",
			}),
			want: event.Event{
				ConversationID: "s", Name: "chat", LatencyMs: 1.5,
				Attributes: ids("gen_ai.usage.completion_tokens", "many"),
				Generation: event.Generation{Provider: "openai", InputTokens: 5},
			},
		},
		{
			name: "configured attributes, too long ones left out",
			cfg: func(c *Config) {
				c.Attributes = []string{"deployment.environment.name", "gen_ai.request.model", "user.id"}
				c.Limits.MaxAttributeBytes = 32
			},
			resource: map[string]any{"deployment.environment.name": "prod", "gen_ai.request.model": "resource"},
			span: span("n", map[string]any{
				"gen_ai.conversation.id": "c",
				"gen_ai.request.model":   "span",
				"user.id":                strings.Repeat("u", 33),
				"gen_ai.response.model":  "not configured",
			}),
			want: event.Event{
				ConversationID: "c", Name: "n", LatencyMs: 1.5,
				Attributes: ids("deployment.environment.name", "prod", "gen_ai.request.model", "span"),
				Generation: event.Generation{Model: "not configured"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := createDefaultConfig().(*Config)
			if tt.cfg != nil {
				tt.cfg(cfg)
				require.NoError(t, cfg.Validate())
			}
			h := newHarness(t, cfg)
			require.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(tt.resource, tt.span)))
			require.Len(t, h.sink.AllLogs(), 1)
			out := h.sink.AllLogs()[0]
			ops := decode(t, out)
			require.Len(t, ops, 1)
			op := ops[0]

			assert.Equal(t, event.OpCreate, op.Op)
			assert.NotZero(t, op.Version)
			wantID := tt.wantID
			if wantID == "" {
				wantID = testSpanHex
			}
			assert.Equal(t, wantID, op.ID)
			want := tt.want
			want.Timestamp = testStart
			// Every event of testSpan links back to it.
			want.TraceID, want.SpanID = testTraceHex, testSpanHex
			assert.Equal(t, want, op.Event)

			lr := out.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
			assert.Equal(t, testTrace, lr.TraceID())
			assert.Equal(t, testSpan, lr.SpanID())
			assert.Equal(t, testNow, lr.ObservedTimestamp().AsTime().UTC())
			assert.Equal(t, map[string]int64{"converted": 1}, h.sums(t, "otelcol_events_spanevents_spans", "outcome"))
		})
	}
}

func TestDrop(t *testing.T) {
	t.Parallel()
	conv := map[string]any{"gen_ai.conversation.id": "c"}
	tests := []struct {
		name       string
		span       func(ptrace.Span)
		wantReason string
		// wantWarn is false for the drops that are normal in a traces pipeline.
		wantWarn bool
	}{
		{
			name:       "no conversation and no trace id",
			span:       then(span("GET /health", map[string]any{"http.method": "GET"}), func(s ptrace.Span) { s.SetTraceID(pcommon.NewTraceIDEmpty()) }),
			wantReason: "missing_field:conversation_id",
		},
		{name: "conversation not a string", span: span("n", map[string]any{"session.id": 7}), wantReason: "invalid_field:conversation_id", wantWarn: true},
		{
			name:       "operation name not a string",
			span:       span("n", map[string]any{"gen_ai.conversation.id": "c", "gen_ai.operation.name": 1}),
			wantReason: "invalid_field:event_name", wantWarn: true,
		},
		{name: "no name", span: span("", conv), wantReason: "missing_field:event_name", wantWarn: true},
		{
			name:       "event_name not a string",
			span:       span("n", map[string]any{"gen_ai.conversation.id": "c", "event_name": 1, "gen_ai.operation.name": "chat"}),
			wantReason: "invalid_field:event_name", wantWarn: true,
		},
		{
			name:       "event.id not a string",
			span:       span("n", map[string]any{"gen_ai.conversation.id": "c", "event.id": true}),
			wantReason: "invalid_field:id", wantWarn: true,
		},
		{
			name:       "empty span id",
			span:       then(span("n", conv), func(s ptrace.Span) { s.SetSpanID(pcommon.NewSpanIDEmpty()) }),
			wantReason: "invalid_field:id", wantWarn: true,
		},
		{
			name: "end before start",
			span: then(span("n", conv), func(s ptrace.Span) {
				s.SetEndTimestamp(pcommon.NewTimestampFromTime(testStart.Add(-time.Millisecond)))
			}),
			wantReason: "invalid_field:latency", wantWarn: true,
		},
		{
			name:       "input too long",
			span:       span("n", map[string]any{"gen_ai.conversation.id": "c", "gen_ai.prompt": strings.Repeat("p", 1<<20+1)}),
			wantReason: "invalid_field:input", wantWarn: true,
		},
		{
			name:       "conversation too long",
			span:       span("n", map[string]any{"gen_ai.conversation.id": strings.Repeat("c", 1025)}),
			wantReason: "invalid_field:conversation_id", wantWarn: true,
		},
		{
			name: "start after 2105",
			span: then(span("n", conv), func(s ptrace.Span) {
				s.SetStartTimestamp(pcommon.NewTimestampFromTime(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)))
				s.SetEndTimestamp(s.StartTimestamp())
			}),
			wantReason: "invalid_field:timestamp", wantWarn: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, nil)
			require.NoError(t, h.c.ConsumeTraces(context.Background(), newTraces(nil, tt.span)))
			assert.Empty(t, h.sink.AllLogs(), "nothing goes on when no span became an event")
			assert.Equal(t, map[string]int64{tt.wantReason: 1}, h.sums(t, "otelcol_events_spanevents_dropped_spans", "reason"))
			assert.Equal(t, map[string]int64{"dropped": 1}, h.sums(t, "otelcol_events_spanevents_spans", "outcome"))
			debug := h.logs.FilterMessage("dropped span").FilterLevelExact(zapcore.DebugLevel).All()
			require.Len(t, debug, 1)
			assert.Equal(t, tt.wantReason, debug[0].ContextMap()["reason"])
			warnings := h.logs.FilterLevelExact(zapcore.WarnLevel).Len()
			if tt.wantWarn {
				assert.Equal(t, 1, warnings)
			} else {
				assert.Zero(t, warnings)
			}
		})
	}
}
