package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"errors"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
)

// Error codes shared by the HTTP API and the normalizer's drop reasons.
const (
	CodeMissingField   = "missing_field"
	CodeInvalidField   = "invalid_field"
	CodeUnknownField   = "unknown_field"
	CodeImmutableField = "immutable_field"
	// CodeDuplicateKey: a JSON object of the body repeats a key.
	CodeDuplicateKey = "duplicate_key"
)

// MaxLatencyMs is the largest latency an event may carry: 1e9 ms, about
// 11.6 days, longer than any call, request or agent run an event describes.
// Without a bound one value such as 1e308 turns every sum or average it
// enters into +Inf and a p95 into 1e+308; under it, a sum over 10^9 events
// stays below 10^18 and a latency prints as a plain JSON number.
const MaxLatencyMs = 1e9

// ValidationError says which field of an operation is wrong and why.
type ValidationError struct {
	Code    string
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(code, field, format string, args ...any) *ValidationError {
	return &ValidationError{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limits bound what one operation may carry.
type Limits struct {
	MaxIDBytes        int `mapstructure:"max_id_bytes"`
	MaxKeyFieldBytes  int `mapstructure:"max_key_field_bytes"`  // conversation_id and event_name
	MaxTextFieldBytes int `mapstructure:"max_text_field_bytes"` // input, output and error
	MaxAttributes     int `mapstructure:"max_attributes"`
	MaxAttributeBytes int `mapstructure:"max_attribute_bytes"` // per key and per value
}

// DefaultLimits are the limits documented in docs/api.md.
func DefaultLimits() Limits {
	return Limits{
		MaxIDBytes:        128,
		MaxKeyFieldBytes:  1024,
		MaxTextFieldBytes: 1 << 20,
		MaxAttributes:     128,
		MaxAttributeBytes: 4096,
	}
}

// The timestamps every supported ClickHouse version can store (DateTime ends
// in 2106). The epoch itself is excluded: a log record's timestamp 0 means
// "unset", so it would not survive the trip through the pipeline.
var (
	MinTimestamp = time.UnixMilli(1).UTC()
	MaxTimestamp = time.Date(2105, 12, 31, 23, 59, 59, 999_000_000, time.UTC)
)

// ErrInvalidID is returned by ValidateID.
var ErrInvalidID = errors.New("invalid id")

// ValidateID checks an event id against the limits.
func (l Limits) ValidateID(id string) *ValidationError {
	switch {
	case id == "":
		return invalid(CodeInvalidField, "id", "must not be empty")
	case len(id) > l.MaxIDBytes:
		return invalid(CodeInvalidField, "id", "must be at most %d bytes, got %d", l.MaxIDBytes, len(id))
	case !utf8.ValidString(id):
		return invalid(CodeInvalidField, "id", "must be valid UTF-8")
	}
	return nil
}

// ValidTimestamp checks that t can be stored.
func ValidTimestamp(t time.Time) bool {
	return !t.Before(MinTimestamp) && !t.After(MaxTimestamp)
}

// Validate checks an operation against the limits: required fields for a
// create, immutable fields for an update, sizes, ranges and UTF-8.
func (l Limits) Validate(op *Operation) *ValidationError {
	if op.Op < OpCreate || op.Op > OpDelete {
		return invalid(CodeInvalidField, "op", "must be create, update or delete")
	}
	if err := l.ValidateID(op.ID); err != nil {
		return err
	}
	switch op.Op {
	case OpDelete:
		return nil
	case OpUpdate:
		if op.Set.Has(FieldConversationID) {
			return invalid(CodeImmutableField, "conversation_id", "cannot be changed by an update")
		}
		if op.Set.Has(FieldTimestamp) {
			return invalid(CodeImmutableField, "timestamp", "cannot be changed by an update")
		}
	case OpCreate:
		if op.ConversationID == "" {
			return invalid(CodeMissingField, "conversation_id", "required")
		}
		if op.Name == "" {
			return invalid(CodeMissingField, "event_name", "required")
		}
	}
	if err := l.validateString("conversation_id", op.ConversationID, l.MaxKeyFieldBytes); err != nil {
		return err
	}
	if op.Set.Has(FieldName) {
		if op.Name == "" {
			return invalid(CodeMissingField, "event_name", "must not be empty")
		}
		if err := l.validateString("event_name", op.Name, l.MaxKeyFieldBytes); err != nil {
			return err
		}
	}
	for _, f := range [...]struct {
		name, value string
	}{{"input", op.Input}, {"output", op.Output}, {"error", op.Error}} {
		if err := l.validateString(f.name, f.value, l.MaxTextFieldBytes); err != nil {
			return err
		}
	}
	if math.IsNaN(op.LatencyMs) || op.LatencyMs < 0 || op.LatencyMs > MaxLatencyMs {
		return invalid(CodeInvalidField, "latency", "must be a number of milliseconds between 0 and %g", float64(MaxLatencyMs))
	}
	if err := l.validateGeneration(&op.Generation); err != nil {
		return err
	}
	if op.Set.Has(FieldTimestamp) && !ValidTimestamp(op.Timestamp) {
		return invalid(CodeInvalidField, "timestamp", "must be between %s and %s",
			MinTimestamp.Format(time.RFC3339Nano), MaxTimestamp.Format(time.RFC3339Nano))
	}
	if len(op.Attributes) > l.MaxAttributes {
		return invalid(CodeInvalidField, "attributes", "at most %d attributes, got %d", l.MaxAttributes, len(op.Attributes))
	}
	for _, a := range op.Attributes {
		if a.Key == "" {
			return invalid(CodeInvalidField, "attributes", "keys must not be empty")
		}
		if err := l.validateString("attributes", a.Key, l.MaxAttributeBytes); err != nil {
			return err
		}
		if err := l.validateString("attributes."+a.Key, a.Value, l.MaxAttributeBytes); err != nil {
			return err
		}
	}
	return nil
}

// MaxTokens bounds each token count: far above any real call, and below
// 2^53 so that every count survives a JSON number.
const MaxTokens = 1 << 53

// validateGeneration checks the LLM call fields (all optional).
func (l Limits) validateGeneration(g *Generation) *ValidationError {
	for _, f := range [...]struct {
		name, value string
	}{{"model", g.Model}, {"provider", g.Provider}, {"operation", g.Operation}, {"finish_reason", g.FinishReason}} {
		if err := l.validateString(f.name, f.value, l.MaxKeyFieldBytes); err != nil {
			return err
		}
	}
	for _, f := range [...]struct {
		name  string
		value uint64
	}{
		{"input_tokens", g.InputTokens}, {"output_tokens", g.OutputTokens},
		{"cache_read_tokens", g.CacheReadTokens}, {"cache_creation_tokens", g.CacheCreationTokens},
		{"reasoning_tokens", g.ReasoningTokens},
	} {
		if f.value > MaxTokens {
			return invalid(CodeInvalidField, f.name, "must be an integer between 0 and %d", uint64(MaxTokens))
		}
	}
	if math.IsNaN(g.TimeToFirstTokenMs) || math.IsInf(g.TimeToFirstTokenMs, 0) || g.TimeToFirstTokenMs < 0 {
		return invalid(CodeInvalidField, "time_to_first_token", "must be a finite number >= 0")
	}
	if !hexID(g.TraceID, 32) {
		return invalid(CodeInvalidField, "trace_id", "must be 32 lowercase hex digits (or empty)")
	}
	if !hexID(g.SpanID, 16) {
		return invalid(CodeInvalidField, "span_id", "must be 16 lowercase hex digits (or empty)")
	}
	return nil
}

// hexID reports an empty string or n lowercase hex digits (the W3C
// traceparent's form of trace and span ids).
func hexID(s string, n int) bool {
	if s == "" {
		return true
	}
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

func (l Limits) validateString(field, value string, maxBytes int) *ValidationError {
	if len(value) > maxBytes {
		return invalid(CodeInvalidField, field, "must be at most %d bytes, got %d", maxBytes, len(value))
	}
	if !utf8.ValidString(value) {
		return invalid(CodeInvalidField, field, "must be valid UTF-8")
	}
	return nil
}

// CheckRange reports every limit outside [floor, DefaultLimits()]: a
// component may lower a limit, never raise it past what the exporter
// enforces (it would drop what the component let through).
func (l Limits) CheckRange(floor Limits) error {
	defaults := DefaultLimits()
	var errs []error
	for _, c := range [...]struct {
		name            string
		value, min, max int
	}{
		{"max_id_bytes", l.MaxIDBytes, floor.MaxIDBytes, defaults.MaxIDBytes},
		{"max_key_field_bytes", l.MaxKeyFieldBytes, floor.MaxKeyFieldBytes, defaults.MaxKeyFieldBytes},
		{"max_text_field_bytes", l.MaxTextFieldBytes, floor.MaxTextFieldBytes, defaults.MaxTextFieldBytes},
		{"max_attributes", l.MaxAttributes, floor.MaxAttributes, defaults.MaxAttributes},
		{"max_attribute_bytes", l.MaxAttributeBytes, floor.MaxAttributeBytes, defaults.MaxAttributeBytes},
	} {
		if c.value < c.min || c.value > c.max {
			errs = append(errs, fmt.Errorf("limits::%s: must be between %d and %d, got %d", c.name, c.min, c.max, c.value))
		}
	}
	return errors.Join(errs...)
}
