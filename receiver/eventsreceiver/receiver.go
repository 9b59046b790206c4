package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/confighttp/xconfighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

type eventsReceiver struct {
	cfg      *Config
	settings receiver.Settings
	next     consumer.Logs
	obsrecv  *receiverhelper.ObsReport
	clock    *event.Clock
	limits   event.Limits
	refused  metric.Int64Counter
	// disk refuses writes while the data's file system is nearly full
	// (min_free_space); nil: no guard.
	disk *diskGuard

	reads     http.Handler // the eventsquery extension's routes, when configured
	committer *committer
	// writeAuth guards the writes (the receiver's `auth`), readAuth the
	// reads (the query extension's `auth`, else the receiver's); nil: open.
	writeAuth, readAuth *httpapi.Authenticator
	// batchSlots holds a token per batch request being served
	// (max_concurrent_batches); nil: no bound.
	batchSlots chan struct{}
	// batchWaiters counts the batch requests waiting for a slot.
	batchWaiters atomic.Int64

	// pending counts the write operations handed to the committer and not
	// yet answered (max_pending_operations).
	pending atomic.Int64
	// host receives the receiver's status: recoverable error while the
	// pipeline refuses writes, OK once it takes them again (refusing holds
	// the last one reported, so that only changes are reported).
	host       component.Host
	refusing   atomic.Bool
	server     *http.Server
	shutdownWG sync.WaitGroup
}

func newEventsReceiver(cfg *Config, set receiver.Settings, next consumer.Logs) (*eventsReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "http",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	var batchSlots chan struct{}
	refused, err := set.MeterProvider.Meter("github.com/otelcol-events/otelcol-events/receiver/eventsreceiver").Int64Counter(
		"otelcol_events_receiver_refused_operations",
		metric.WithDescription("Valid operations the pipeline did not take (the client got 429, 503 or 500 and should retry), by reason: queue_full, timeout (pipeline_timeout), canceled (the request ended first), rejected (a permanent error), unavailable, max_pending (shed: max_pending_operations already waiting), min_free_space (the disk is nearly full)."),
		metric.WithUnit("{operation}"))
	if err != nil {
		return nil, err
	}
	if cfg.MaxConcurrentBatches > 0 {
		batchSlots = make(chan struct{}, cfg.MaxConcurrentBatches)
	}
	var disk *diskGuard
	if cfg.MinFreeSpace.Directory != "" {
		disk = &diskGuard{cfg: cfg.MinFreeSpace, free: freeBytes, now: time.Now}
	}
	return &eventsReceiver{
		cfg:      cfg,
		settings: set,
		next:     next,
		obsrecv:  obsrecv,
		clock:    event.NewClock(),
		limits:   event.DefaultLimits(),
		refused:  refused,
		disk:     disk,
		// Until Start, no worker runs: one pipeline call per request.
		committer:  newCommitter(next, obsrecv, GroupCommitConfig{}, cfg.PartitionBuckets, cfg.MaxResourceBytes, cfg.PipelineTimeout),
		batchSlots: batchSlots,
	}, nil
}

