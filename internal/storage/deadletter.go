package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// DeadLetter is something the exporter could not store and keeps for an
// operator: an operation the engine refused on its own, or a record that is
// not a canonical event.
type DeadLetter struct {
	StoredAt time.Time
	// ID and Version are the operation's, when it has them.
	ID      string
	Version uint64
	// Payload is the operation as JSON (see DeadOperation), or the record as
	// OTLP JSON.
	Payload json.RawMessage
	Error   string
}

// DeadOperation is the JSON form of a dead-lettered operation: every field
// it carried, so that an operator can read it and send it again.
type DeadOperation struct {
	Op             string            `json:"op"`
	ID             string            `json:"id"`
	Version        uint64            `json:"version"`
	Fields         []string          `json:"fields,omitempty"`
	ConversationID string            `json:"conversation_id,omitempty"`
	EventName      string            `json:"event_name,omitempty"`
	TimestampMs    int64             `json:"timestamp_ms,omitempty"`
	Input          string            `json:"input,omitempty"`
	Output         string            `json:"output,omitempty"`
	Latency        float64           `json:"latency,omitempty"`
	Error          string            `json:"error,omitempty"`
	Attributes     map[string]string `json:"attributes,omitempty"`

	Model               string  `json:"model,omitempty"`
	Provider            string  `json:"provider,omitempty"`
	Operation           string  `json:"operation,omitempty"`
	InputTokens         uint64  `json:"input_tokens,omitempty"`
	OutputTokens        uint64  `json:"output_tokens,omitempty"`
	CacheReadTokens     uint64  `json:"cache_read_tokens,omitempty"`
	CacheCreationTokens uint64  `json:"cache_creation_tokens,omitempty"`
	ReasoningTokens     uint64  `json:"reasoning_tokens,omitempty"`
	TimeToFirstToken    float64 `json:"time_to_first_token,omitempty"`
	FinishReason        string  `json:"finish_reason,omitempty"`
	TraceID             string  `json:"trace_id,omitempty"`
	SpanID              string  `json:"span_id,omitempty"`
}

// fieldNames are the API's names of event.Field values.
var fieldNames = [event.NumFields]string{
	"conversation_id", "event_name", "timestamp", "input", "output", "latency", "error", "attributes",
	"model", "provider", "operation", "input_tokens", "output_tokens", "cache_read_tokens",
	"cache_creation_tokens", "reasoning_tokens", "time_to_first_token", "finish_reason", "trace_id", "span_id",
}

// OperationDeadLetter is the dead letter of op, refused with cause.
func OperationDeadLetter(op *event.Operation, cause error) DeadLetter {
	d := DeadOperation{Op: op.Op.String(), ID: op.ID, Version: op.Version}
	for f := range event.NumFields {
		if op.Set.Has(f) {
			d.Fields = append(d.Fields, fieldNames[f])
		}
	}
	d.ConversationID, d.EventName, d.Input, d.Output, d.Latency, d.Error =
		op.ConversationID, op.Name, op.Input, op.Output, op.LatencyMs, op.Error
	g := &op.Generation
	d.Model, d.Provider, d.Operation, d.FinishReason, d.TraceID, d.SpanID =
		g.Model, g.Provider, g.Operation, g.FinishReason, g.TraceID, g.SpanID
	d.InputTokens, d.OutputTokens, d.CacheReadTokens, d.CacheCreationTokens, d.ReasoningTokens =
		g.InputTokens, g.OutputTokens, g.CacheReadTokens, g.CacheCreationTokens, g.ReasoningTokens
	d.TimeToFirstToken = g.TimeToFirstTokenMs
	if !op.Timestamp.IsZero() {
		d.TimestampMs = op.Timestamp.UnixMilli()
	}
	if len(op.Attributes) > 0 {
		d.Attributes = make(map[string]string, len(op.Attributes))
		for _, a := range op.Attributes {
			d.Attributes[a.Key] = a.Value
		}
	}
	// The operation passed validation: its strings are valid UTF-8 and its
	// latency finite, so it always encodes.
	body, _ := json.Marshal(d)
	return DeadLetter{ID: op.ID, Version: op.Version, Payload: body, Error: cause.Error()}
}

// StoreDeadLetters writes letters to the dead_letters table, stamped with
// now. It fails only when the engine cannot take an insert at all; the
// caller then keeps what it holds and tries again later.
func (s *Store) StoreDeadLetters(ctx context.Context, letters []DeadLetter, now time.Time) error {
	if len(letters) == 0 {
		return nil
	}
	n := len(letters)
	at, ids, versions := make([]int64, n), make([]string, n), make([]uint64, n)
	payloads, errs := make([]string, n), make([]string, n)
	for i, l := range letters {
		at[i], ids[i], versions[i] = now.UnixMilli(), l.ID, l.Version
		payloads[i], errs[i] = string(l.Payload), l.Error
	}
	columns := []Column{
		{"stored_at_ms", at}, {"id", ids}, {"version", versions}, {"operation", payloads}, {"error", errs},
	}
	if err := s.conn.Insert(ctx, s.dialect.Database+".dead_letters", columns); err != nil {
		return fmt.Errorf("write %d dead letters: %w", n, err)
	}
	return nil
}

// DeadLetters returns up to limit dead letters, newest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	rows, err := s.read(ctx, s.queries.deadLetters, limit)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	defer rows.Close()
	var out []DeadLetter
	for rows.Next() {
		var (
			d    DeadLetter
			ms   int64
			body string
		)
		if err := rows.Scan(&ms, &d.ID, &d.Version, &body, &d.Error); err != nil {
			return nil, fmt.Errorf("scan dead letter: %w", err)
		}
		d.StoredAt, d.Payload = timeOf(ms), json.RawMessage(body)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	return out, nil
}
