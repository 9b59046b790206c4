package event // import "github.com/otelcol-events/otelcol-events/internal/event"

// State is the stored, merged state of one event id.
//
// Every field is a last-writer-wins register keyed by the rank of the
// operation that set it (updates above creates, then by version), and a
// delete is a final tombstone. Apply is therefore commutative and idempotent:
// replays, duplicates and operations that arrive out of order (an update
// before its create) end in the same state whatever the order.
type State struct {
	ID string
	// Revision counts the stored changes of this state; storage keeps the row
	// with the highest revision. It is not the operation version because a
	// late create can change a state without raising its highest version.
	Revision uint64
	// Version is the highest operation version applied.
	Version uint64
	// Created reports whether a create has been applied: an update that came
	// first is kept but stays invisible until its create arrives.
	Created bool
	Deleted bool
	// FieldVersions holds, per Field, the rank of the operation that set it:
	// its version, with updateRank added for an update.
	FieldVersions [NumFields]uint64
	// Writes counts the distinct writes applied (the version reads return,
	// see writes.go); WriteHashes holds the hashes of the latest of them, in
	// the order they came.
	Writes      uint64
	WriteHashes []uint64
	Event
}

// Visible reports whether reads and aggregates see the event.
func (s *State) Visible() bool { return s.Created && !s.Deleted }

// Apply merges op into the state and reports whether the state changed.
func (s *State) Apply(op *Operation) bool {
	if s.Deleted {
		return false
	}
	if op.Op == OpDelete {
		s.Deleted = true
		s.Version = max(s.Version, op.Version)
		return true
	}
	set := op.appliedFields()
	// A write counts whether or not its fields win: the count must not
	// depend on the order writes arrive in.
	changed := s.addWrite(op)
	if op.Op == OpCreate && !s.Created {
		s.Created = true
		changed = true
	}
	rank := fieldRank(op)
	for f := range NumFields {
		if !set.Has(f) || rank <= s.FieldVersions[f] {
			continue
		}
		s.FieldVersions[f] = rank
		s.setField(f, &op.Event)
		changed = true
	}
	if changed {
		s.Version = max(s.Version, op.Version)
	}
	return changed
}

// updateRank is set in the field rank of updates: an update is a patch on
// the create, so its fields win over the create's whatever their versions
// (versions are Unix nanoseconds, far below 2^63). Among updates, and among
// creates of the same id, the newer version wins.
const updateRank = 1 << 63

func fieldRank(op *Operation) uint64 {
	if op.Op == OpUpdate {
		return op.Version | updateRank
	}
	return op.Version
}

func (s *State) setField(f Field, from *Event) {
	switch f {
	case FieldConversationID:
		s.ConversationID = from.ConversationID
	case FieldName:
		s.Name = from.Name
	case FieldTimestamp:
		s.Timestamp = from.Timestamp
	case FieldInput:
		s.Input = from.Input
	case FieldOutput:
		s.Output = from.Output
	case FieldLatency:
		s.LatencyMs = from.LatencyMs
	case FieldError:
		s.Error = from.Error
	case FieldAttributes:
		s.Attributes = from.Attributes
	case FieldModel:
		s.Model = from.Model
	case FieldProvider:
		s.Provider = from.Provider
	case FieldOperation:
		s.Operation = from.Operation
	case FieldInputTokens:
		s.InputTokens = from.InputTokens
	case FieldOutputTokens:
		s.OutputTokens = from.OutputTokens
	case FieldCacheReadTokens:
		s.CacheReadTokens = from.CacheReadTokens
	case FieldCacheCreationTokens:
		s.CacheCreationTokens = from.CacheCreationTokens
	case FieldReasoningTokens:
		s.ReasoningTokens = from.ReasoningTokens
	case FieldTimeToFirstToken:
		s.TimeToFirstTokenMs = from.TimeToFirstTokenMs
	case FieldFinishReason:
		s.FinishReason = from.FinishReason
	case FieldTraceID:
		s.TraceID = from.TraceID
	case FieldSpanID:
		s.SpanID = from.SpanID
	}
}

// SameAnalytics reports whether two visible states produce the same
// analytics row (the fields aggregates read), so that a change which touches
// none of them writes nothing there.
func (e *Event) SameAnalytics(o *Event) bool {
	return e.ConversationID == o.ConversationID && e.Name == o.Name && e.Timestamp.Equal(o.Timestamp) &&
		e.LatencyMs == o.LatencyMs && (e.Error == "") == (o.Error == "") &&
		e.Model == o.Model && e.InputTokens == o.InputTokens && e.OutputTokens == o.OutputTokens &&
		e.CacheReadTokens == o.CacheReadTokens && e.CacheCreationTokens == o.CacheCreationTokens &&
		e.ReasoningTokens == o.ReasoningTokens && e.Cost == o.Cost
}

// SameRow reports whether two events have equal fields.
func (e *Event) SameRow(o *Event) bool {
	return e.SameAnalytics(o) && e.Error == o.Error && e.Input == o.Input && e.Output == o.Output &&
		attributesEqual(e.Attributes, o.Attributes) && e.Generation == o.Generation
}

// UsageChanged reports whether the fields the cost derives from differ.
func (e *Event) UsageChanged(o *Event) bool {
	return e.Model != o.Model || e.InputTokens != o.InputTokens || e.OutputTokens != o.OutputTokens ||
		e.CacheReadTokens != o.CacheReadTokens || e.CacheCreationTokens != o.CacheCreationTokens
}
