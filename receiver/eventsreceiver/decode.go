package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// requestError is a client error with its HTTP status and API code.
type requestError struct {
	status  int
	code    string
	message string
}

func (e *requestError) Error() string { return e.message }

func badRequest(code, format string, args ...any) *requestError {
	return &requestError{status: 400, code: code, message: fmt.Sprintf(format, args...)}
}

// body is the JSON object of one operation. Pointers tell absent fields from
// zero values; JSON null counts as absent.
type body struct {
	Op             *string            `json:"op"`
	ID             *string            `json:"id"`
	ConversationID *string            `json:"conversation_id"`
	EventName      *string            `json:"event_name"`
	Input          *string            `json:"input"`
	Output         *string            `json:"output"`
	Latency        *float64           `json:"latency"`
	Error          *string            `json:"error"`
	Timestamp      *timestamp         `json:"timestamp"`
	Attributes     *map[string]string `json:"attributes"`
	// The LLM call fields (optional). scanBody does not know them: a body
	// that has any goes through encoding/json.
	Model               *string     `json:"model"`
	Provider            *string     `json:"provider"`
	Operation           *string     `json:"operation"`
	InputTokens         *tokenCount `json:"input_tokens"`
	OutputTokens        *tokenCount `json:"output_tokens"`
	CacheReadTokens     *tokenCount `json:"cache_read_tokens"`
	CacheCreationTokens *tokenCount `json:"cache_creation_tokens"`
	ReasoningTokens     *tokenCount `json:"reasoning_tokens"`
	TimeToFirstToken    *float64    `json:"time_to_first_token"`
	FinishReason        *string     `json:"finish_reason"`
	TraceID             *string     `json:"trace_id"`
	SpanID              *string     `json:"span_id"`
}

// tokenCount is a token count: a JSON number whose value is a whole number
// >= 0. JSON has one number type, so 3.0 and 3e0 are the count 3 (JSON
// Schema's integer, the type docs/openapi.yaml gives it); 1.5 and -1 are
// refused. Validate bounds it to event.MaxTokens.
type tokenCount uint64

func (c *tokenCount) UnmarshalJSON(b []byte) error {
	if n, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		*c = tokenCount(n)
		return nil
	}
	// Above 2^64 the count is refused as the type's overflow was before;
	// below it Validate says how large a count may be.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || f < 0 || f != math.Trunc(f) || f >= math.MaxUint64 {
		return &json.UnmarshalTypeError{Value: jsonValueKind(b), Type: reflect.TypeFor[uint64]()}
	}
	*c = tokenCount(f)
	return nil
}

// jsonValueKind words a JSON value as encoding/json's type errors do.
func jsonValueKind(b []byte) string {
	switch b[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	default:
		return "number " + string(b)
	}
}

// timestamp accepts RFC 3339 strings and epoch milliseconds.
type timestamp struct{ t time.Time }

func (ts *timestamp) UnmarshalJSON(b []byte) error {
	var err error
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		ts.t, err = parseTimestamp(s)
		return err
	}
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return errInvalidTimestamp
	}
	ts.t, err = timestampFromMillis(ms)
	return err
}

// parseTimestamp reads an RFC 3339 timestamp.
func parseTimestamp(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errInvalidTimestamp
	}
	return t.UTC(), nil
}

// timestampFromMillis reads epoch milliseconds within the storable range.
func timestampFromMillis(ms float64) (time.Time, error) {
	if math.IsNaN(ms) || ms < float64(event.MinTimestamp.UnixMilli()) || ms > float64(event.MaxTimestamp.UnixMilli()) {
		return time.Time{}, errTimestampRange
	}
	return time.UnixMicro(int64(ms * 1000)).UTC(), nil
}

var (
	errInvalidTimestamp = errors.New("must be an RFC 3339 string or a number of epoch milliseconds")
	errTimestampRange   = fmt.Errorf("must be between %s and %s",
		event.MinTimestamp.Format(time.RFC3339Nano), event.MaxTimestamp.Format(time.RFC3339Nano))
)

// decodeBody parses one JSON object strictly: unknown fields, wrong types and
// trailing data are errors naming the field.
func decodeBody(data []byte) (*body, *requestError) {
	if b, ok := scanBody(data); ok {
		return b, nil
	}
	return decodeBodyJSON(data)
}

