package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/genai"
)

// The attributes a non-canonical record may carry each field under, in order
// of precedence: the event API's names first, then the OpenTelemetry
// semantic conventions (GenAI, session, error, exception). The lists the
// spanevents connector reads too come from internal/event. README.md has the
// same table.
var (
	idKeys = []string{event.AttrID, "id"}
	// The record's EventName field ranks between these two lists.
	eventNameKeys         = event.EventNameAliases
	eventNameFallbackKeys = []string{event.OperationNameAlias}
	inputKeys             = event.InputAliases
	outputKeys            = event.OutputAliases
	latencyKeys           = []string{"latency", "latency_ms", "duration_ms"}
	errorKeys             = []string{"error", "error.type", "exception.message"}
)

// fieldAliases holds every key above: such an attribute is a field's source,
// so when it carries no value it is not an extra attribute either.
var fieldAliases = func() map[string]bool {
	m := map[string]bool{}
	for _, keys := range [][]string{
		idKeys, event.ConversationIDAliases, eventNameKeys, eventNameFallbackKeys,
		inputKeys, outputKeys, latencyKeys, errorKeys,
	} {
		for _, k := range keys {
			m[k] = true
		}
	}
	return m
}()

// conversion is the outcome of converting one non-canonical record.
type conversion struct {
	op event.Operation
	// omitted counts the string attributes left out for breaking the limits.
	omitted int
}

// recordView reads one non-canonical record and remembers which of its
// attributes became event fields, so that they are not repeated among the
// event's attributes.
type recordView struct {
	attrs pcommon.Map
	used  []string
}

// first returns the first of keys that is present with a value: an empty
// string or an empty value counts as absent.
func (r *recordView) first(keys []string) (string, pcommon.Value, bool) {
	for _, k := range keys {
		if v, ok := r.attrs.Get(k); ok && event.Present(v) {
			r.used = append(r.used, k)
			return k, v, true
		}
	}
	return "", pcommon.Value{}, false
}

func wrongType(field, key string, v pcommon.Value, want string) *event.ValidationError {
	return &event.ValidationError{
		Code:    event.CodeInvalidField,
		Field:   field,
		Message: fmt.Sprintf("attribute %s must be %s, got %s", key, want, v.Type()),
	}
}

// stringField reads a field that must be a string (ids and the key fields).
func stringField(field, key string, v pcommon.Value) (string, *event.ValidationError) {
	if v.Type() != pcommon.ValueTypeStr {
		return "", wrongType(field, key, v, "a string")
	}
	return v.Str(), nil
}

// messageField renders input and output from the attribute key: the
// conventions' messages as readable text, anything else as textField does.
func messageField(key string, v pcommon.Value) string {
	if genai.IsMessagesKey(key) {
		if text, ok := genai.MessagesText(v); ok {
			return text
		}
	}
	return textField(v)
}

