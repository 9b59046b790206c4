package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"slices"
	"strings"
	"time"
)

// Op is the kind of an operation on an event.
type Op uint8

const (
	// OpCreate creates an event, or overwrites every field of an existing one
	// field by field when its version is newer.
	OpCreate Op = iota + 1
	// OpUpdate changes only the fields it carries (merge patch).
	OpUpdate
	// OpDelete soft-deletes an event; deletes are final.
	OpDelete
)

// String returns the name used on the wire and in log records.
func (o Op) String() string {
	switch o {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	default:
		return "unknown"
	}
}

// ParseOp is the inverse of Op.String; it returns 0 for an unknown name.
func ParseOp(s string) Op {
	switch s {
	case "create":
		return OpCreate
	case "update":
		return OpUpdate
	case "delete":
		return OpDelete
	default:
		return 0
	}
}

// Field identifies one settable field of an event.
type Field uint8

// The settable fields, in the order of State.FieldVersions.
const (
	FieldConversationID Field = iota
	FieldName
	FieldTimestamp
	FieldInput
	FieldOutput
	FieldLatency
	FieldError
	FieldAttributes
	// The LLM call fields (Generation), appended so that the field ranks
	// stored before they existed keep their positions.
	FieldModel
	FieldProvider
	FieldOperation
	FieldInputTokens
	FieldOutputTokens
	FieldCacheReadTokens
	FieldCacheCreationTokens
	FieldReasoningTokens
	FieldTimeToFirstToken
	FieldFinishReason
	FieldTraceID
	FieldSpanID
	NumFields
)

// Fields is a set of fields.
type Fields uint32

// AllFields is the set a create carries.
const AllFields Fields = 1<<NumFields - 1

// MutableFields may be changed by an update; the others belong to the
// storage sorting key and never change once an event exists.
const MutableFields = AllFields &^ (1<<FieldConversationID | 1<<FieldTimestamp)

// Has reports whether f is in the set.
func (s Fields) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns the set with f added.
func (s Fields) With(f Field) Fields { return s | 1<<f }

// Attribute is one client-supplied key/value pair.
type Attribute struct {
	Key   string
	Value string
}

// Event holds the client-visible fields of an event.
type Event struct {
	ConversationID string
	Name           string
	Timestamp      time.Time
	Input          string
	Output         string
	LatencyMs      float64
	Error          string
	// Attributes are kept sorted by key so that equal maps compare equal.
	Attributes []Attribute
	Generation
}

// Generation holds what an LLM call adds to an event: every field is
// optional (zero means not known). Cost is not a settable field: storage
// derives it from the model and the token counts (PriceTable) when they
// change.
type Generation struct {
	Model               string
	Provider            string
	Operation           string
	InputTokens         uint64
	OutputTokens        uint64
	CacheReadTokens     uint64
	CacheCreationTokens uint64
	ReasoningTokens     uint64
	// TimeToFirstTokenMs is the time to the first chunk of a streamed
	// response, in milliseconds.
	TimeToFirstTokenMs float64
	FinishReason       string
	// TraceID and SpanID link the event to the span it was recorded in, as
	// lowercase hex.
	TraceID string
	SpanID  string
	// Cost is in US dollars, computed at ingest.
	Cost float64
}

// Operation is one write a client asked for, stamped with an id and a version.
type Operation struct {
	Op      Op
	ID      string
	Version uint64
	// Set lists the fields the operation carries: AllFields for a create,
	// the fields sent for an update, none for a delete.
	Set Fields
	Event
}

// SortAttributes sorts attributes by key (stable for duplicates, which the
// decoders never produce).
func SortAttributes(attrs []Attribute) {
	slices.SortStableFunc(attrs, func(a, b Attribute) int { return strings.Compare(a.Key, b.Key) })
}

func attributesEqual(a, b []Attribute) bool {
	return slices.Equal(a, b)
}