// decodeBodyJSON is decodeBody through encoding/json: it decides every body
// scanBody leaves, and words the errors.
func decodeBodyJSON(data []byte) (*body, *requestError) {
	var b body
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return nil, jsonError(err)
	}
	// Only whitespace may follow (Decoder.More and Token let a stray ] or }
	// through).
	if len(bytes.TrimLeft(data[dec.InputOffset():], " \t\r\n")) > 0 {
		return nil, badRequest(httpapi.CodeInvalidJSON, "unexpected data after the JSON object")
	}
	if rerr := checkKeys(data); rerr != nil {
		return nil, rerr
	}
	return &b, nil
}

// setsAField reports whether b carries anything besides op and id (every
// field of body is a pointer: nil when absent).
func (b *body) setsAField() bool {
	v := reflect.ValueOf(b).Elem()
	for i := range v.NumField() {
		if f := v.Type().Field(i); f.Name != "Op" && f.Name != "ID" && f.IsExported() && !v.Field(i).IsNil() {
			return true
		}
	}
	return false
}

// bodyKeys are the JSON names of body's fields, exactly as spelled.
var bodyKeys = func() map[string]struct{} {
	t := reflect.TypeFor[body]()
	keys := make(map[string]struct{}, t.NumField())
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			keys[name] = struct{}{}
		}
	}
	return keys
}()

// checkKeys rejects what encoding/json lets through silently in a body it
// decoded: a key spelled in another case (it matches field names without
// regard to case, so "Event_Name" would set event_name), a repeated key (it
// keeps the last value, so {"op":"create","op":"delete"} would be a delete)
// and a null attribute value (it would become ""). data is one valid JSON
// object.
func checkKeys(data []byte) *requestError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the body's '{'
		return nil
	}
	seen := make(map[string]struct{}, len(bodyFieldNames))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if _, known := bodyKeys[key]; !known {
			return badRequest(event.CodeUnknownField, "unknown field %q (field names are lower case)", key)
		}
		if _, dup := seen[key]; dup {
			return badRequest(event.CodeDuplicateKey, "duplicate key %q: each field may appear once", key)
		}
		seen[key] = struct{}{}
		if key != "attributes" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil
			}
			continue
		}
		if rerr := checkAttributeKeys(dec); rerr != nil {
			return rerr
		}
	}
	return nil
}

// checkAttributeKeys reads the value of "attributes" from dec: an object
// (already decoded as map[string]string, or null) whose keys must not repeat
// and whose values must not be null.
func checkAttributeKeys(dec *json.Decoder) *requestError {
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil // null: no attributes
	}
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		if _, dup := seen[key]; dup {
			return badRequest(event.CodeDuplicateKey, "attributes: duplicate key %q", key)
		}
		seen[key] = struct{}{}
		value, err := dec.Token()
		if err != nil {
			return nil
		}
		if value == nil {
			return badRequest(event.CodeInvalidField, "attributes.%s: must be a string, got null (send the whole map without the key to remove it)", key)
		}
	}
	_, _ = dec.Token() // '}'
	return nil
}

func jsonError(err error) *requestError {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest(httpapi.CodeInvalidJSON, "expected a JSON object, got %s", typeErr.Value)
		}
		return badRequest(event.CodeInvalidField, "%s: must be %s, got %s", typeErr.Field, jsonTypeName(typeErr.Type.String()), typeErr.Value)
	case errors.As(err, &syntaxErr):
		return badRequest(httpapi.CodeInvalidJSON, "malformed JSON at byte %d: %s", syntaxErr.Offset, syntaxErr.Error())
	case errors.Is(err, errInvalidTimestamp), errors.Is(err, errTimestampRange):
		return badRequest(event.CodeInvalidField, "timestamp: %s", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest(event.CodeUnknownField, "unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	case errors.Is(err, errEmptyBody), err.Error() == "EOF":
		return badRequest(httpapi.CodeInvalidJSON, "the body is empty; expected a JSON object")
	default:
		return badRequest(httpapi.CodeInvalidJSON, "malformed JSON: %s", err)
	}
}

var errEmptyBody = errors.New("empty body")

