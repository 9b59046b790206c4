package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// Attribute keys of a canonical event log record. A record is canonical when
// it carries AttrOp; the fields it sets are exactly the attributes present.
const (
	AttrOp             = "event.op"
	AttrID             = "event.id"
	AttrVersion        = "event.version"
	AttrConversationID = "event.conversation_id"
	AttrName           = "event.name"
	AttrInput          = "event.input"
	AttrOutput         = "event.output"
	AttrLatency        = "event.latency_ms"
	AttrError          = "event.error"
	AttrAttributes     = "event.attributes"

	AttrModel               = "event.model"
	AttrProvider            = "event.provider"
	AttrOperation           = "event.operation"
	AttrInputTokens         = "event.input_tokens"
	AttrOutputTokens        = "event.output_tokens"
	AttrCacheReadTokens     = "event.cache_read_tokens"
	AttrCacheCreationTokens = "event.cache_creation_tokens"
	AttrReasoningTokens     = "event.reasoning_tokens"
	AttrTimeToFirstToken    = "event.time_to_first_token_ms"
	AttrFinishReason        = "event.finish_reason"
	AttrTraceID             = "event.trace_id"
	AttrSpanID              = "event.span_id"
)

// generationStrings and generationCounts are the string and the token
// fields of Generation with their record attributes.
var (
	generationStrings = [...]struct {
		field Field
		attr  string
		get   func(*Generation) *string
	}{
		{FieldModel, AttrModel, func(g *Generation) *string { return &g.Model }},
		{FieldProvider, AttrProvider, func(g *Generation) *string { return &g.Provider }},
		{FieldOperation, AttrOperation, func(g *Generation) *string { return &g.Operation }},
		{FieldFinishReason, AttrFinishReason, func(g *Generation) *string { return &g.FinishReason }},
		{FieldTraceID, AttrTraceID, func(g *Generation) *string { return &g.TraceID }},
		{FieldSpanID, AttrSpanID, func(g *Generation) *string { return &g.SpanID }},
	}
	generationCounts = [...]struct {
		field Field
		attr  string
		get   func(*Generation) *uint64
	}{
		{FieldInputTokens, AttrInputTokens, func(g *Generation) *uint64 { return &g.InputTokens }},
		{FieldOutputTokens, AttrOutputTokens, func(g *Generation) *uint64 { return &g.OutputTokens }},
		{FieldCacheReadTokens, AttrCacheReadTokens, func(g *Generation) *uint64 { return &g.CacheReadTokens }},
		{FieldCacheCreationTokens, AttrCacheCreationTokens, func(g *Generation) *uint64 { return &g.CacheCreationTokens }},
		{FieldReasoningTokens, AttrReasoningTokens, func(g *Generation) *uint64 { return &g.ReasoningTokens }},
	}
)

// ScopeName is the instrumentation scope of the records this project makes.
const ScopeName = "github.com/otelcol-events/otelcol-events"

// ErrNotCanonical is returned for a log record that carries no event.op.
var ErrNotCanonical = errors.New("not a canonical event record: no " + AttrOp + " attribute")

// NewLogs returns an empty Logs with one resource and one scope named
// ScopeName, and the record slice to append to.
func NewLogs() (plog.Logs, plog.LogRecordSlice) {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(ScopeName)
	return ld, sl.LogRecords()
}

// MarshalLogRecord writes op into lr. The event timestamp travels as the
// record's timestamp; the observed timestamp is when the operation was made.
func (op *Operation) MarshalLogRecord(lr plog.LogRecord, observed time.Time) {
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(observed))
	lr.SetEventName("event." + op.Op.String())
	attrs := lr.Attributes()
	attrs.EnsureCapacity(4 + int(NumFields))
	attrs.PutStr(AttrOp, op.Op.String())
	attrs.PutStr(AttrID, op.ID)
	attrs.PutInt(AttrVersion, int64(op.Version))
	if op.Set.Has(FieldTimestamp) {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(op.Timestamp))
	}
	if op.Set.Has(FieldConversationID) {
		attrs.PutStr(AttrConversationID, op.ConversationID)
	}
	if op.Set.Has(FieldName) {
		attrs.PutStr(AttrName, op.Name)
	}
	if op.Set.Has(FieldInput) {
		attrs.PutStr(AttrInput, op.Input)
	}
	if op.Set.Has(FieldOutput) {
		attrs.PutStr(AttrOutput, op.Output)
	}
	if op.Set.Has(FieldLatency) {
		attrs.PutDouble(AttrLatency, op.LatencyMs)
	}
	if op.Set.Has(FieldError) {
		attrs.PutStr(AttrError, op.Error)
	}
	if op.Set.Has(FieldAttributes) {
		m := attrs.PutEmptyMap(AttrAttributes)
		m.EnsureCapacity(len(op.Attributes))
		for _, a := range op.Attributes {
			m.PutStr(a.Key, a.Value)
		}
	}
	// The LLM call fields travel only when set to a value: a create without
	// them (every event of the original API) stays as small as before, and
	// UnmarshalLogRecord gives a create every field anyway.
	g := &op.Generation
	for _, f := range generationStrings {
		if v := *f.get(g); op.Set.Has(f.field) && (v != "" || op.Op == OpUpdate) {
			attrs.PutStr(f.attr, v)
		}
	}
	for _, f := range generationCounts {
		if v := *f.get(g); op.Set.Has(f.field) && (v != 0 || op.Op == OpUpdate) {
			attrs.PutInt(f.attr, int64(v))
		}
	}
	if op.Set.Has(FieldTimeToFirstToken) && (g.TimeToFirstTokenMs != 0 || op.Op == OpUpdate) {
		attrs.PutDouble(AttrTimeToFirstToken, g.TimeToFirstTokenMs)
	}
}

