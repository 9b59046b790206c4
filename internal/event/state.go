package event // import "github.com/otelcol-events/otelcol-events/internal/event"

// State is the stored, merged state of one event id.
//
// Every field is a last-writer-wins register keyed by the version of the
// operation that set it, and a delete is a final tombstone. Apply is
// therefore commutative and idempotent: replays, duplicates and operations
// that arrive out of order (an update before its create) end in the same
// state as the ordered sequence.
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
	// FieldVersions holds, per Field, the version of the operation that set it.
	FieldVersions [NumFields]uint64
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
	set := op.Set
	if op.Op == OpUpdate {
		set &= MutableFields
	}
	changed := false
	if op.Op == OpCreate && !s.Created {
		s.Created = true
		changed = true
	}
	for f := range NumFields {
		if !set.Has(f) || op.Version <= s.FieldVersions[f] {
			continue
		}
		s.FieldVersions[f] = op.Version
		s.setField(f, &op.Event)
		changed = true
	}
	if changed {
		s.Version = max(s.Version, op.Version)
	}
	return changed
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
	}
}

// SameAnalytics reports whether two visible states produce the same
// analytics row (the fields aggregates read), so that a change which touches
// none of them writes nothing there.
func (e *Event) SameAnalytics(o *Event) bool {
	return e.ConversationID == o.ConversationID && e.Name == o.Name && e.Timestamp.Equal(o.Timestamp) &&
		e.LatencyMs == o.LatencyMs && (e.Error == "") == (o.Error == "")
}

// SameRow reports whether two events have equal fields.
func (e *Event) SameRow(o *Event) bool {
	return e.SameAnalytics(o) && e.Error == o.Error && e.Input == o.Input && e.Output == o.Output &&
		attributesEqual(e.Attributes, o.Attributes)
}
