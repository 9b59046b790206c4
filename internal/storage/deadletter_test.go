package storage

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// TestOperationDeadLetterNamesEveryField: a dead letter lists every field its
// operation set by its API name, and carries the values of the LLM call
// fields too.
func TestOperationDeadLetterNamesEveryField(t *testing.T) {
	t.Parallel()
	op := event.Operation{Op: event.OpCreate, ID: "e1", Version: 7, Set: event.AllFields, Event: event.Event{
		ConversationID: "c", Name: "chat", Generation: event.Generation{Model: "gpt-4o", InputTokens: 11, SpanID: "b7ad6b7169203331"},
	}}
	d := OperationDeadLetter(&op, errors.New("refused"))
	var got DeadOperation
	if err := json.Unmarshal(d.Payload, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Fields) != int(event.NumFields) || slices.Contains(got.Fields, "") {
		t.Fatalf("fields %v", got.Fields)
	}
	sorted := slices.Clone(got.Fields)
	slices.Sort(sorted)
	if len(slices.Compact(sorted)) != len(got.Fields) {
		t.Fatalf("repeated field names: %v", got.Fields)
	}
	if got.Model != "gpt-4o" || got.InputTokens != 11 || got.SpanID != "b7ad6b7169203331" {
		t.Fatalf("payload %s", d.Payload)
	}
}
