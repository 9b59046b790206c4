package spaneventsconnector // import "github.com/otelcol-events/otelcol-events/connector/spaneventsconnector"

import (
	"fmt"
	"slices"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// Where each field comes from, in order of precedence: the attribute names
// the eventnormalizer processor reads from log records too (internal/event),
// the event API's name first. README.md has the same table.
var (
	conversationIDKeys = event.ConversationIDAliases
	// The span name comes last: it is free text ("chat gpt-x"), the
	// operation name its well-known part.
	eventNameKeys = append(slices.Clip(event.EventNameAliases), event.OperationNameAlias)
	inputKeys     = event.InputAliases
	outputKeys    = event.OutputAliases

	// Span events that carry the prompt or the completion (the GenAI event
	// conventions, older and newer), and their attributes that hold it.
	inputEventNames  = []string{"gen_ai.user.message", "gen_ai.content.prompt", "gen_ai.client.inference.operation.details"}
	inputEventKeys   = []string{"gen_ai.input.messages", "gen_ai.prompt", "content", "message"}
	outputEventNames = []string{"gen_ai.choice", "gen_ai.content.completion", "gen_ai.client.inference.operation.details"}
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
// the caller stamps the version.
func (c *spanEvents) convert(span ptrace.Span, resource pcommon.Map) (event.Operation, *event.ValidationError) {
	attrs := span.Attributes()
	op := event.Operation{Op: event.OpCreate, Set: event.AllFields}

	// The span id makes the event id deterministic: a span sent again is
	// the same event, and its replay changes nothing. An empty span id gives
	// an empty id, which Validate refuses.
	op.ID = span.SpanID().String()
	if v, ok := attrs.Get(event.AttrID); ok && event.Present(v) {
		id, err := stringField("id", event.AttrID, v)
		if err != nil {
			return op, err
		}
		op.ID = id
	}

	k, v, ok := first(attrs, conversationIDKeys)
	if !ok {
		k, v, ok = first(resource, conversationIDKeys)
	}
	if ok {
		id, err := stringField("conversation_id", k, v)
		if err != nil {
			return op, err
		}
		op.ConversationID = id
	}

	op.Name = span.Name()
	if k, v, ok := first(attrs, eventNameKeys); ok {
		name, err := stringField("event_name", k, v)
		if err != nil {
			return op, err
		}
		op.Name = name
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
	op.Input = messages(span, inputKeys, inputEventNames, inputEventKeys)
	op.Output = messages(span, outputKeys, outputEventNames, outputEventKeys)
	op.Attributes = c.eventAttributes(span, resource)

	if err := c.limits.Validate(&op); err != nil {
		return op, err
	}
	return op, nil
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

// messages finds a prompt or a completion: in the span's attributes first,
// then in the first span event of one of eventNames that holds one of
// eventKeys.
func messages(span ptrace.Span, keys, eventNames, eventKeys []string) string {
	if _, v, ok := first(span.Attributes(), keys); ok {
		return text(v)
	}
	events := span.Events()
	for i := range events.Len() {
		e := events.At(i)
		if !slices.Contains(eventNames, e.Name()) {
			continue
		}
		if _, v, ok := first(e.Attributes(), eventKeys); ok {
			return text(v)
		}
	}
	return ""
}

// eventAttributes copies the configured attributes (span first, then
// resource) and adds the trace and span ids. An attribute the limits forbid
// is left out rather than costing the whole event.
func (c *spanEvents) eventAttributes(span ptrace.Span, resource pcommon.Map) []event.Attribute {
	out := make([]event.Attribute, 0, len(c.attributes)+2)
	// String gives lowercase hex, or "" for an empty id, which is left out.
	if id := span.SpanID().String(); id != "" {
		out = append(out, event.Attribute{Key: event.SpanIDAttribute, Value: id})
	}
	if id := span.TraceID().String(); id != "" {
		out = append(out, event.Attribute{Key: event.TraceIDAttribute, Value: id})
	}
	for _, key := range c.attributes {
		v, ok := span.Attributes().Get(key)
		if !ok || !event.Present(v) {
			v, ok = resource.Get(key)
		}
		if !ok || !event.Present(v) {
			continue
		}
		value := text(v)
		if len(key) > c.limits.MaxAttributeBytes || len(value) > c.limits.MaxAttributeBytes || !utf8.ValidString(value) {
			continue
		}
		out = append(out, event.Attribute{Key: key, Value: value})
	}
	event.SortAttributes(out)
	return out
}