func (r *eventsReceiver) Start(ctx context.Context, host component.Host) error {
	r.host = host
	if r.cfg.Query != nil {
		ext, ok := host.GetExtensions()[*r.cfg.Query]
		if !ok {
			return fmt.Errorf("query: extension %q is not configured in service::extensions", r.cfg.Query)
		}
		routes, ok := ext.(httpapi.ReadRoutes)
		if !ok {
			return fmt.Errorf("query: extension %q does not serve the read API (use an eventsquery extension)", r.cfg.Query)
		}
		r.reads = routes.ReadHandler()
		r.readAuth = routes.ReadAuthenticator()
	}
	writeAuth, err := httpapi.NewAuthenticator(ctx, r.cfg.ServerConfig.Auth, host.GetExtensions())
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	r.writeAuth = writeAuth
	if r.readAuth == nil {
		// Reads without an authenticator of their own are no more open than
		// the writes.
		r.readAuth = writeAuth
	}
	ln, err := r.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", r.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	opts := []confighttp.ToServerOption{confighttp.WithErrorHandler(httpapi.WriteServerError)}
	if !r.cfg.HTTPTelemetry {
		// otelhttp's filter skips its whole handler for a request it
		// refuses: no span, no metric, no per-request allocations.
		opts = append(opts, xconfighttp.WithOtelHTTPOptions(otelhttp.WithFilter(func(*http.Request) bool { return false })))
	}
	// ServeHTTP authenticates each route with the credentials of its kind:
	// confighttp's `auth` would guard every route with the writers'.
	server := r.cfg.ServerConfig
	server.Auth = configoptional.None[confighttp.AuthConfig]()
	r.server, err = server.ToServer(ctx, host.GetExtensions(), r.settings.TelemetrySettings, r, opts...)
	if err != nil {
		_ = ln.Close()
		return err
	}
	r.server.Handler = &bodyLimit{next: r.server.Handler, limit: r.cfg.ServerConfig.MaxRequestBodySize}
	r.settings.Logger.Info("Events API listening", zap.String("endpoint", ln.Addr().String()),
		zap.Bool("reads", r.reads != nil))
	group := r.cfg.GroupCommit
	if r.cfg.ServerConfig.IncludeMetadata {
		// Client metadata lives in each request's context: keep the calls apart.
		group.Workers = 0
	}
	r.committer = newCommitter(r.next, r.obsrecv, group, r.cfg.PartitionBuckets, r.cfg.MaxResourceBytes, r.cfg.PipelineTimeout)
	r.shutdownWG.Add(1)
	go func() {
		defer r.shutdownWG.Done()
		if err := r.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

func (r *eventsReceiver) Shutdown(ctx context.Context) error {
	var err error
	if r.server != nil {
		err = r.server.Shutdown(ctx)
	}
	r.shutdownWG.Wait()
	r.committer.shutdown()
	return err
}

// ServeHTTP routes the API. The routes are few and fixed, so a switch keeps
// 404 and 405 answers in the API's JSON shape.
func (r *eventsReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	path := req.URL.EscapedPath()
	switch {
	case path == "/event/" || path == "/event":
		if req.Method != http.MethodPost {
			httpapi.WriteMethodNotAllowed(w, req, http.MethodPost)
			return
		}
		if req, ok := r.authorizeWrite(w, req); ok {
			r.handleCreate(w, req)
		}
	case strings.HasPrefix(path, "/event/"):
		id, err := url.PathUnescape(strings.TrimPrefix(path, "/event/"))
		if err != nil {
			httpapi.WriteError(w, http.StatusBadRequest, event.CodeInvalidField, "id: malformed escape in the URL")
			return
		}
		switch req.Method {
		case http.MethodPut:
			if req, ok := r.authorizeWrite(w, req); ok {
				r.handleUpdate(w, req, id)
			}
		case http.MethodDelete:
			if req, ok := r.authorizeWrite(w, req); ok {
				r.handleDelete(w, req, id)
			}
		case http.MethodGet, http.MethodHead:
			r.serveRead(w, req)
		default:
			httpapi.WriteMethodNotAllowed(w, req, "GET, PUT, DELETE")
		}
	case path == "/events/batch":
		if req.Method != http.MethodPost {
			httpapi.WriteMethodNotAllowed(w, req, http.MethodPost)
			return
		}
		if req, ok := r.authorizeWrite(w, req); ok {
			r.handleBatch(w, req)
		}
	case path == "/health":
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			httpapi.WriteMethodNotAllowed(w, req, http.MethodGet)
			return
		}
		req, ok := httpapi.Authorize(w, req, r.readAuth, r.writeAuth, "read")
		if !ok {
			return
		}
		if r.reads != nil {
			r.reads.ServeHTTP(w, req)
			return
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case path == httpapi.RouteOpenAPI:
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			httpapi.WriteMethodNotAllowed(w, req, http.MethodGet)
			return
		}
		if r.reads != nil {
			r.reads.ServeHTTP(w, req)
			return
		}
		httpapi.WriteOpenAPI(w, req)
	case strings.HasPrefix(path, "/events/conversation/") || strings.HasPrefix(path, "/analytics/") || path == "/dead-letters" ||
		// The eventsquery extension's dashboard, and / that leads to it.
		path == "/" || path == "/ui" || strings.HasPrefix(path, "/ui/"):
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			httpapi.WriteMethodNotAllowed(w, req, http.MethodGet)
			return
		}
		r.serveRead(w, req)
	default:
		httpapi.WriteError(w, http.StatusNotFound, httpapi.CodeNotFound, "no route "+req.Method+" "+path)
	}
}