// textField renders a text field: strings as they are, structured values
// (maps, slices) as JSON.
func textField(v pcommon.Value) string {
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

// isGenAI reports a record of a GenAI call: a GenAI event name, or the
// operation name or the provider of the GenAI conventions.
func isGenAI(lr plog.LogRecord) bool {
	if genai.IsGenAIEvent(lr.EventName()) {
		return true
	}
	for _, k := range [...]string{genai.AttrOperationName, genai.AttrProviderName, genai.AttrSystem} {
		if _, ok := lr.Attributes().Get(k); ok {
			return true
		}
	}
	return false
}

// convert turns a record that is not canonical into a create operation,
// validated against the limits and given an id when it has none; the caller
// stamps the version. resource holds the attributes of the record's
// resource, a fallback for the conversation id. A record that cannot become
// an event yields an *event.ValidationError, its drop reason.
func (n *normalizer) convert(lr plog.LogRecord, resource pcommon.Map, now time.Time) (conversion, error) {
	r := recordView{attrs: lr.Attributes(), used: make([]string, 0, 8)}
	op := event.Operation{Op: event.OpCreate, Set: event.AllFields}

	if k, v, ok := r.first(idKeys); ok {
		id, err := stringField("id", k, v)
		if err != nil {
			return conversion{}, err
		}
		op.ID = id
	}

	genAI := isGenAI(lr)
	var resourceUsed string
	k, v, ok := r.first(n.conversation.Keys)
	if !ok {
		res := recordView{attrs: resource}
		k, v, ok = res.first(n.conversation.Keys)
		resourceUsed = k
	}
	switch {
	case ok:
		id, err := stringField("conversation_id", k, v)
		if err != nil {
			return conversion{}, err
		}
		op.ConversationID = id
	case n.conversation.FallBack(genAI):
		// "" for a record without trace context: Validate refuses it.
		op.ConversationID = lr.TraceID().String()
	}

	if k, v, ok := r.first(eventNameKeys); ok {
		name, err := stringField("event_name", k, v)
		if err != nil {
			return conversion{}, err
		}
		op.Name = name
	} else if v, ok := r.attrs.Get(event.OperationNameAlias); ok && genAI && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		// A GenAI record is named by its operation (chat), like the event of
		// its span, not by the convention's record name.
		op.Name = v.Str()
	} else if name := lr.EventName(); name != "" {
		op.Name = name
	} else if k, v, ok := r.first(eventNameFallbackKeys); ok {
		name, err := stringField("event_name", k, v)
		if err != nil {
			return conversion{}, err
		}
		op.Name = name
	}

	if k, v, ok := r.first(inputKeys); ok {
		op.Input = messageField(k, v)
	}
	if k, v, ok := r.first(outputKeys); ok {
		op.Output = messageField(k, v)
	}
	// Structured messages keep their raw form among the attributes.
	r.used = slices.DeleteFunc(r.used, func(k string) bool {
		return k == genai.AttrInputMessages || k == genai.AttrOutputMessages
	})
	_, genUsed := genai.ReadGeneration(r.attrs, &op.Generation)
	r.used = append(r.used, genUsed...)
	if !lr.TraceID().IsEmpty() {
		op.TraceID = lr.TraceID().String()
	}
	if !lr.SpanID().IsEmpty() {
		op.SpanID = lr.SpanID().String()
	}

	if k, v, ok := r.first(latencyKeys); ok {
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			op.LatencyMs = v.Double()
		case pcommon.ValueTypeInt:
			op.LatencyMs = float64(v.Int())
		default:
			return conversion{}, wrongType("latency", k, v, "a number")
		}
	}

	bodyUsed := false
	if _, v, ok := r.first(errorKeys); ok {
		switch v.Type() {
		case pcommon.ValueTypeBool:
			// error=true is a flag without a message (OpenTracing style).
			if v.Bool() {
				op.Error = "error"
			}
		default:
			op.Error = textField(v)
		}
	} else if isErrorSeverity(lr) {
		op.Error = "error"
		if body := lr.Body(); body.Type() == pcommon.ValueTypeStr && body.Str() != "" {
			op.Error = body.Str()
			bodyUsed = true
		}
	}

	switch {
	case lr.Timestamp() != 0:
		op.Timestamp = lr.Timestamp().AsTime().UTC()
	case lr.ObservedTimestamp() != 0:
		op.Timestamp = lr.ObservedTimestamp().AsTime().UTC()
	default:
		op.Timestamp = now.UTC()
	}

	var omitted int
	op.Attributes, omitted = n.extraAttributes(&r, lr, resource, resourceUsed, bodyUsed)

	if op.ID == "" {
		id, err := n.newID()
		if err != nil {
			return conversion{}, fmt.Errorf("generate event id: %w", err)
		}
		op.ID = id
	}
	if err := n.limits.Validate(&op); err != nil {
		return conversion{}, err
	}
	return conversion{op: op, omitted: omitted}, nil
}

