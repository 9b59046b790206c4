// Package httpapi holds what the events receiver and the eventsquery
// extension share on the wire: the JSON error shape, its codes, and the
// interface through which the receiver serves the extension's read routes on
// its own port.
package httpapi // import "github.com/otelcol-events/otelcol-events/internal/httpapi"

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/otelcol-events/otelcol-events/docs"
)

// Error codes of docs/api.md that are not field validation codes (those are
// in package event).
const (
	CodeInvalidJSON          = "invalid_json"
	CodeInvalidUTF8          = "invalid_utf8"
	CodeInvalidParameter     = "invalid_parameter"
	CodeUnauthorized         = "unauthorized"
	CodeNotFound             = "not_found"
	CodeMethodNotAllowed     = "method_not_allowed"
	CodeTooLarge             = "too_large"
	CodeUnsupportedMediaType = "unsupported_media_type"
	CodeOverloaded           = "overloaded"
	CodeUnavailable          = "unavailable"
	CodeInternal             = "internal"
)

// ErrorBody is the JSON body of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
	// ID is the id of a single write the pipeline refused (429 or 503): the
	// write may still be stored (e.g. sent to Kafka after its caller gave
	// up), so a client retries it with this id, which makes the retry
	// idempotent.
	ID string `json:"id,omitempty"`
	// IDs are the ids the items of a refused batch (429 or 503) were given,
	// one per item in the batch's order ("" for an item invalid on its
	// own): like a single write's, the batch may still be stored, and a
	// retry that sends them makes no duplicate.
	IDs []string `json:"ids,omitempty"`
}

// ErrorDetail is the code and message of an error.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError answers with the error shape of docs/api.md.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}})
}

// WriteRefusedWrite answers a single write the pipeline refused: 429 or 503
// with a Retry-After header and the id the write was given.
func WriteRefusedWrite(w http.ResponseWriter, status int, code, message, id string, retryAfter time.Duration) {
	setRetryAfter(w, retryAfter)
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}, ID: id})
}

// WriteRefusedBatch answers a batch the pipeline refused: 429 or 503 with a
// Retry-After header and the ids its items were given.
func WriteRefusedBatch(w http.ResponseWriter, status int, code, message string, ids []string, retryAfter time.Duration) {
	setRetryAfter(w, retryAfter)
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}, IDs: ids})
}

// WriteRetryable answers 429 or 503 with a Retry-After header.
func WriteRetryable(w http.ResponseWriter, status int, code, message string, retryAfter time.Duration) {
	setRetryAfter(w, retryAfter)
	WriteError(w, status, code, message)
}

// setRetryAfter sets the Retry-After header to retryAfter in whole seconds,
// at least 1.
func setRetryAfter(w http.ResponseWriter, retryAfter time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int((retryAfter+time.Second-1)/time.Second))))
}

// WriteMethodNotAllowed answers 405 with the Allow header.
func WriteMethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed here; use "+allow)
}

// WriteJSON answers with v encoded as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"error":{"code":"internal","message":"encode response"}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// RouteOpenAPI is where the API serves its own description.
const RouteOpenAPI = "/openapi.yaml"

// WriteOpenAPI answers docs/openapi.yaml.
func WriteOpenAPI(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Content-Length", strconv.Itoa(len(docs.OpenAPI)))
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		_, _ = w.Write(docs.OpenAPI)
	}
}

// Accepted is the body of a 202: the id of the event the operation is for.
type Accepted struct {
	ID string `json:"id"`
}

// WriteAccepted answers 202 with the event's id.
func WriteAccepted(w http.ResponseWriter, id string) {
	WriteJSON(w, http.StatusAccepted, Accepted{ID: id})
}

// ReadRoutes is implemented by the eventsquery extension: the receiver finds
// it among the host's extensions and serves its routes on the write port.
type ReadRoutes interface {
	// ReadHandler serves GET /event/{id}, GET /events/conversation/{id},
	// GET /analytics/*, GET /dead-letters, GET /health (with the ClickHouse
	// check) and GET /openapi.yaml, without authentication.
	ReadHandler() http.Handler
	// ReadAuthenticator is the authenticator of the extension's own `auth`
	// setting, which the receiver applies to the read routes it serves; nil
	// when the extension has none.
	ReadAuthenticator() *Authenticator
}

// Event is an event as the read API answers it (docs/api.md); the query
// extension writes it and the benchmark reads it.
type Event struct {
	ID             string            `json:"id"`
	ConversationID string            `json:"conversation_id"`
	EventName      string            `json:"event_name"`
	Input          string            `json:"input"`
	Output         string            `json:"output"`
	Latency        float64           `json:"latency"`
	Error          string            `json:"error"`
	Timestamp      string            `json:"timestamp"`
	Attributes     map[string]string `json:"attributes"`
	Version        uint64            `json:"version"`
	// The LLM call fields, present when known (not empty, not zero): an
	// event of the original API reads exactly as before.
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
	Cost                float64 `json:"cost,omitempty"`
	TraceID             string  `json:"trace_id,omitempty"`
	SpanID              string  `json:"span_id,omitempty"`
}