func (r *eventsReceiver) serveRead(w http.ResponseWriter, req *http.Request) {
	if r.reads == nil {
		httpapi.WriteError(w, http.StatusNotFound, httpapi.CodeNotFound,
			"reads are not served on this port: configure the events receiver's `query` with an eventsquery extension")
		return
	}
	if req, ok := httpapi.Authorize(w, req, r.readAuth, r.writeAuth, "read"); ok {
		r.reads.ServeHTTP(w, req)
	}
}

// authorizeWrite checks the credential of a write (see httpapi.Authorize).
func (r *eventsReceiver) authorizeWrite(w http.ResponseWriter, req *http.Request) (*http.Request, bool) {
	return httpapi.Authorize(w, req, r.writeAuth, r.readAuth, "write")
}

func (r *eventsReceiver) handleCreate(w http.ResponseWriter, req *http.Request) {
	data, rerr := r.readBody(req, false)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	b, rerr := decodeBody(data)
	if rerr == nil && b.Op != nil {
		rerr = badRequest(event.CodeUnknownField, `unknown field "op" (only batch items carry an op)`)
	}
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	op, rerr := r.operation(b, event.OpCreate, "")
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	r.consumeOne(w, req, &op)
}

func (r *eventsReceiver) handleUpdate(w http.ResponseWriter, req *http.Request, id string) {
	if verr := r.limits.ValidateID(id); verr != nil {
		writeRequestError(w, badRequest(verr.Code, "%s", verr.Error()))
		return
	}
	data, rerr := r.readBody(req, false)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	b, rerr := decodeBody(data)
	if rerr == nil && b.Op != nil {
		rerr = badRequest(event.CodeUnknownField, `unknown field "op" (only batch items carry an op)`)
	}
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	op, rerr := r.operation(b, event.OpUpdate, id)
	if rerr != nil {
		writeRequestError(w, rerr)
		return
	}
	if op.Set == 0 {
		writeRequestError(w, badRequest(event.CodeMissingField, "an update needs at least one of event_name, input, output, latency, error, attributes"))
		return
	}
	r.consumeOne(w, req, &op)
}

func (r *eventsReceiver) handleDelete(w http.ResponseWriter, req *http.Request, id string) {
	if verr := r.limits.ValidateID(id); verr != nil {
		writeRequestError(w, badRequest(verr.Code, "%s", verr.Error()))
		return
	}
	op := event.Operation{Op: event.OpDelete, ID: id, Version: r.clock.Next()}
	r.consumeOne(w, req, &op)
}

// operation builds, stamps and validates one operation.
func (r *eventsReceiver) operation(b *body, kind event.Op, pathID string) (event.Operation, *requestError) {
	now := time.Now().UTC()
	op, rerr := toOperation(b, kind, pathID, now)
	if rerr != nil {
		return op, rerr
	}
	if op.ID == "" {
		if kind != event.OpCreate {
			return op, badRequest(event.CodeMissingField, "id: required for %s", kind)
		}
		id, err := uuid.NewV7()
		if err != nil {
			return op, &requestError{status: 500, code: httpapi.CodeInternal, message: "generate id: " + err.Error()}
		}
		op.ID = id.String()
	}
	if verr := r.limits.Validate(&op); verr != nil {
		return op, badRequest(verr.Code, "%s", verr.Error())
	}
	op.Version = r.clock.Next()
	return op, nil
}

