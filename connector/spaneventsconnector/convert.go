package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/genai"
)

// Where each field comes from, in order of precedence: the attribute names
// the eventnormalizer processor reads from log records too (internal/event),
// the event API's name first. README.md has the same table.
var (
	// The span name comes last: it is free text ("chat gpt-x"), the
	// operation name its well-known part.
	eventNameKeys = append(slices.Clip(event.EventNameAliases), event.OperationNameAlias)
	inputKeys     = event.InputAliases
	outputKeys    = event.OutputAliases

	// Span events that carry the prompt or the completion (the GenAI event
	// conventions, older and newer), and their attributes that hold it.
	inputEventNames  = []string{"gen_ai.content.prompt", "gen_ai.client.inference.operation.details"}
	inputEventKeys   = []string{"gen_ai.input.messages", "gen_ai.prompt", "content", "message"}
	outputEventNames = []string{"gen_ai.content.completion", "gen_ai.client.inference.operation.details"}
	outputEventKeys  = []string{"gen_ai.output.messages", "gen_ai.completion", "message", "content"}
)

const (
	exceptionEventName = "exception"
	exceptionMessage   = "exception.message"
	exceptionType      = "exception.type"
	// errorType is the semantic conventions' class of a failed operation
	// (e.g. "timeout", "500"), which GenAI client spans set on errors.
	errorType = "error.type"
)

// first returns the value of the first of keys present in attrs with a
// value; an empty string counts as absent.
func first(attrs pcommon.Map, keys []string) (string, pcommon.Value, bool) {
	for _, k := range keys {
		if v, ok := attrs.Get(k); ok && event.Present(v) {
			return k, v, true
		}
	}
	return "", pcommon.Value{}, false
}

// stringField reads a field that must be a string (ids and the key fields).
func stringField(field, key string, v pcommon.Value) (string, *event.ValidationError) {
	if v.Type() != pcommon.ValueTypeStr {
		return "", &event.ValidationError{
			Code:    event.CodeInvalidField,
			Field:   field,
			Message: fmt.Sprintf("attribute %s must be a string, got %s", key, v.Type()),
		}
	}
	return v.Str(), nil
}

