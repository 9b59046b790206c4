package genai

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func TestMessagesText(t *testing.T) {
	t.Parallel()
	structured := pcommon.NewValueSlice()
	_ = structured.Slice().FromRaw([]any{
		map[string]any{"role": "system", "parts": []any{map[string]any{"type": "text", "content": "be brief"}}},
		map[string]any{"role": "user", "parts": []any{map[string]any{"type": "text", "content": "hi"}}},
	})
	tests := []struct {
		name   string
		value  pcommon.Value
		want   string
		wantOK bool
	}{
		{"one message, text only", pcommon.NewValueStr(`[{"role":"user","parts":[{"type":"text","content":"Say \"hi\""}]}]`), `Say "hi"`, true},
		{"structured (log record)", structured, "system: be brief\nuser: hi", true},
		{"tool call and response", pcommon.NewValueStr(`[{"role":"assistant","parts":[{"type":"tool_call","id":"1","name":"get","arguments":{"q":"x"}}]},` +
			`{"role":"tool","parts":[{"type":"tool_call_response","id":"1","response":"42"}]}]`), "assistant: get({\"q\":\"x\"})\ntool: 42", true},
		{"system instructions", pcommon.NewValueStr(`[{"type":"text","content":"be brief"}]`), "be brief", true},
		{"an unknown part as JSON", pcommon.NewValueStr(`[{"role":"user","parts":[{"type":"blob","mime_type":"image/png"}]}]`), `{"mime_type":"image/png","type":"blob"}`, true},
		{"not JSON", pcommon.NewValueStr("plain prompt"), "", false},
		{"a JSON number", pcommon.NewValueStr("42"), "", false},
		{"an int", pcommon.NewValueInt(1), "", false},
		{"an empty list", pcommon.NewValueStr("[]"), "", false},
	}
	for _, tt := range tests {
		got, ok := MessagesText(tt.value)
		if ok != tt.wantOK || got != tt.want {
			t.Errorf("%s: %q %v, want %q %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestLegacyMessage(t *testing.T) {
	t.Parallel()
	body := func(raw map[string]any) pcommon.Value {
		v := pcommon.NewValueMap()
		_ = v.Map().FromRaw(raw)
		return v
	}
	tests := []struct {
		name       string
		event      string
		body       pcommon.Value
		want       Message
		wantOutput bool
		wantOK     bool
	}{
		{"user message", "gen_ai.user.message", body(map[string]any{"content": "hi"}), Message{Role: "user", Text: "hi"}, false, true},
		{"system message", "gen_ai.system.message", body(map[string]any{"content": "be brief"}), Message{Role: "system", Text: "be brief"}, false, true},
		{"choice", "gen_ai.choice", body(map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "hello"}}),
			Message{Role: "assistant", Text: "hello"}, true, true},
		{"choice with tool calls", "gen_ai.choice", body(map[string]any{"message": map[string]any{"tool_calls": []any{map[string]any{"id": "1"}}}}),
			Message{Role: "assistant", Text: `[{"id":"1"}]`}, true, true},
		{"choice without content (capture off)", "gen_ai.choice", body(map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant"}}),
			Message{}, false, false},
		{"user message without content", "gen_ai.user.message", body(map[string]any{}), Message{}, false, false},
		{"another event", "gen_ai.client.inference.operation.details", body(map[string]any{"content": "x"}), Message{}, false, false},
		{"string body", "gen_ai.user.message", pcommon.NewValueStr("hi"), Message{Role: "user", Text: "hi"}, false, true},
	}
	for _, tt := range tests {
		got, output, ok := LegacyMessage(tt.event, tt.body)
		if got != tt.want || output != tt.wantOutput || ok != tt.wantOK {
			t.Errorf("%s: %+v %v %v, want %+v %v %v", tt.name, got, output, ok, tt.want, tt.wantOutput, tt.wantOK)
		}
	}
}

func TestReadGeneration(t *testing.T) {
	t.Parallel()
	attrs := pcommon.NewMap()
	_ = attrs.FromRaw(map[string]any{
		AttrRequestModel: "m", AttrSystem: "openai", AttrInputTokens: int64(3), AttrOutputTokens: -1.0,
		AttrCacheReadTokens: 2.5, AttrFinishReasons: []any{"stop"}, AttrTimeToFirstChunk: int64(1),
	})
	var g event.Generation
	set, used := ReadGeneration(attrs, &g)
	want := event.Generation{Model: "m", Provider: "openai", InputTokens: 3, FinishReason: "stop", TimeToFirstTokenMs: 1000}
	if g != want {
		t.Fatalf("generation = %+v, want %+v", g, want)
	}
	if len(used) != 5 || set.Has(event.FieldOutputTokens) || set.Has(event.FieldCacheReadTokens) || !set.Has(event.FieldModel) {
		t.Fatalf("set %b used %v", set, used)
	}
}
