package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

type deadLettersJSON struct {
	DeadLetters []deadLetterJSON `json:"dead_letters"`
}

// deadLetterJSON is one dead letter: the operation (or record) whole, as
// the exporter kept it, and the error that kept it out of the events.
type deadLetterJSON struct {
	StoredAt string          `json:"stored_at"`
	ID       string          `json:"id"`
	Version  uint64          `json:"version"`
	Payload  json.RawMessage `json:"payload"`
	Error    string          `json:"error"`
}

// deadLetters lists what the clickhouseevents exporter could not store,
// newest first (GET /dead-letters?limit=N).
func (h *handler) deadLetters(q url.Values, _ string) (route, error) {
	limit, err := intParam(q, "limit", defaultDeadLettersLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		letters, err := r.DeadLetters(ctx, limit)
		if err != nil {
			return 0, nil, err
		}
		out := deadLettersJSON{DeadLetters: make([]deadLetterJSON, 0, len(letters))}
		for _, l := range letters {
			out.DeadLetters = append(out.DeadLetters, deadLetterJSON{
				StoredAt: l.StoredAt.UTC().Format(timestampLayout), ID: l.ID, Version: l.Version,
				Payload: l.Payload, Error: l.Error,
			})
		}
		return http.StatusOK, out, nil
	}, nil
}
