package httpapi // import "github.com/otelcol-events/otelcol-events/internal/httpapi"

import (
	"context"
	"net/http"
	"strings"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensionauth"
)

// CodeForbidden is the error code of a credential that an authenticator of
// the other kind of route accepts (a read key on a write, or the reverse).
const CodeForbidden = "forbidden"

// Authenticator checks requests with a server auth extension, as
// confighttp's `auth` setting does, but per route: the API port serves writes
// and reads, each with its own credentials.
type Authenticator struct {
	server        extensionauth.Server
	requestParams []string
}

// NewAuthenticator resolves the auth extension of an `auth` setting; nil
// when the setting is absent.
func NewAuthenticator(ctx context.Context, auth configoptional.Optional[confighttp.AuthConfig], extensions map[component.ID]component.Component) (*Authenticator, error) {
	cfg := auth.Get()
	if cfg == nil {
		return nil, nil
	}
	server, err := cfg.Config.GetServerAuthenticator(ctx, extensions)
	if err != nil {
		return nil, err
	}
	return &Authenticator{server: server, requestParams: cfg.RequestParameters}, nil
}

// Authenticate checks req; on success it returns req with the context the
// authenticator gave (client.Info's auth data).
func (a *Authenticator) Authenticate(req *http.Request) (*http.Request, error) {
	sources := req.Header
	if len(a.requestParams) > 0 {
		// As confighttp: request parameters reach the authenticator as
		// headers, the query's value first.
		sources = req.Header.Clone()
		query := req.URL.Query()
		for _, param := range a.requestParams {
			if val, ok := query[param]; ok {
				sources[param] = val
			}
		}
	}
	ctx, err := a.server.Authenticate(req.Context(), sources)
	if err != nil {
		return nil, err
	}
	return req.WithContext(ctx), nil
}

// Authorize checks req with want, the authenticator of its kind of route (nil:
// the route is open). A credential that want refuses gets 401 unauthorized,
// or 403 forbidden when other, the authenticator of the other kind of route,
// accepts it: the key is known, but not for this. It reports false when it
// answered.
func Authorize(w http.ResponseWriter, req *http.Request, want, other *Authenticator, kind string) (*http.Request, bool) {
	if want == nil {
		return req, true
	}
	authed, err := want.Authenticate(req)
	if err == nil {
		return authed, true
	}
	if other != nil && other != want {
		if _, otherErr := other.Authenticate(req); otherErr == nil {
			WriteError(w, http.StatusForbidden, CodeForbidden, "this credential cannot "+kind+" (it is a key of the other kind)")
			return nil, false
		}
	}
	WriteError(w, http.StatusUnauthorized, CodeUnauthorized, strings.TrimSpace(err.Error()))
	return nil, false
}

// WriteServerError answers the errors that confighttp writes by itself
// (auth, decompression, body size; confighttp.WithErrorHandler) in the API's
// error shape: its default is plain text.
func WriteServerError(w http.ResponseWriter, _ *http.Request, msg string, status int) {
	code := CodeInvalidJSON
	switch status {
	case http.StatusUnauthorized:
		code = CodeUnauthorized
	case http.StatusForbidden:
		code = CodeForbidden
	case http.StatusRequestEntityTooLarge:
		code = CodeTooLarge
	case http.StatusUnsupportedMediaType:
		code = CodeUnsupportedMediaType
	}
	WriteError(w, status, code, strings.TrimSpace(msg))
}
