package storage // import "github.com/otelcol-events/otelcol-events/internal/storage"

import (
	"context"
	"fmt"
	"time"
)

// nanoDollars is the unit the cost sums are netted in (see
// sql/select_model_usage.sql).
const nanoDollars = 1e9

// Usage is what the LLM calls of one model cost on one UTC day.
type Usage struct {
	Model               string
	Date                string // YYYY-MM-DD
	Calls               int64
	InputTokens         int64
	OutputTokens        int64
	CacheReadTokens     int64
	CacheCreationTokens int64
	ReasoningTokens     int64
	// Cost is in US dollars, to the nano-dollar.
	Cost float64
}

// ModelUsage returns the tokens and cost per model and UTC day of the calls
// at or after since, oldest day first, then by model; days without calls are
// absent. model "" means every model.
func (s *Store) ModelUsage(ctx context.Context, model string, since time.Time) ([]Usage, error) {
	rows, err := s.read(ctx, s.queries.modelUsage, model, model, since.Unix())
	if err != nil {
		return nil, fmt.Errorf("sum model usage: %w", err)
	}
	defer rows.Close()
	var out []Usage
	for rows.Next() {
		var (
			u             Usage
			day, costNano int64
		)
		if err := rows.Scan(&u.Model, &day, &u.Calls, &u.InputTokens, &u.OutputTokens, &u.CacheReadTokens,
			&u.CacheCreationTokens, &u.ReasoningTokens, &costNano); err != nil {
			return nil, fmt.Errorf("scan model usage: %w", err)
		}
		u.Date = time.Unix(day*24*60*60, 0).UTC().Format(time.DateOnly)
		u.Cost = float64(costNano) / nanoDollars
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum model usage: %w", err)
	}
	return out, nil
}

// ModelLatency is the latency and error rate of the LLM calls of a model.
type ModelLatency struct {
	Model  string
	P50    float64
	P95    float64
	Calls  uint64
	Errors int64
}

// ModelLatency returns the p50 and p95 latency and the errors per model of
// the calls at or after since (the zero time: all), by model name, at most
// limit models.
func (s *Store) ModelLatency(ctx context.Context, since time.Time, limit int) ([]ModelLatency, error) {
	var from int64
	if !since.IsZero() {
		from = since.Unix()
	}
	rows, err := s.read(ctx, s.queries.modelLatency, from, from, limit)
	if err != nil {
		return nil, fmt.Errorf("compute model latency: %w", err)
	}
	defer rows.Close()
	var out []ModelLatency
	for rows.Next() {
		var r ModelLatency
		if err := rows.Scan(&r.Model, &r.P50, &r.P95, &r.Calls, &r.Errors); err != nil {
			return nil, fmt.Errorf("scan model latency: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("compute model latency: %w", err)
	}
	return out, nil
}

// ConversationCost is the total of the LLM calls of one conversation.
type ConversationCost struct {
	ConversationID string
	Cost           float64
	Calls          int64
	InputTokens    int64
	OutputTokens   int64
}

// TopCostConversations returns the conversations with a cost, highest
// first, at most limit.
func (s *Store) TopCostConversations(ctx context.Context, limit int) ([]ConversationCost, error) {
	rows, err := s.read(ctx, s.queries.topCostConversations, limit)
	if err != nil {
		return nil, fmt.Errorf("rank conversations by cost: %w", err)
	}
	defer rows.Close()
	var out []ConversationCost
	for rows.Next() {
		var (
			r        ConversationCost
			costNano int64
		)
		if err := rows.Scan(&r.ConversationID, &costNano, &r.Calls, &r.InputTokens, &r.OutputTokens); err != nil {
			return nil, fmt.Errorf("scan conversation cost: %w", err)
		}
		r.Cost = float64(costNano) / nanoDollars
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("rank conversations by cost: %w", err)
	}
	return out, nil
}
