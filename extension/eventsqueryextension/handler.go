package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// reader is what the routes need from the store; *storage.Store implements it.
type reader interface {
	Event(ctx context.Context, id string) (*storage.StoredEvent, error)
	Conversation(ctx context.Context, conversationID string, after *storage.ConversationCursor, limit int) ([]storage.StoredEvent, error)
	ErrorCounts(ctx context.Context, eventName string, days int, now time.Time) ([]storage.DayCount, error)
	Latency(ctx context.Context, f storage.LatencyFilter, limit int) ([]storage.LatencyRow, error)
	TopErrorSessions(ctx context.Context, minEvents int, since time.Time, limit int) ([]storage.SessionErrors, error)
	DeadLetters(ctx context.Context, limit int) ([]storage.DeadLetter, error)
	EventDays(ctx context.Context, eventName string, days int, now time.Time) ([]storage.DayEvents, error)
	EventNames(ctx context.Context, since time.Time) ([]storage.NameEvents, error)
	Freshness(ctx context.Context, since time.Time) (storage.Freshness, error)
	ModelUsage(ctx context.Context, model string, since time.Time) ([]storage.Usage, error)
	ModelLatency(ctx context.Context, since time.Time, limit int) ([]storage.ModelLatency, error)
	TopCostConversations(ctx context.Context, limit int) ([]storage.ConversationCost, error)
	Ping(ctx context.Context) error
}

var _ reader = (*storage.Store)(nil)

// Parameter ranges and defaults of docs/api.md.
const (
	defaultConversationLimit = 100
	defaultLatencyLimit      = 50
	defaultTopErrorsLimit    = 10
	defaultDeadLettersLimit  = 100
	defaultMinEvents         = 1
	defaultModelLatencyLimit = 100
	defaultTopCostLimit      = 10
	defaultDays              = 7
	maxDays                  = 366

	retryAfter = time.Second
	// timestampLayout is RFC 3339 with milliseconds, as the API writes it.
	timestampLayout = "2006-01-02T15:04:05.000Z07:00"
	allowedMethods  = "GET, HEAD"
	// noUpperBound marks a parameter with only a lower bound.
	noUpperBound = math.MaxInt32
	// maxEchoedValue bounds how much of a bad parameter an error repeats.
	maxEchoedValue = 64
)

const (
	routeEvent        = "/event/"
	routeConversation = "/events/conversation/"
	routeErrors       = "/analytics/errors"
	routeEvents       = "/analytics/events"
	routeLatency      = "/analytics/latency"
	routeTopErrors    = "/analytics/sessions/top-errors"
	routeModelUsage   = "/analytics/models/usage"
	routeModelLatency = "/analytics/models/latency"
	routeTopCost      = "/analytics/conversations/top-cost"
	routeHealth       = "/health"
	routeDeadLetters  = "/dead-letters"
)

type handler struct {
	getReader      func(context.Context) (reader, error)
	logger         *zap.Logger
	maxLimit       int
	queryTimeout   time.Duration
	queryMaxMemory uint64
	limits         event.Limits
	now            func() time.Time
	maxDataAge     time.Duration
	freshness      *freshness
	board          *statusBoard
}

func newHandler(cfg *Config, logger *zap.Logger, getReader func(context.Context) (reader, error)) *handler {
	return &handler{
		getReader:      getReader,
		logger:         logger,
		maxLimit:       cfg.MaxLimit,
		queryTimeout:   cfg.QueryTimeout,
		queryMaxMemory: cfg.QueryMaxMemory,
		limits:         event.DefaultLimits(),
		now:            time.Now,
		maxDataAge:     cfg.Health.MaxDataAge,
		freshness:      &freshness{},
		board:          newStatusBoard(),
	}
}

// codeMemoryLimit is the error code of a read stopped by its memory bound.
const codeMemoryLimit = "memory_limit"

// paramError is a bad request parameter: 400 invalid_parameter.
type paramError struct{ message string }

func (e *paramError) Error() string { return e.message }

func badParam(format string, args ...any) *paramError {
	return &paramError{message: fmt.Sprintf(format, args...)}
}

