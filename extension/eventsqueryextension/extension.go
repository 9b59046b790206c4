package eventsqueryextension // import "github.com/otelcol-events/otelcol-events/extension/eventsqueryextension"

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensioncapabilities"
	"go.uber.org/zap"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// reopenInterval spaces the attempts to connect while ClickHouse is down, so
// that a burst of requests does not become a burst of dials; it matches the
// Retry-After of the 503 answers.
const reopenInterval = time.Second

// store is a reader that holds a connection.
type store interface {
	reader
	Close() error
}

// opener connects to the engine the config names.
type opener func(ctx context.Context, cfg storage.Config) (store, error)

func openStorage(ctx context.Context, cfg storage.Config) (store, error) {
	s, err := storage.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

type queryExtension struct {
	cfg      *Config
	settings extension.Settings
	stores   *lazyStore
	handler  http.Handler
	// readAuth is the authenticator of the extension's `auth` setting,
	// applied by the extension on its own port and by the events receiver on
	// the API port; nil without one.
	readAuth *httpapi.Authenticator
	board    *statusBoard

	server     *http.Server
	addr       net.Addr // where the server listens, once started
	shutdownWG sync.WaitGroup
}

var (
	_ extension.Extension                          = (*queryExtension)(nil)
	_ httpapi.ReadRoutes                           = (*queryExtension)(nil)
	_ extensioncapabilities.ComponentStatusWatcher = (*queryExtension)(nil)
)

// Changed implements extensioncapabilities.ComponentStatusWatcher: the
// host reports every component's status changes here, and GET /health
// reports the components whose latest status is an error.
func (e *queryExtension) Changed(source *componentstatus.InstanceID, event *componentstatus.Event) {
	e.board.changed(source, event)
}

func newQueryExtension(cfg *Config, set extension.Settings, open opener) *queryExtension {
	stores := &lazyStore{
		cfg:            cfg.ClickHouse,
		open:           open,
		logger:         set.Logger,
		reopenInterval: reopenInterval,
		now:            time.Now,
		sem:            make(chan struct{}, 1),
	}
	h := newHandler(cfg, set.Logger, stores.get)
	return &queryExtension{
		cfg:      cfg,
		settings: set,
		stores:   stores,
		handler:  h,
		board:    h.board,
	}
}

// ReadHandler implements httpapi.ReadRoutes: the events receiver serves the
// same routes on its own port.
func (e *queryExtension) ReadHandler() http.Handler { return e.handler }

// ReadAuthenticator implements httpapi.ReadRoutes.
func (e *queryExtension) ReadAuthenticator() *httpapi.Authenticator { return e.readAuth }

// serveAuthenticated serves the extension's own port: every route but the
// API description needs a credential of the `auth` setting.
func (e *queryExtension) serveAuthenticated(w http.ResponseWriter, req *http.Request) {
	if req.URL.EscapedPath() != httpapi.RouteOpenAPI {
		var ok bool
		if req, ok = httpapi.Authorize(w, req, e.readAuth, nil, "read"); !ok {
			return
		}
	}
	e.handler.ServeHTTP(w, req)
}

// Start connects to ClickHouse and starts serving. A ClickHouse that is down
// at start is not fatal: requests answer 503 and connect again later.
func (e *queryExtension) Start(ctx context.Context, host component.Host) error {
	if _, err := e.stores.get(ctx); err != nil {
		e.settings.Logger.Warn("ClickHouse is not reachable yet; reads answer 503 until it is",
			zap.String("endpoint", e.cfg.ClickHouse.Endpoint), zap.Error(err))
	}
	readAuth, err := httpapi.NewAuthenticator(ctx, e.cfg.ServerConfig.Auth, host.GetExtensions())
	if err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	e.readAuth = readAuth
	ln, err := e.cfg.ServerConfig.ToListener(ctx)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", e.cfg.ServerConfig.NetAddr.Endpoint, err)
	}
	// The routes authenticate (serveAuthenticated), so that the same
	// authenticator also guards them on the API port and the API description
	// stays open.
	server := e.cfg.ServerConfig
	server.Auth = configoptional.None[confighttp.AuthConfig]()
	e.server, err = server.ToServer(ctx, host.GetExtensions(), e.settings.TelemetrySettings,
		http.HandlerFunc(e.serveAuthenticated), confighttp.WithErrorHandler(httpapi.WriteServerError))
	if err != nil {
		_ = ln.Close()
		return err
	}
	e.addr = ln.Addr()
	e.settings.Logger.Info("Events query API listening", zap.String("endpoint", e.addr.String()))
	e.shutdownWG.Add(1)
	go func() {
		defer e.shutdownWG.Done()
		if err := e.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			componentstatus.ReportStatus(host, componentstatus.NewFatalErrorEvent(err))
		}
	}()
	return nil
}

// Shutdown stops the server, waiting for requests in flight until ctx ends,
// and closes the connection. It works without Start.
func (e *queryExtension) Shutdown(ctx context.Context) error {
	var errs []error
	if e.server != nil {
		if err := e.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
			// ctx ended with requests in flight: drop their connections.
			_ = e.server.Close()
		}
	}
	e.shutdownWG.Wait()
	if err := e.stores.close(ctx); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

var errShutdown = errors.New("the eventsquery extension is shut down")

// lazyStore connects on first use and again after a failed attempt, one
// attempt at a time.
type lazyStore struct {
	cfg            storage.Config
	open           opener
	logger         *zap.Logger
	reopenInterval time.Duration
	now            func() time.Time

	ready  atomic.Pointer[storeRef] // set once connected; the lock-free path
	closed atomic.Bool

	// sem is held while connecting or closing; a channel rather than a
	// mutex so that waiting for it honours the request's context.
	sem         chan struct{}
	lastErr     error
	lastAttempt time.Time
}

type storeRef struct{ store store }

func (l *lazyStore) get(ctx context.Context) (reader, error) {
	if ref := l.ready.Load(); ref != nil {
		return ref.store, nil
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the connection to ClickHouse: %w", ctx.Err())
	}
	defer func() { <-l.sem }()
	if l.closed.Load() {
		return nil, errShutdown
	}
	if ref := l.ready.Load(); ref != nil {
		return ref.store, nil
	}
	if l.lastErr != nil && l.now().Sub(l.lastAttempt) < l.reopenInterval {
		return nil, l.lastErr
	}
	s, err := l.open(ctx, l.cfg)
	l.lastAttempt = l.now()
	if err != nil {
		l.lastErr = fmt.Errorf("connect to ClickHouse at %s: %w", l.cfg.Endpoint, err)
		return nil, l.lastErr
	}
	if l.closed.Load() {
		// Shutdown gave up waiting for this attempt; nobody else will close it.
		_ = s.Close()
		return nil, errShutdown
	}
	l.lastErr = nil
	l.ready.Store(&storeRef{store: s})
	l.logger.Info("ClickHouse connection ready",
		zap.String("endpoint", l.cfg.Endpoint), zap.String("database", l.cfg.Database))
	return s, nil
}

// close refuses further connections and closes the current one. When ctx
// ends while a connection attempt is in flight, that attempt closes what it
// opens.
func (l *lazyStore) close(ctx context.Context) error {
	l.closed.Store(true)
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-l.sem }()
	ref := l.ready.Swap(nil)
	if ref == nil {
		return nil
	}
	if err := ref.store.Close(); err != nil {
		return fmt.Errorf("close the ClickHouse connection: %w", err)
	}
	return nil
}