func (r *eventsReceiver) consumeOne(w http.ResponseWriter, req *http.Request, op *event.Operation) {
	if status, body := r.consume(req.Context(), []*event.Operation{op}); status != http.StatusAccepted {
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			// The write may still be stored (in front of the kafka exporter a
			// call that gave up can still be sent): the id makes a retry
			// idempotent.
			httpapi.WriteRefusedWrite(w, status, body.Error.Code, body.Error.Message, op.ID, r.cfg.RetryAfter)
			return
		}
		writeRetryOrError(w, status, body, r.cfg.RetryAfter)
		return
	}
	httpapi.WriteAccepted(w, op.ID)
}

// consume hands the operations to the next consumer as one Logs and maps the
// outcome to an HTTP status (202 or an error body).
func (r *eventsReceiver) consume(ctx context.Context, ops []*event.Operation) (int, *httpapi.ErrorBody) {
	n := int64(len(ops))
	if err := r.disk.check(); err != nil {
		r.refused.Add(ctx, n, reasonDisk)
		r.reportStatus(err)
		return http.StatusServiceUnavailable, errorBody(httpapi.CodeUnavailable,
			"the collector's disk is nearly full, retry later: "+err.Error())
	}
	if !r.admit(n) {
		r.refused.Add(ctx, n, reasonShed)
		return http.StatusTooManyRequests, errorBody(httpapi.CodeOverloaded, fmt.Sprintf(
			"%d operations are already waiting for the pipeline (max_pending_operations %d), retry later",
			r.pending.Load(), r.cfg.MaxPendingOperations))
	}
	defer r.pending.Add(-n)
	err := r.committer.commit(ctx, ops)
	if err == nil {
		r.reportStatus(nil)
		return http.StatusAccepted, nil
	}
	r.settings.Logger.Debug("pipeline refused operations", zap.Int("operations", len(ops)), zap.Error(err))
	status, body, reason := refusal(ctx, err, r.cfg.PipelineTimeout)
	r.refused.Add(ctx, int64(len(ops)), reason)
	if reason == reasonTimeout || reason == reasonUnavailable {
		// Kafka, the engine or the queue's disk cannot take writes.
		r.reportStatus(err)
	}
	return status, body
}

var (
	reasonTimeout     = refusedReason("timeout")
	reasonCanceled    = refusedReason("canceled")
	reasonQueueFull   = refusedReason("queue_full")
	reasonRejected    = refusedReason("rejected")
	reasonUnavailable = refusedReason("unavailable")
	reasonShed        = refusedReason("max_pending")
	reasonDisk        = refusedReason("min_free_space")
)

func refusedReason(reason string) metric.AddOption {
	return metric.WithAttributeSet(attribute.NewSet(attribute.String("reason", reason)))
}

// refusal maps the pipeline's refusal of a call to the HTTP answer and the
// reason counted in otelcol_events_receiver_refused_operations.
func refusal(ctx context.Context, err error, pipelineTimeout time.Duration) (int, *httpapi.ErrorBody, metric.AddOption) {
	switch {
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil && pipelineTimeout > 0:
		return http.StatusServiceUnavailable, errorBody(httpapi.CodeUnavailable,
			fmt.Sprintf("the pipeline did not take the operations within %s (pipeline_timeout), retry later", pipelineTimeout)), reasonTimeout
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, errShuttingDown):
		return http.StatusServiceUnavailable, errorBody(httpapi.CodeUnavailable, "the request ended before the pipeline answered, retry: "+err.Error()), reasonCanceled
	case errors.Is(err, exporterhelper.ErrQueueIsFull):
		return http.StatusTooManyRequests, errorBody(httpapi.CodeOverloaded, "the pipeline's queue is full, retry later: "+err.Error()), reasonQueueFull
	case consumererror.IsPermanent(err):
		return http.StatusInternalServerError, errorBody(httpapi.CodeInternal, "the pipeline rejected the data: "+err.Error()), reasonRejected
	default:
		return http.StatusServiceUnavailable, errorBody(httpapi.CodeUnavailable, "the pipeline cannot take the data now, retry later: "+err.Error()), reasonUnavailable
	}
}