// text renders a prompt or a completion: strings as they are, structured
// GenAI messages (maps, slices) as JSON.
func text(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// convert turns a span into a create operation validated against the limits;
// the caller stamps the version. It also returns how many attributes the
// limits left out, by reason.
func (c *spanEvents) convert(span ptrace.Span, resource pcommon.Map) (event.Operation, omissions, *event.ValidationError) {
	attrs := span.Attributes()
	op := event.Operation{Op: event.OpCreate, Set: event.AllFields}
	var om omissions
	// used holds the keys of the span attributes that became fields.
	used := make([]string, 0, 16)

	// The span id makes the event id deterministic: a span sent again is
	// the same event, and its replay changes nothing; the log records of
	// the call (eventnormalizer) find the event by it. An empty span id
	// gives an empty id, which Validate refuses.
	op.ID = span.SpanID().String()
	if v, ok := attrs.Get(event.AttrID); ok && event.Present(v) {
		id, err := stringField("id", event.AttrID, v)
		if err != nil {
			return op, om, err
		}
		op.ID = id
		used = append(used, event.AttrID)
	}

	// resourceUsed is the resource attribute that became the conversation.
	var resourceUsed string
	k, v, ok := first(attrs, c.conversation.Keys)
	if ok {
		used = append(used, k)
	} else {
		k, v, ok = first(resource, c.conversation.Keys)
		resourceUsed = k
	}
	switch {
	case ok:
		id, err := stringField("conversation_id", k, v)
		if err != nil {
			return op, om, err
		}
		op.ConversationID = id
	case c.conversation.FallBack(isGenAI(span)):
		// "" for an empty trace id: Validate refuses it.
		op.ConversationID = span.TraceID().String()
	}

	op.Name = span.Name()
	if k, v, ok := first(attrs, eventNameKeys); ok {
		name, err := stringField("event_name", k, v)
		if err != nil {
			return op, om, err
		}
		op.Name = name
		if k != event.OperationNameAlias {
			used = append(used, k)
		}
	}

	op.Timestamp = span.StartTimestamp().AsTime().UTC()
	start, end := span.StartTimestamp(), span.EndTimestamp()
	if end >= start {
		op.LatencyMs = float64(end-start) / 1e6
	} else {
		// Validate refuses the negative duration of a malformed span.
		op.LatencyMs = -float64(start-end) / 1e6
	}

	op.Error = spanError(span)
	_, genUsed := genai.ReadGeneration(attrs, &op.Generation)
	used = append(used, genUsed...)
	op.TraceID = span.TraceID().String()
	op.SpanID = span.SpanID().String()
	var inKey, outKey string
	op.Input, inKey = messages(span, inputKeys, inputEventNames, inputEventKeys, false)
	op.Output, outKey = messages(span, outputKeys, outputEventNames, outputEventKeys, true)
	if v, ok := attrs.Get(genai.AttrSystemInstructions); ok && inKey == genai.AttrInputMessages {
		if text, ok := genai.MessagesText(v); ok && text != "" {
			op.Input = "system: " + text + "\n" + op.Input
		}
	}
	// Structured messages keep their raw form among the attributes; a plain
	// prompt or completion is the field itself.
	for _, k := range [...]string{inKey, outKey} {
		if k != "" && k != genai.AttrInputMessages && k != genai.AttrOutputMessages {
			used = append(used, k)
		}
	}
	op.Attributes, om = c.eventAttributes(span, resource, used, resourceUsed)

	if err := c.limits.Validate(&op); err != nil {
		return op, om, err
	}
	return op, om, nil
}

// isGenAI reports a span of a GenAI call: one that carries the operation
// name or the provider of the GenAI conventions.
func isGenAI(span ptrace.Span) bool {
	for _, k := range [...]string{genai.AttrOperationName, genai.AttrProviderName, genai.AttrSystem} {
		if _, ok := span.Attributes().Get(k); ok {
			return true
		}
	}
	return false
}

// spanError derives the event's error. An Error status gives its message
// (else the first exception's, else the span's error.type, else "error"); an
// Ok status means no error
// even when an exception was recorded and handled; an unset status gives the
// first exception's message or type, if any.
func spanError(span ptrace.Span) string {
	switch span.Status().Code() {
	case ptrace.StatusCodeError:
		if msg := span.Status().Message(); msg != "" {
			return msg
		}
		if msg := firstException(span); msg != "" {
			return msg
		}
		if v, ok := span.Attributes().Get(errorType); ok && text(v) != "" {
			return text(v)
		}
		return "error"
	case ptrace.StatusCodeOk:
		return ""
	default:
		return firstException(span)
	}
}

// firstException returns the exception.message, else the exception.type, of
// the first exception event that has either.
func firstException(span ptrace.Span) string {
	events := span.Events()
	for i := range events.Len() {
		e := events.At(i)
		if e.Name() != exceptionEventName {
			continue
		}
		if _, v, ok := first(e.Attributes(), []string{exceptionMessage, exceptionType}); ok {
			return text(v)
		}
	}
	return ""
}

// firstExceptionType returns the exception.type of the first exception
// event that has one.
func firstExceptionType(span ptrace.Span) (pcommon.Value, bool) {
	events := span.Events()
	for i := range events.Len() {
		e := events.At(i)
		if e.Name() != exceptionEventName {
			continue
		}
		if v, ok := e.Attributes().Get(exceptionType); ok && event.Present(v) {
			return v, true
		}
	}
	return pcommon.Value{}, false
}

// messages finds a prompt or a completion, as readable text, and the span
// attribute it came from ("" when from span events): in the span's
// attributes first (the conventions' structured messages rendered as text),
// then in the span events: the deprecated per-message events
// (gen_ai.user.message, gen_ai.choice, ...) in order, else the first event
// of one of eventNames that holds one of eventKeys.
func messages(span ptrace.Span, keys, eventNames, eventKeys []string, output bool) (string, string) {
	if k, v, ok := first(span.Attributes(), keys); ok {
		return messageText(k, v), k
	}
	events := span.Events()
	var legacy []genai.Message
	for i := range events.Len() {
		e := events.At(i)
		body := pcommon.NewValueMap()
		e.Attributes().CopyTo(body.Map())
		if msg, isOutput, ok := genai.LegacyMessage(e.Name(), body); ok && isOutput == output {
			legacy = append(legacy, msg)
		}
	}
	if len(legacy) > 0 {
		return genai.Render(legacy), ""
	}
	for i := range events.Len() {
		e := events.At(i)
		if !slices.Contains(eventNames, e.Name()) {
			continue
		}
		if k, v, ok := first(e.Attributes(), eventKeys); ok {
			return messageText(k, v), ""
		}
	}
	return "", ""
}

// messageText renders a prompt or a completion from the attribute key: the
// conventions' messages as readable text, anything else as text does.
func messageText(key string, v pcommon.Value) string {
	if genai.IsMessagesKey(key) {
		if rendered, ok := genai.MessagesText(v); ok {
			return rendered
		}
	}
	return text(v)
}

// omissions counts the attributes left out of an event, by reason.
type omissions struct {
	tooMany, tooLarge int
}

// eventAttributes keeps what the span and its resource carry beyond the
// event's fields: every span attribute that did not become a field, then
// every resource attribute the span does not override, each rendered as a
// string (arrays and maps as JSON). trace_id and span_id come first, then
// the configured attributes, then the rest in key order, up to
// max_attributes; an attribute the size limits forbid is left out rather
// than costing the whole event. Both are counted.
func (c *spanEvents) eventAttributes(span ptrace.Span, resource pcommon.Map, used []string, resourceUsed string) ([]event.Attribute, omissions) {
	var om omissions
	attrs := span.Attributes()
	all := make(map[string]string, attrs.Len()+resource.Len()+2)
	add := func(k string, v pcommon.Value) bool {
		if _, dup := all[k]; dup || slices.Contains(used, k) || !event.Present(v) {
			return true
		}
		value := text(v)
		if k == "" || len(k) > c.limits.MaxAttributeBytes || len(value) > c.limits.MaxAttributeBytes ||
			!utf8.ValidString(k) || !utf8.ValidString(value) {
			om.tooLarge++
			return true
		}
		all[k] = value
		return true
	}
	// String gives lowercase hex, or "" for an empty id, which is left out.
	if id := span.SpanID().String(); id != "" {
		all[event.SpanIDAttribute] = id
	}
	if id := span.TraceID().String(); id != "" {
		all[event.TraceIDAttribute] = id
	}
	attrs.Range(add)
	// The class of the first exception: the error keeps only its message.
	if v, ok := firstExceptionType(span); ok {
		add(exceptionType, v)
	}
	resource.Range(func(k string, v pcommon.Value) bool {
		return k == resourceUsed || add(k, v)
	})

	out := make([]event.Attribute, 0, min(len(all), c.limits.MaxAttributes))
	take := func(k string) {
		if v, ok := all[k]; ok {
			if len(out) < c.limits.MaxAttributes {
				out = append(out, event.Attribute{Key: k, Value: v})
			} else {
				om.tooMany++
			}
			delete(all, k)
		}
	}
	take(event.TraceIDAttribute)
	take(event.SpanIDAttribute)
	for _, k := range c.attributes {
		take(k)
	}
	rest := make([]string, 0, len(all))
	for k := range all {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		take(k)
	}
	event.SortAttributes(out)
	return out, om
}