func jsonTypeName(goType string) string {
	switch strings.TrimPrefix(goType, "*") {
	case "string":
		return "a string"
	case "float64":
		return "a number"
	case "uint64":
		return "a non-negative integer"
	case "map[string]string":
		return "an object of strings"
	case "eventsreceiver.timestamp":
		return "an RFC 3339 string or epoch milliseconds"
	default:
		return goType
	}
}

// checkUTF8 rejects bodies that are not valid UTF-8 (encoding/json would
// silently replace the bad bytes).
func checkUTF8(data []byte) *requestError {
	if !utf8.Valid(data) {
		return &requestError{status: 400, code: httpapi.CodeInvalidUTF8, message: "the body is not valid UTF-8"}
	}
	return nil
}

// toOperation turns a decoded body into an operation of kind op. pathID is
// the id of the URL for update and delete ("" for create and batch items).
func toOperation(b *body, op event.Op, pathID string, now time.Time) (event.Operation, *requestError) {
	o := event.Operation{Op: op}
	if b.ID != nil {
		if pathID != "" && *b.ID != pathID {
			return o, badRequest(event.CodeImmutableField, "id: the body's id %q differs from the URL's %q", *b.ID, pathID)
		}
		o.ID = *b.ID
		if o.ID == "" {
			return o, badRequest(event.CodeInvalidField, "id: must not be empty")
		}
	} else {
		o.ID = pathID
	}
	if op == event.OpDelete {
		return o, nil
	}
	if op == event.OpUpdate {
		if b.ConversationID != nil {
			return o, badRequest(event.CodeImmutableField, "conversation_id: cannot be changed by an update")
		}
		if b.Timestamp != nil {
			return o, badRequest(event.CodeImmutableField, "timestamp: cannot be changed by an update")
		}
	}
	setStr := func(f event.Field, dst *string, src *string) {
		if src != nil {
			*dst = *src
			o.Set = o.Set.With(f)
		}
	}
	setStr(event.FieldConversationID, &o.ConversationID, b.ConversationID)
	setStr(event.FieldName, &o.Name, b.EventName)
	setStr(event.FieldInput, &o.Input, b.Input)
	setStr(event.FieldOutput, &o.Output, b.Output)
	setStr(event.FieldError, &o.Error, b.Error)
	if b.Latency != nil {
		o.LatencyMs = *b.Latency
		o.Set = o.Set.With(event.FieldLatency)
	}
	setStr(event.FieldModel, &o.Model, b.Model)
	setStr(event.FieldProvider, &o.Provider, b.Provider)
	setStr(event.FieldOperation, &o.Operation, b.Operation)
	setStr(event.FieldFinishReason, &o.FinishReason, b.FinishReason)
	setStr(event.FieldTraceID, &o.TraceID, b.TraceID)
	setStr(event.FieldSpanID, &o.SpanID, b.SpanID)
	setCount := func(f event.Field, dst *uint64, src *tokenCount) {
		if src != nil {
			*dst = uint64(*src)
			o.Set = o.Set.With(f)
		}
	}
	setCount(event.FieldInputTokens, &o.InputTokens, b.InputTokens)
	setCount(event.FieldOutputTokens, &o.OutputTokens, b.OutputTokens)
	setCount(event.FieldCacheReadTokens, &o.CacheReadTokens, b.CacheReadTokens)
	setCount(event.FieldCacheCreationTokens, &o.CacheCreationTokens, b.CacheCreationTokens)
	setCount(event.FieldReasoningTokens, &o.ReasoningTokens, b.ReasoningTokens)
	if b.TimeToFirstToken != nil {
		o.TimeToFirstTokenMs = *b.TimeToFirstToken
		o.Set = o.Set.With(event.FieldTimeToFirstToken)
	}
	if b.Attributes != nil {
		o.Attributes = make([]event.Attribute, 0, len(*b.Attributes))
		for k, v := range *b.Attributes {
			o.Attributes = append(o.Attributes, event.Attribute{Key: k, Value: v})
		}
		event.SortAttributes(o.Attributes)
		o.Set = o.Set.With(event.FieldAttributes)
	}
	if op == event.OpCreate {
		o.Timestamp = now
		if b.Timestamp != nil {
			o.Timestamp = b.Timestamp.t
		}
		o.Set = event.AllFields
	}
	return o, nil
}
