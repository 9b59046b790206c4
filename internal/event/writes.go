package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
)

// The version a read returns is the number of distinct writes an event has
// received: creates and updates, each identified by its content (what it
// sets and to what), not by when it was accepted. A replay, a redelivery and
// an identical re-post (the same body with the same id, the same span sent
// twice) are one write; the count is the same whatever the topology and the
// arrival order, since it is the size of a set. A state keeps the hashes of
// its latest MaxWriteHashes distinct writes to recognise them: a write
// identical to an older one than that counts again.
const MaxWriteHashes = 256

// WriteHash identifies the content of a create or update: its kind, the
// fields it sets and their values (not its id or version).
func (op *Operation) WriteHash() uint64 {
	h := fnv.New64a()
	var buf [8]byte
	str := func(s string) {
		binary.LittleEndian.PutUint64(buf[:], uint64(len(s)))
		_, _ = h.Write(buf[:])
		_, _ = h.Write([]byte(s))
	}
	num := func(v uint64) {
		binary.LittleEndian.PutUint64(buf[:], v)
		_, _ = h.Write(buf[:])
	}
	set := op.appliedFields()
	num(uint64(op.Op))
	num(uint64(set))
	for f := range NumFields {
		if !set.Has(f) {
			continue
		}
		switch f {
		case FieldConversationID:
			str(op.ConversationID)
		case FieldName:
			str(op.Name)
		case FieldTimestamp:
			num(uint64(op.Timestamp.UnixMilli()))
		case FieldInput:
			str(op.Input)
		case FieldOutput:
			str(op.Output)
		case FieldLatency:
			num(math.Float64bits(op.LatencyMs))
		case FieldError:
			str(op.Error)
		case FieldAttributes:
			num(uint64(len(op.Attributes)))
			for _, a := range op.Attributes {
				str(a.Key)
				str(a.Value)
			}
		case FieldModel:
			str(op.Model)
		case FieldProvider:
			str(op.Provider)
		case FieldOperation:
			str(op.Operation)
		case FieldInputTokens:
			num(op.InputTokens)
		case FieldOutputTokens:
			num(op.OutputTokens)
		case FieldCacheReadTokens:
			num(op.CacheReadTokens)
		case FieldCacheCreationTokens:
			num(op.CacheCreationTokens)
		case FieldReasoningTokens:
			num(op.ReasoningTokens)
		case FieldTimeToFirstToken:
			num(math.Float64bits(op.TimeToFirstTokenMs))
		case FieldFinishReason:
			str(op.FinishReason)
		case FieldTraceID:
			str(op.TraceID)
		case FieldSpanID:
			str(op.SpanID)
		}
	}
	return h.Sum64()
}

// appliedFields is the set of fields an operation can change.
func (op *Operation) appliedFields() Fields {
	if op.Op == OpUpdate {
		return op.Set & MutableFields
	}
	return op.Set
}

// addWrite records the write op; it reports whether the write is new.
func (s *State) addWrite(op *Operation) bool {
	h := op.WriteHash()
	if slices.Contains(s.WriteHashes, h) {
		return false
	}
	s.Writes++
	// Clipped: a copy of a State (the next state made from the stored one)
	// must not append into the array the original still uses.
	s.WriteHashes = append(slices.Clip(s.WriteHashes), h)
	if n := len(s.WriteHashes); n > MaxWriteHashes {
		s.WriteHashes = s.WriteHashes[n-MaxWriteHashes:]
	}
	return true
}