// route answers one request whose parameters are valid; it returns the
// status and body, or an error that writeError maps.
type route func(ctx context.Context, r reader) (int, any, error)

// ServeHTTP routes the read API. The routes are few and fixed, so a switch
// keeps 404 and 405 answers in the API's JSON shape.
func (h *handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.EscapedPath()
	var (
		prepare func(q url.Values, param string) (route, error)
		param   string
	)
	switch {
	case path == routeHealth:
		h.serveHealth(w, req)
		return
	case path == httpapi.RouteOpenAPI:
		if !readMethod(req) {
			httpapi.WriteMethodNotAllowed(w, req, allowedMethods)
			return
		}
		httpapi.WriteOpenAPI(w, req)
		return
	case path == "/" || path == "/ui" || strings.HasPrefix(path, routeUI):
		serveUI(w, req, path)
		return
	case path == routeEvents:
		prepare = h.eventSummary
	case path == routeErrors:
		prepare = h.errorCounts
	case path == routeLatency:
		prepare = h.latency
	case path == routeTopErrors:
		prepare = h.topErrorSessions
	case path == routeDeadLetters:
		prepare = h.deadLetters
	case path == routeModelUsage:
		prepare = h.modelUsage
	case path == routeModelLatency:
		prepare = h.modelLatency
	case path == routeTopCost:
		prepare = h.topCostConversations
	case strings.HasPrefix(path, routeEvent) && len(path) > len(routeEvent):
		prepare, param = h.event, strings.TrimPrefix(path, routeEvent)
	case strings.HasPrefix(path, routeConversation) && len(path) > len(routeConversation):
		prepare, param = h.conversation, strings.TrimPrefix(path, routeConversation)
	default:
		httpapi.WriteError(w, http.StatusNotFound, httpapi.CodeNotFound, "no route "+req.Method+" "+path)
		return
	}
	if !readMethod(req) {
		httpapi.WriteMethodNotAllowed(w, req, allowedMethods)
		return
	}
	if param != "" {
		// Ids may hold any byte, '/' included, sent escaped (%2F).
		unescaped, err := url.PathUnescape(param)
		if err != nil {
			httpapi.WriteError(w, http.StatusBadRequest, httpapi.CodeInvalidParameter, "path: malformed escape in "+strconv.Quote(clip(param)))
			return
		}
		param = unescaped
	}
	do, err := prepare(req.URL.Query(), param)
	if err != nil {
		h.writeError(w, req, err)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), h.queryTimeout)
	defer cancel()
	r, err := h.getReader(ctx)
	if err != nil {
		h.writeError(w, req, err)
		return
	}
	status, body, err := do(storage.WithQueryMaxMemory(ctx, h.queryMaxMemory), r)
	if err != nil {
		h.writeError(w, req, err)
		return
	}
	h.setDataAge(ctx, w, r)
	httpapi.WriteJSON(w, status, body)
}

func readMethod(req *http.Request) bool {
	return req.Method == http.MethodGet || req.Method == http.MethodHead
}

// writeError is the one place that maps errors to HTTP answers.
func (h *handler) writeError(w http.ResponseWriter, req *http.Request, err error) {
	var pe *paramError
	switch {
	case errors.As(err, &pe):
		httpapi.WriteError(w, http.StatusBadRequest, httpapi.CodeInvalidParameter, pe.message)
	case errors.Is(err, storage.ErrNotFound):
		httpapi.WriteError(w, http.StatusNotFound, httpapi.CodeNotFound, "no event with this id (unknown or deleted)")
	case errors.Is(err, storage.ErrQueryMemoryLimit):
		// Not retryable as it is: the same read needs the same memory.
		h.logger.Warn("query stopped by its memory limit", zap.String("path", req.URL.Path), zap.Uint64("query_max_memory", h.queryMaxMemory), zap.Error(err))
		httpapi.WriteError(w, http.StatusServiceUnavailable, codeMemoryLimit, h.memoryLimitMessage())
	case errors.Is(err, context.DeadlineExceeded):
		h.logger.Warn("query timed out", zap.String("path", req.URL.Path), zap.Duration("query_timeout", h.queryTimeout), zap.Error(err))
		httpapi.WriteRetryable(w, http.StatusServiceUnavailable, httpapi.CodeUnavailable,
			fmt.Sprintf("the query did not finish within %s; retry later", h.queryTimeout), retryAfter)
	case errors.Is(err, context.Canceled) && req.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		h.logger.Debug("request canceled by the client", zap.String("path", req.URL.Path))
		httpapi.WriteRetryable(w, http.StatusServiceUnavailable, httpapi.CodeUnavailable, "request canceled", retryAfter)
	default:
		h.logger.Warn("read failed", zap.String("path", req.URL.Path), zap.Error(err))
		httpapi.WriteRetryable(w, http.StatusServiceUnavailable, httpapi.CodeUnavailable,
			"ClickHouse cannot answer now; retry later: "+err.Error(), retryAfter)
	}
}