// isErrorSeverity reports a record logged at ERROR or above: by its severity
// number, or by its severity text when the sender set no number.
func isErrorSeverity(lr plog.LogRecord) bool {
	if sev := lr.SeverityNumber(); sev != plog.SeverityNumberUnspecified {
		return sev >= plog.SeverityNumberError
	}
	switch strings.ToUpper(lr.SeverityText()) {
	case "ERROR", "FATAL", "CRITICAL", "ALERT", "EMERGENCY":
		return true
	}
	return false
}

// bodyAttribute is the attribute key of a record's body when it did not
// become a field.
const bodyAttribute = "body"

// extraAttributes keeps what the record carries beyond the event's fields:
// its attributes of every type (rendered as strings, arrays and maps as
// JSON) that did not become a field, its body (as "body") unless it became
// the error, and its resource's attributes that the record does not
// override; it adds the record's trace context as trace_id and span_id (the
// attributes the spanevents connector gives the event of a span). A field
// alias without a value (an empty string) is the field's "no value", not an
// extra. Those the limits forbid are left out rather than costing the whole
// event: an empty or too long key, a too long or invalid value, and those
// beyond MaxAttributes, where trace_id and span_id come first, then the
// record's attributes in key order, then the resource's.
func (n *normalizer) extraAttributes(r *recordView, lr plog.LogRecord, resource pcommon.Map, resourceUsed string, bodyUsed bool) ([]event.Attribute, int) {
	var (
		traceID, spanID = lr.TraceID(), lr.SpanID()
		attrs, resAttrs []event.Attribute
		omitted         int
		seen            = make(map[string]bool, r.attrs.Len()+2)
	)
	keep := func(dst *[]event.Attribute, k string, v pcommon.Value) {
		switch {
		case seen[k]:
		case v.Type() == pcommon.ValueTypeEmpty, slices.Contains(r.used, k):
			// No value, or the source of a field.
		case v.Type() == pcommon.ValueTypeStr && v.Str() == "" && fieldAliases[k]:
			// A field's "no value".
		// The record's own trace context replaces an attribute of its key.
		case k == event.TraceIDAttribute && !traceID.IsEmpty(), k == event.SpanIDAttribute && !spanID.IsEmpty():
		default:
			seen[k] = true
			value := v.AsString() // a string as it is, others as JSON
			if !n.validAttribute(k, value) {
				omitted++
				return
			}
			*dst = append(*dst, event.Attribute{Key: k, Value: value})
		}
	}
	r.attrs.Range(func(k string, v pcommon.Value) bool {
		keep(&attrs, k, v)
		return true
	})
	if body := lr.Body(); !bodyUsed && event.Present(body) {
		keep(&attrs, bodyAttribute, body)
	}
	resource.Range(func(k string, v pcommon.Value) bool {
		if k != resourceUsed {
			keep(&resAttrs, k, v)
		}
		return true
	})
	event.SortAttributes(attrs)
	event.SortAttributes(resAttrs)
	attrs = append(attrs, resAttrs...)

	kept := make([]event.Attribute, 0, min(len(attrs)+2, n.limits.MaxAttributes))
	for _, a := range [...]event.Attribute{
		// String gives lowercase hex; an empty id means no trace context.
		{Key: event.TraceIDAttribute, Value: traceID.String()},
		{Key: event.SpanIDAttribute, Value: spanID.String()},
	} {
		switch {
		case a.Value == "":
		case !n.validAttribute(a.Key, a.Value) || len(kept) == n.limits.MaxAttributes:
			omitted++
		default:
			kept = append(kept, a)
		}
	}
	if room := n.limits.MaxAttributes - len(kept); len(attrs) > room {
		omitted += len(attrs) - room
		attrs = attrs[:room]
	}
	kept = append(kept, attrs...)
	event.SortAttributes(kept)
	return kept, omitted
}

func (n *normalizer) validAttribute(key, value string) bool {
	return key != "" && len(key) <= n.limits.MaxAttributeBytes && utf8.ValidString(key) &&
		len(value) <= n.limits.MaxAttributeBytes && utf8.ValidString(value)
}
