package clickhouseeventsexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// poisonMarker makes the engine refuse the insert of any row whose input
// holds it (poisonInserts).
const poisonMarker = "poison-marker"

// poisonInserts makes store's engine refuse every insert that carries an
// input holding poisonMarker, before anything of the insert is written: a
// MATERIALIZED column of event_state (the first table an insert writes) that
// throws, computed before the block is stored. It stands for any value the
// engine cannot take.
func poisonInserts(t *testing.T, store *storage.Store) {
	t.Helper()
	err := store.Exec(context.Background(), "ALTER TABLE "+store.Database()+
		".event_state ADD COLUMN poison_check UInt8 MATERIALIZED throwIf(position(input, ?) > 0)", poisonMarker)
	if err != nil {
		t.Fatal(err)
	}
}

// TestPoisonOperationsGoToDeadLetters: a batch that mixes good operations
// with operations the engine refuses stores every good one and dead-letters
// exactly the others, whole, with the engine's error; so does a record that
// is not a canonical event.
func TestPoisonOperationsGoToDeadLetters(t *testing.T) {
	forEachEngine(t, "exporter_poison", func(t *testing.T, cfg *Config) {
		ctx := context.Background()
		store, err := storage.Open(ctx, cfg.Config)
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		poisonInserts(t, store)
		exp := startWithoutQueue(t, cfg)

		clock := event.NewClock()
		ts := time.Now().UTC().Truncate(time.Millisecond)
		create := func(id, input string) event.Operation {
			return event.Operation{Op: event.OpCreate, ID: id, Version: clock.Next(), Set: event.AllFields,
				Event: event.Event{ConversationID: "conv", Name: "n", Timestamp: ts, Input: input, LatencyMs: 1}}
		}
		// A first push stores "victim", which a later update poisons.
		first, lrs := event.NewLogs()
		victim := create("victim", "fine")
		victim.MarshalLogRecord(lrs.AppendEmpty(), ts)
		if err := exp.ConsumeLogs(ctx, first); err != nil {
			t.Fatal(err)
		}

		ld, lrs := event.NewLogs()
		var good []string
		poison := map[string]bool{}
		for i := range 40 {
			id := fmt.Sprintf("op-%02d", i)
			input := "it's fine " + id
			if i == 3 || i == 17 || i == 18 {
				input = "it's " + poisonMarker
				poison[id] = true
			} else {
				good = append(good, id)
			}
			op := create(id, input)
			op.MarshalLogRecord(lrs.AppendEmpty(), ts)
		}
		poisonUpdate := event.Operation{Op: event.OpUpdate, ID: "victim", Version: clock.Next(),
			Set: event.Fields(0).With(event.FieldInput), Event: event.Event{Input: poisonMarker}}
		poisonUpdate.MarshalLogRecord(lrs.AppendEmpty(), ts)
		goodUpdate := event.Operation{Op: event.OpUpdate, ID: "victim", Version: clock.Next(),
			Set: event.Fields(0).With(event.FieldError), Event: event.Event{Error: "late error"}}
		goodUpdate.MarshalLogRecord(lrs.AppendEmpty(), ts)
		lrs.AppendEmpty().Attributes().PutStr("not", "canonical")
		if err := exp.ConsumeLogs(ctx, ld); err != nil {
			t.Fatalf("a batch with poison must be stored, not failed: %v", err)
		}
		if err := exp.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}

		for _, id := range good {
			got, err := store.Event(ctx, id)
			if err != nil || got.Input != "it's fine "+id {
				t.Errorf("good operation %s: %+v, %v", id, got, err)
			}
		}
		for id := range poison {
			if _, err := store.Event(ctx, id); !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("poison operation %s: err = %v, want not found", id, err)
			}
		}
		got, err := store.Event(ctx, "victim")
		if err != nil || got.Input != "fine" || got.Error != "late error" {
			t.Errorf("victim after a refused and a good update: %+v, %v", got, err)
		}

		letters, err := store.DeadLetters(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, l := range letters {
			ids = append(ids, l.ID)
			if l.ID == "" {
				if !strings.Contains(string(l.Payload), `"not"`) || !strings.Contains(l.Error, "not a canonical event record") {
					t.Errorf("dead letter of the non-canonical record: %s (%s)", l.Payload, l.Error)
				}
				continue
			}
			var op storage.DeadOperation
			if err := json.Unmarshal(l.Payload, &op); err != nil {
				t.Fatalf("dead letter %s: %v", l.ID, err)
			}
			if op.ID != l.ID || op.Version != l.Version || !strings.Contains(op.Input, poisonMarker) ||
				!strings.Contains(l.Error, "throwIf") {
				t.Errorf("dead letter %s: %+v, error %q", l.ID, op, l.Error)
			}
			if l.ID == "victim" && (op.Op != "update" || !slices.Equal(op.Fields, []string{"input"})) {
				t.Errorf("dead letter of the update: %+v", op)
			}
		}
		slices.Sort(ids)
		want := []string{"", "op-03", "op-17", "op-18", "victim"}
		if !slices.Equal(ids, want) {
			t.Fatalf("dead letters %q, want %q", ids, want)
		}
	})
}