// memoryLimitMessage says which limit stopped a read and what helps.
func (h *handler) memoryLimitMessage() string {
	if h.queryMaxMemory == 0 {
		return "the query needs more memory than ClickHouse allows one query (query_max_memory is 0: the engine's own limit applies); narrow it (event_name, days) or set query_max_memory"
	}
	return fmt.Sprintf("the query needs more memory than query_max_memory (%d bytes) allows one query; narrow it (event_name, days) or raise query_max_memory", h.queryMaxMemory)
}

// serveHealth answers GET /health: 503 when ClickHouse cannot answer reads;
// otherwise 200, "degraded" with the reasons while a component reports an
// error status or the stored data is older than health::max_data_age (the
// API still serves then: writes are kept and retried, reads answer).
func (h *handler) serveHealth(w http.ResponseWriter, req *http.Request) {
	if !readMethod(req) {
		httpapi.WriteMethodNotAllowed(w, req, allowedMethods)
		return
	}
	ctx, cancel := context.WithTimeout(req.Context(), h.queryTimeout)
	defer cancel()
	out := healthJSON{Status: "ok", ClickHouse: "ok", Reasons: h.board.reasons()}
	r, err := h.getReader(ctx)
	if err == nil {
		err = r.Ping(ctx)
	}
	if err != nil {
		out.Status, out.ClickHouse = "degraded", err.Error()
		w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
		httpapi.WriteJSON(w, http.StatusServiceUnavailable, out)
		return
	}
	h.setDataAge(ctx, w, r)
	if newest, age, ok := h.newestStored(ctx, r); ok && h.maxDataAge > 0 && age > h.maxDataAge {
		out.Reasons = append(out.Reasons, healthReason{
			Source: "data_age", Status: "Lagging",
			Message: fmt.Sprintf("the newest stored operation was accepted %s ago, more than health::max_data_age (%s)",
				age.Truncate(time.Millisecond), h.maxDataAge),
			Since: newest.UTC().Format(timestampLayout),
		})
	}
	if len(out.Reasons) > 0 {
		out.Status = "degraded"
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

type healthJSON struct {
	Status     string         `json:"status"`
	ClickHouse string         `json:"clickhouse"`
	Reasons    []healthReason `json:"reasons,omitempty"`
}

// eventJSON is the read API's event (one definition, in httpapi).
type eventJSON = httpapi.Event

func toEventJSON(e *storage.StoredEvent) eventJSON {
	attrs := make(map[string]string, len(e.Attributes))
	for _, a := range e.Attributes {
		attrs[a.Key] = a.Value
	}
	return eventJSON{
		ID:             e.ID,
		ConversationID: e.ConversationID,
		EventName:      e.Name,
		Input:          e.Input,
		Output:         e.Output,
		Latency:        e.LatencyMs,
		Error:          e.Error,
		Timestamp:      e.Timestamp.UTC().Format(timestampLayout),
		Attributes:     attrs,
		Version:        e.Version,

		Model:               e.Model,
		Provider:            e.Provider,
		Operation:           e.Operation,
		InputTokens:         e.InputTokens,
		OutputTokens:        e.OutputTokens,
		CacheReadTokens:     e.CacheReadTokens,
		CacheCreationTokens: e.CacheCreationTokens,
		ReasoningTokens:     e.ReasoningTokens,
		TimeToFirstToken:    e.TimeToFirstTokenMs,
		FinishReason:        e.FinishReason,
		Cost:                e.Cost,
		TraceID:             e.TraceID,
		SpanID:              e.SpanID,
	}
}

func (h *handler) event(_ url.Values, id string) (route, error) {
	if verr := h.limits.ValidateID(id); verr != nil {
		return nil, badParam("%s", verr.Error())
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		e, err := r.Event(ctx, id)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, toEventJSON(e), nil
	}, nil
}

type conversationJSON struct {
	ConversationID string      `json:"conversation_id"`
	Events         []eventJSON `json:"events"`
	NextCursor     *string     `json:"next_cursor"`
}

func (h *handler) conversation(q url.Values, convID string) (route, error) {
	if err := h.checkKeyField("conversation_id", convID); err != nil {
		return nil, err
	}
	limit, err := intParam(q, "limit", defaultConversationLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	var after *storage.ConversationCursor
	if c := q.Get("cursor"); c != "" {
		if after, err = decodeCursor(c); err != nil {
			return nil, err
		}
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		// One more than asked tells whether there is a next page.
		events, err := r.Conversation(ctx, convID, after, limit+1)
		if err != nil {
			return 0, nil, err
		}
		out := conversationJSON{ConversationID: convID, Events: make([]eventJSON, 0, min(len(events), limit))}
		if len(events) > limit {
			events = events[:limit]
			last := events[limit-1]
			next := encodeCursor(storage.ConversationCursor{TimestampMs: last.Timestamp.UnixMilli(), ID: last.ID})
			out.NextCursor = &next
		}
		for i := range events {
			out.Events = append(out.Events, toEventJSON(&events[i]))
		}
		return http.StatusOK, out, nil
	}, nil
}

// cursorJSON is the content of a conversation cursor: the position of the
// last event of the previous page.
type cursorJSON struct {
	TimestampMs *int64  `json:"t"`
	ID          *string `json:"i"`
}

func encodeCursor(c storage.ConversationCursor) string {
	data, _ := json.Marshal(cursorJSON{TimestampMs: &c.TimestampMs, ID: &c.ID})
	return base64.RawURLEncoding.EncodeToString(data)
}

func decodeCursor(s string) (*storage.ConversationCursor, error) {
	bad := badParam("cursor: not a next_cursor of this API; pass next_cursor of the previous page unchanged, or no cursor for the first page")
	data, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var c cursorJSON
	if err := dec.Decode(&c); err != nil || dec.More() || c.TimestampMs == nil || c.ID == nil || *c.ID == "" {
		return nil, bad
	}
	return &storage.ConversationCursor{TimestampMs: *c.TimestampMs, ID: *c.ID}, nil
}

type errorCountsJSON struct {
	EventName string         `json:"event_name"`
	Days      int            `json:"days"`
	Data      []dayCountJSON `json:"data"`
}

type dayCountJSON struct {
	Date   string `json:"date"`
	Errors int64  `json:"errors"`
}

func (h *handler) errorCounts(q url.Values, _ string) (route, error) {
	name := q.Get("event_name")
	if name == "" {
		return nil, badParam("event_name: required (the event name whose errors to count)")
	}
	if err := h.checkKeyField("event_name", name); err != nil {
		return nil, err
	}
	days, err := intParam(q, "days", defaultDays, 1, maxDays)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		counts, err := r.ErrorCounts(ctx, name, days, h.now())
		if err != nil {
			return 0, nil, err
		}
		out := errorCountsJSON{EventName: name, Days: days, Data: make([]dayCountJSON, len(counts))}
		for i, c := range counts {
			out.Data[i] = dayCountJSON{Date: c.Date, Errors: c.Errors}
		}
		return http.StatusOK, out, nil
	}, nil
}

type latencyJSON struct {
	Data []latencyRowJSON `json:"data"`
}

type latencyRowJSON struct {
	EventName      string  `json:"event_name"`
	ConversationID string  `json:"conversation_id"`
	P95Latency     float64 `json:"p95_latency"`
	Count          uint64  `json:"count"`
}

func (h *handler) latency(q url.Values, _ string) (route, error) {
	limit, err := intParam(q, "limit", defaultLatencyLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	var filter storage.LatencyFilter
	if name := q.Get("event_name"); name != "" {
		if err := h.checkKeyField("event_name", name); err != nil {
			return nil, err
		}
		filter.EventName = name
	}
	if q.Has("days") {
		days, err := intParam(q, "days", 0, 1, maxDays)
		if err != nil {
			return nil, err
		}
		filter.Since = startOfDay(h.now(), days)
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		rows, err := r.Latency(ctx, filter, limit)
		if err != nil {
			return 0, nil, err
		}
		out := latencyJSON{Data: make([]latencyRowJSON, len(rows))}
		for i, row := range rows {
			out.Data[i] = latencyRowJSON{EventName: row.EventName, ConversationID: row.ConversationID, P95Latency: row.P95, Count: row.Count}
		}
		return http.StatusOK, out, nil
	}, nil
}

// startOfDay returns the first instant of the UTC day days-1 days before
// now's, so that days=1 means today.
func startOfDay(now time.Time, days int) time.Time {
	return now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
}

type topErrorsJSON struct {
	Data []sessionErrorsJSON `json:"data"`
}

type sessionErrorsJSON struct {
	ConversationID string  `json:"conversation_id"`
	Errors         int64   `json:"errors"`
	Total          int64   `json:"total"`
	ErrorRate      float64 `json:"error_rate"`
}

func (h *handler) topErrorSessions(q url.Values, _ string) (route, error) {
	limit, err := intParam(q, "limit", defaultTopErrorsLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	minEvents, err := intParam(q, "min_events", defaultMinEvents, 1, noUpperBound)
	if err != nil {
		return nil, err
	}
	var since time.Time
	if q.Has("days") {
		days, err := intParam(q, "days", 0, 1, maxDays)
		if err != nil {
			return nil, err
		}
		since = startOfDay(h.now(), days)
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		rows, err := r.TopErrorSessions(ctx, minEvents, since, limit)
		if err != nil {
			return 0, nil, err
		}
		out := topErrorsJSON{Data: make([]sessionErrorsJSON, len(rows))}
		for i, row := range rows {
			var rate float64
			if row.Total > 0 {
				rate = float64(row.Errors) / float64(row.Total)
			}
			out.Data[i] = sessionErrorsJSON{ConversationID: row.ConversationID, Errors: row.Errors, Total: row.Total, ErrorRate: rate}
		}
		return http.StatusOK, out, nil
	}, nil
}

type modelUsageJSON struct {
	Days  int         `json:"days"`
	Model string      `json:"model,omitempty"`
	Data  []usageJSON `json:"data"`
}

type usageJSON struct {
	Date                string  `json:"date"`
	Model               string  `json:"model"`
	Calls               int64   `json:"calls"`
	InputTokens         int64   `json:"input_tokens"`
	OutputTokens        int64   `json:"output_tokens"`
	CacheReadTokens     int64   `json:"cache_read_tokens"`
	CacheCreationTokens int64   `json:"cache_creation_tokens"`
	ReasoningTokens     int64   `json:"reasoning_tokens"`
	Cost                float64 `json:"cost"`
}

// modelUsage answers GET /analytics/models/usage?days=N&model=X: tokens and
// cost per model per UTC day, days=1 meaning today.
func (h *handler) modelUsage(q url.Values, _ string) (route, error) {
	days, err := intParam(q, "days", defaultDays, 1, maxDays)
	if err != nil {
		return nil, err
	}
	model := q.Get("model")
	if err := h.checkKeyField("model", model); err != nil {
		return nil, err
	}
	since := startOfDay(h.now(), days)
	return func(ctx context.Context, r reader) (int, any, error) {
		rows, err := r.ModelUsage(ctx, model, since)
		if err != nil {
			return 0, nil, err
		}
		out := modelUsageJSON{Days: days, Model: model, Data: make([]usageJSON, len(rows))}
		for i, u := range rows {
			out.Data[i] = usageJSON{
				Date: u.Date, Model: u.Model, Calls: u.Calls, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
				CacheReadTokens: u.CacheReadTokens, CacheCreationTokens: u.CacheCreationTokens,
				ReasoningTokens: u.ReasoningTokens, Cost: u.Cost,
			}
		}
		return http.StatusOK, out, nil
	}, nil
}

type modelLatencyJSON struct {
	Data []modelLatencyRowJSON `json:"data"`
}

type modelLatencyRowJSON struct {
	Model      string  `json:"model"`
	P50Latency float64 `json:"p50_latency"`
	P95Latency float64 `json:"p95_latency"`
	Calls      uint64  `json:"calls"`
	Errors     int64   `json:"errors"`
	ErrorRate  float64 `json:"error_rate"`
}

// modelLatency answers GET /analytics/models/latency?days=N: p50 and p95
// latency and the error rate per model (every day when days is absent).
func (h *handler) modelLatency(q url.Values, _ string) (route, error) {
	limit, err := intParam(q, "limit", defaultModelLatencyLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	var since time.Time
	if q.Has("days") {
		days, err := intParam(q, "days", 0, 1, maxDays)
		if err != nil {
			return nil, err
		}
		since = startOfDay(h.now(), days)
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		rows, err := r.ModelLatency(ctx, since, limit)
		if err != nil {
			return 0, nil, err
		}
		out := modelLatencyJSON{Data: make([]modelLatencyRowJSON, len(rows))}
		for i, row := range rows {
			var rate float64
			if row.Calls > 0 {
				rate = float64(row.Errors) / float64(row.Calls)
			}
			out.Data[i] = modelLatencyRowJSON{
				Model: row.Model, P50Latency: row.P50, P95Latency: row.P95, Calls: row.Calls, Errors: row.Errors, ErrorRate: rate,
			}
		}
		return http.StatusOK, out, nil
	}, nil
}

type topCostJSON struct {
	Data []conversationCostJSON `json:"data"`
}

type conversationCostJSON struct {
	ConversationID string  `json:"conversation_id"`
	Cost           float64 `json:"cost"`
	Calls          int64   `json:"calls"`
	InputTokens    int64   `json:"input_tokens"`
	OutputTokens   int64   `json:"output_tokens"`
}

// topCostConversations answers GET /analytics/conversations/top-cost?limit=N.
func (h *handler) topCostConversations(q url.Values, _ string) (route, error) {
	limit, err := intParam(q, "limit", defaultTopCostLimit, 1, h.maxLimit)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, r reader) (int, any, error) {
		rows, err := r.TopCostConversations(ctx, limit)
		if err != nil {
			return 0, nil, err
		}
		out := topCostJSON{Data: make([]conversationCostJSON, len(rows))}
		for i, row := range rows {
			out.Data[i] = conversationCostJSON{
				ConversationID: row.ConversationID, Cost: row.Cost, Calls: row.Calls,
				InputTokens: row.InputTokens, OutputTokens: row.OutputTokens,
			}
		}
		return http.StatusOK, out, nil
	}, nil
}

// intParam parses an optional integer parameter strictly: digits only (an
// optional sign), within [lo, hi]; def when the parameter is absent.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	raw := q.Get(name)
	n, err := strconv.Atoi(raw)
	if err != nil || n < lo || n > hi {
		if hi == noUpperBound {
			return 0, badParam("%s: must be an integer >= %d, got %q", name, lo, clip(raw))
		}
		return 0, badParam("%s: must be an integer between %d and %d, got %q", name, lo, hi, clip(raw))
	}
	return n, nil
}

// checkKeyField refuses a conversation_id or event_name that no event can
// have, before it reaches a query.
func (h *handler) checkKeyField(name, value string) error {
	if len(value) > h.limits.MaxKeyFieldBytes {
		return badParam("%s: must be at most %d bytes, got %d", name, h.limits.MaxKeyFieldBytes, len(value))
	}
	return nil
}

func clip(s string) string {
	if len(s) <= maxEchoedValue {
		return s
	}
	return s[:maxEchoedValue] + "..."
}
