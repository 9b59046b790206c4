// Package genai reads what the OpenTelemetry GenAI semantic conventions put
// on spans, span events and log records (the current attributes and the
// deprecated per-message events) into the fields of an event. The spanevents
// connector and the eventnormalizer processor both use it, so that one
// attribute means one field with one precedence in both. docs/genai.md has
// the mapping table.
package genai // import "github.com/otelcol-events/otelcol-events/internal/genai"

import (
	"encoding/json"
	"math"
	"strings"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Attribute keys of the GenAI conventions.
const (
	AttrOperationName        = "gen_ai.operation.name"
	AttrProviderName         = "gen_ai.provider.name"
	AttrSystem               = "gen_ai.system" // deprecated name of the provider
	AttrRequestModel         = "gen_ai.request.model"
	AttrResponseModel        = "gen_ai.response.model"
	AttrFinishReasons        = "gen_ai.response.finish_reasons"
	AttrTimeToFirstChunk     = "gen_ai.response.time_to_first_chunk" // seconds
	AttrInputTokens          = "gen_ai.usage.input_tokens"
	AttrOutputTokens         = "gen_ai.usage.output_tokens"
	AttrPromptTokens         = "gen_ai.usage.prompt_tokens"     // deprecated
	AttrCompletionTokens     = "gen_ai.usage.completion_tokens" // deprecated
	AttrCacheReadTokens      = "gen_ai.usage.cache_read.input_tokens"
	AttrCacheCreationTokens  = "gen_ai.usage.cache_creation.input_tokens"
	AttrReasoningTokens      = "gen_ai.usage.reasoning.output_tokens"
	AttrInputMessages        = "gen_ai.input.messages"
	AttrOutputMessages       = "gen_ai.output.messages"
	AttrSystemInstructions   = "gen_ai.system_instructions"
	EventOperationDetails    = "gen_ai.client.inference.operation.details"
	eventPrefix              = "gen_ai."
	legacyChoiceEvent        = "gen_ai.choice"
	legacyMessageEventSuffix = ".message"
)

// generationKeys lists, per field, the attributes it is read from in order
// of precedence.
var generationKeys = []struct {
	field event.Field
	keys  []string
}{
	{event.FieldModel, []string{AttrResponseModel, AttrRequestModel}},
	{event.FieldProvider, []string{AttrProviderName, AttrSystem}},
	{event.FieldOperation, []string{AttrOperationName}},
	{event.FieldInputTokens, []string{AttrInputTokens, AttrPromptTokens}},
	{event.FieldOutputTokens, []string{AttrOutputTokens, AttrCompletionTokens}},
	{event.FieldCacheReadTokens, []string{AttrCacheReadTokens}},
	{event.FieldCacheCreationTokens, []string{AttrCacheCreationTokens}},
	{event.FieldReasoningTokens, []string{AttrReasoningTokens}},
	{event.FieldTimeToFirstToken, []string{AttrTimeToFirstChunk}},
	{event.FieldFinishReason, []string{AttrFinishReasons}},
}

// ReadGeneration reads the LLM call fields from attrs into g and returns the
// set of fields it found and the keys it read them from. A value of the
// wrong type (a token count that is not a non-negative integer) is not read:
// it stays an ordinary attribute.
func ReadGeneration(attrs pcommon.Map, g *event.Generation) (event.Fields, []string) {
	var (
		set  event.Fields
		used []string
	)
	for _, fk := range generationKeys {
		for _, k := range fk.keys {
			v, ok := attrs.Get(k)
			if !ok || !event.Present(v) || !setGeneration(g, fk.field, v) {
				continue
			}
			set = set.With(fk.field)
			used = append(used, k)
			break
		}
	}
	return set, used
}

func setGeneration(g *event.Generation, f event.Field, v pcommon.Value) bool {
	switch f {
	case event.FieldModel, event.FieldProvider, event.FieldOperation:
		if v.Type() != pcommon.ValueTypeStr {
			return false
		}
		switch f {
		case event.FieldModel:
			g.Model = v.Str()
		case event.FieldProvider:
			g.Provider = v.Str()
		default:
			g.Operation = v.Str()
		}
	case event.FieldFinishReason:
		switch v.Type() {
		case pcommon.ValueTypeStr:
			g.FinishReason = v.Str()
		case pcommon.ValueTypeSlice:
			reasons := make([]string, 0, v.Slice().Len())
			for i := range v.Slice().Len() {
				reasons = append(reasons, v.Slice().At(i).AsString())
			}
			g.FinishReason = strings.Join(reasons, ",")
		default:
			return false
		}
	case event.FieldTimeToFirstToken:
		var seconds float64
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			seconds = v.Double()
		case pcommon.ValueTypeInt:
			seconds = float64(v.Int())
		default:
			return false
		}
		if math.IsNaN(seconds) || math.IsInf(seconds, 0) || seconds < 0 {
			return false
		}
		g.TimeToFirstTokenMs = seconds * 1000
	default:
		n, ok := count(v)
		if !ok {
			return false
		}
		switch f {
		case event.FieldInputTokens:
			g.InputTokens = n
		case event.FieldOutputTokens:
			g.OutputTokens = n
		case event.FieldCacheReadTokens:
			g.CacheReadTokens = n
		case event.FieldCacheCreationTokens:
			g.CacheCreationTokens = n
		case event.FieldReasoningTokens:
			g.ReasoningTokens = n
		}
	}
	return true
}