// admit reserves room for n operations under max_pending_operations. A
// request is always admitted when nothing else waits, so that a batch larger
// than the bound still goes alone.
func (r *eventsReceiver) admit(n int64) bool {
	limit := int64(r.cfg.MaxPendingOperations)
	total := r.pending.Add(n)
	if limit > 0 && total > limit && total > n {
		r.pending.Add(-n)
		return false
	}
	return true
}

// reportStatus reports a recoverable error while the pipeline cannot take
// writes (Kafka, the engine or the persistent queue's disk), and OK once it
// takes them again; /health (eventsquery) reads these statuses. Only changes
// are reported.
func (r *eventsReceiver) reportStatus(err error) {
	refusing := err != nil
	if r.host == nil || r.refusing.Load() == refusing || r.refusing.Swap(refusing) == refusing {
		return
	}
	if err != nil {
		componentstatus.ReportStatus(r.host, componentstatus.NewRecoverableErrorEvent(
			fmt.Errorf("the pipeline refuses writes: %w", err)))
		return
	}
	componentstatus.ReportStatus(r.host, componentstatus.NewEvent(componentstatus.StatusOK))
}

func errorBody(code, msg string) *httpapi.ErrorBody {
	return &httpapi.ErrorBody{Error: httpapi.ErrorDetail{Code: code, Message: msg}}
}

func writeRetryOrError(w http.ResponseWriter, status int, body *httpapi.ErrorBody, retryAfter time.Duration) {
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		httpapi.WriteRetryable(w, status, body.Error.Code, body.Error.Message, retryAfter)
		return
	}
	httpapi.WriteError(w, status, body.Error.Code, body.Error.Message)
}

func writeRequestError(w http.ResponseWriter, e *requestError) {
	httpapi.WriteError(w, e.status, e.code, e.message)
}

// readBody checks the content type and reads the whole body within the
// configured limit.
func (r *eventsReceiver) readBody(req *http.Request, allowNDJSON bool) ([]byte, *requestError) {
	if ct := req.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !(allowNDJSON && mt == "application/x-ndjson")) {
			want := "application/json"
			if allowNDJSON {
				want += " or application/x-ndjson"
			}
			return nil, &requestError{status: http.StatusUnsupportedMediaType, code: httpapi.CodeUnsupportedMediaType,
				message: fmt.Sprintf("Content-Type %q is not supported; use %s", ct, want)}
		}
	}
	maxSize := r.cfg.ServerConfig.MaxRequestBodySize
	data, err := readAll(req.Body, req.ContentLength, maxSize)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, &requestError{status: http.StatusRequestEntityTooLarge, code: httpapi.CodeTooLarge,
				message: fmt.Sprintf("the body exceeds %d bytes", maxSize)}
		}
		return nil, badRequest(httpapi.CodeInvalidJSON, "read body: %s", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest(httpapi.CodeInvalidJSON, "the body is empty; expected JSON")
	}
	if rerr := checkUTF8(data); rerr != nil {
		return nil, rerr
	}
	return data, nil
}

// readAll reads body to its end, failing with an *http.MaxBytesError past
// limit bytes. A Content-Length sizes the buffer up to a bound, so that a
// client cannot make the receiver hold more memory than it sends.
func readAll(body io.Reader, contentLength, limit int64) ([]byte, error) {
	const maxPresize = 64 << 10
	size := int64(512)
	if contentLength >= 0 {
		// One byte more than announced: the read that finds the end fits.
		size = min(contentLength, limit, maxPresize) + 1
	}
	buf := make([]byte, 0, size)
	for {
		n, err := body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &http.MaxBytesError{Limit: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
	}
}