// unmarshalGeneration reads the LLM call attribute k into op; it reports
// false when k is not one of them.
func unmarshalGeneration(op *Operation, k string, v pcommon.Value) (bool, error) {
	for _, f := range generationStrings {
		if k == f.attr {
			s, err := str(k, v)
			*f.get(&op.Generation) = s
			op.Set = op.Set.With(f.field)
			return true, err
		}
	}
	for _, f := range generationCounts {
		if k == f.attr {
			if v.Type() != pcommon.ValueTypeInt || v.Int() < 0 {
				return true, fmt.Errorf("%s: must be a non-negative integer", k)
			}
			*f.get(&op.Generation) = uint64(v.Int())
			op.Set = op.Set.With(f.field)
			return true, nil
		}
	}
	if k == AttrTimeToFirstToken {
		switch v.Type() {
		case pcommon.ValueTypeDouble:
			op.TimeToFirstTokenMs = v.Double()
		case pcommon.ValueTypeInt:
			op.TimeToFirstTokenMs = float64(v.Int())
		default:
			return true, fmt.Errorf("%s: must be a number", k)
		}
		op.Set = op.Set.With(FieldTimeToFirstToken)
		return true, nil
	}
	return false, nil
}

// UnmarshalLogRecord reads a canonical event record. It checks the encoding
// (types, presence of op, id and version), not the limits: callers run
// Limits.Validate when the record may come from outside this project.
func UnmarshalLogRecord(lr plog.LogRecord) (Operation, error) {
	var op Operation
	attrs := lr.Attributes()
	opVal, ok := attrs.Get(AttrOp)
	if !ok {
		return op, ErrNotCanonical
	}
	if op.Op = ParseOp(opVal.Str()); op.Op == 0 {
		return op, fmt.Errorf("%s: unknown operation %q", AttrOp, opVal.AsString())
	}
	var err error
	attrs.Range(func(k string, v pcommon.Value) bool {
		switch k {
		case AttrOp:
		case AttrID:
			op.ID, err = str(k, v)
		case AttrVersion:
			if v.Type() != pcommon.ValueTypeInt || v.Int() <= 0 {
				err = fmt.Errorf("%s: must be a positive integer", k)
			}
			op.Version = uint64(v.Int())
		case AttrConversationID:
			op.ConversationID, err = str(k, v)
			op.Set = op.Set.With(FieldConversationID)
		case AttrName:
			op.Name, err = str(k, v)
			op.Set = op.Set.With(FieldName)
		case AttrInput:
			op.Input, err = str(k, v)
			op.Set = op.Set.With(FieldInput)
		case AttrOutput:
			op.Output, err = str(k, v)
			op.Set = op.Set.With(FieldOutput)
		case AttrError:
			op.Error, err = str(k, v)
			op.Set = op.Set.With(FieldError)
		case AttrLatency:
			switch v.Type() {
			case pcommon.ValueTypeDouble:
				op.LatencyMs = v.Double()
			case pcommon.ValueTypeInt:
				op.LatencyMs = float64(v.Int())
			default:
				err = fmt.Errorf("%s: must be a number", k)
			}
			op.Set = op.Set.With(FieldLatency)
		case AttrAttributes:
			if v.Type() != pcommon.ValueTypeMap {
				err = fmt.Errorf("%s: must be a map", k)
				break
			}
			op.Attributes = make([]Attribute, 0, v.Map().Len())
			v.Map().Range(func(ak string, av pcommon.Value) bool {
				op.Attributes = append(op.Attributes, Attribute{Key: ak, Value: av.AsString()})
				return true
			})
			SortAttributes(op.Attributes)
			op.Set = op.Set.With(FieldAttributes)
		default:
			_, err = unmarshalGeneration(&op, k, v)
		}
		return err == nil
	})
	if err != nil {
		return op, err
	}
	if op.ID == "" {
		return op, fmt.Errorf("%s: required", AttrID)
	}
	if op.Version == 0 {
		return op, fmt.Errorf("%s: required", AttrVersion)
	}
	switch op.Op {
	case OpCreate:
		if ts := lr.Timestamp(); ts != 0 {
			op.Timestamp = ts.AsTime().UTC()
		} else {
			op.Timestamp = lr.ObservedTimestamp().AsTime().UTC()
		}
		op.Set = AllFields
	case OpDelete:
		op.Set = 0
	}
	return op, nil
}

func str(key string, v pcommon.Value) (string, error) {
	if v.Type() != pcommon.ValueTypeStr {
		return "", fmt.Errorf("%s: must be a string, got %s", key, v.Type())
	}
	return v.Str(), nil
}

// Present reports whether an attribute value counts as given: empty values
// and empty strings do not (the normalizer's and the connector's aliases).
func Present(v pcommon.Value) bool {
	switch v.Type() {
	case pcommon.ValueTypeEmpty:
		return false
	case pcommon.ValueTypeStr:
		return v.Str() != ""
	default:
		return true
	}
}