// count reads a token count: an integer, or a double that holds one.
func count(v pcommon.Value) (uint64, bool) {
	switch v.Type() {
	case pcommon.ValueTypeInt:
		if v.Int() < 0 || v.Int() > event.MaxTokens {
			return 0, false
		}
		return uint64(v.Int()), true
	case pcommon.ValueTypeDouble:
		d := v.Double()
		if d < 0 || d > event.MaxTokens || d != math.Trunc(d) {
			return 0, false
		}
		return uint64(d), true
	}
	return 0, false
}

// Message is one message of a prompt or a completion, reduced to its role
// and its text.
type Message struct {
	Role string
	Text string
}

// Render writes messages as readable text: the text alone for one message,
// else one "role: text" line per message.
func Render(msgs []Message) string {
	if len(msgs) == 1 {
		return msgs[0].Text
	}
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		if m.Role != "" {
			b.WriteString(m.Role)
			b.WriteString(": ")
		}
		b.WriteString(m.Text)
	}
	return b.String()
}

// MessagesText renders the value of gen_ai.input.messages,
// gen_ai.output.messages or gen_ai.system_instructions as readable text:
// the value is the JSON of the conventions' message list, as a string (span
// attributes) or as structured values (log records). It reports false for a
// value of another shape, which the caller keeps as it is.
func MessagesText(v pcommon.Value) (string, bool) {
	var raw any
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if err := json.Unmarshal([]byte(v.Str()), &raw); err != nil {
			return "", false
		}
	case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
		raw = v.AsRaw()
	default:
		return "", false
	}
	list, ok := raw.([]any)
	if !ok {
		// One message on its own.
		list = []any{raw}
	}
	msgs := make([]Message, 0, len(list))
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return "", false
		}
		msg, ok := message(m)
		if !ok {
			return "", false
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return "", false
	}
	return Render(msgs), true
}

// message reads one message of the conventions ({"role", "parts": [...]}),
// one system instruction part ({"type": "text", "content"}), or one message
// of the deprecated events' bodies ({"role", "content"}, {"message": {...}}).
func message(m map[string]any) (Message, bool) {
	if inner, ok := m["message"].(map[string]any); ok {
		return message(inner)
	}
	role, _ := m["role"].(string)
	if parts, ok := m["parts"].([]any); ok {
		texts := make([]string, 0, len(parts))
		for _, p := range parts {
			pm, ok := p.(map[string]any)
			if !ok {
				return Message{}, false
			}
			texts = append(texts, partText(pm))
		}
		return Message{Role: role, Text: strings.Join(texts, "\n")}, true
	}
	if _, isPart := m["type"]; isPart {
		return Message{Role: role, Text: partText(m)}, true
	}
	switch c := m["content"].(type) {
	case string:
		return Message{Role: role, Text: c}, true
	case nil:
		if calls, ok := m["tool_calls"]; ok {
			return Message{Role: role, Text: compactJSON(calls)}, true
		}
		return Message{Role: role}, role != ""
	default:
		return Message{Role: role, Text: compactJSON(c)}, true
	}
}

// partText renders one part: text as it is, a tool call as name(arguments),
// a tool call's response as its response, anything else as JSON.
func partText(p map[string]any) string {
	switch p["type"] {
	case "text", "reasoning":
		if s, ok := p["content"].(string); ok {
			return s
		}
	case "tool_call":
		name, _ := p["name"].(string)
		return name + "(" + compactJSON(p["arguments"]) + ")"
	case "tool_call_response":
		if s, ok := p["response"].(string); ok {
			return s
		}
		return compactJSON(p["response"])
	}
	return compactJSON(p)
}

func compactJSON(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// IsMessagesKey reports an attribute that holds messages in the shape
// MessagesText reads: the conventions' gen_ai.input.messages and
// gen_ai.output.messages, and the message of the deprecated span events.
// Other attributes (the event API's input and output, gen_ai.prompt) are
// text as they are, whatever they look like.
func IsMessagesKey(key string) bool {
	return key == AttrInputMessages || key == AttrOutputMessages || key == "message"
}

// IsGenAIEvent reports whether an event name (of a log record or a span
// event) is one of the GenAI conventions'.
func IsGenAIEvent(name string) bool {
	return strings.HasPrefix(name, eventPrefix)
}

// LegacyMessage reads a deprecated per-message event (gen_ai.system.message,
// gen_ai.user.message, gen_ai.assistant.message, gen_ai.tool.message,
// gen_ai.choice): its message, and whether it is part of the output (a
// choice) rather than the input. body is the record's body (or, for a span
// event, a map of its attributes). It reports false for another event or a
// body without content (content capture off).
func LegacyMessage(name string, body pcommon.Value) (Message, bool, bool) {
	var role string
	output := false
	switch {
	case name == legacyChoiceEvent:
		role, output = "assistant", true
	case strings.HasPrefix(name, eventPrefix) && strings.HasSuffix(name, legacyMessageEventSuffix):
		role = strings.TrimSuffix(strings.TrimPrefix(name, eventPrefix), legacyMessageEventSuffix)
	default:
		return Message{}, false, false
	}
	var raw any
	switch body.Type() {
	case pcommon.ValueTypeMap:
		raw = body.AsRaw()
	case pcommon.ValueTypeStr:
		if err := json.Unmarshal([]byte(body.Str()), &raw); err != nil {
			if body.Str() == "" {
				return Message{}, false, false
			}
			return Message{Role: role, Text: body.Str()}, output, true
		}
	default:
		return Message{}, false, false
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Message{}, false, false
	}
	msg, ok := message(m)
	if !ok || msg.Text == "" {
		return Message{}, false, false
	}
	if msg.Role == "" {
		msg.Role = role
	}
	return msg, output, true
}
