// Package openapitest checks HTTP exchanges against docs/openapi.yaml: a
// client whose Transport is a *Transport fails every call whose response the
// description does not allow. Tests only; the collector does not import it.
package openapitest // import "github.com/otelcol-events/otelcol-events/internal/openapitest"

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/otelcol-events/otelcol-events/docs"
)

// maxChecked bounds the bodies a Transport reads to check; a larger one
// (a too-large body test) is passed on unchecked.
const maxChecked = 16 << 20

func init() {
	// NDJSON is a batch's other request form: its lines are checked by the
	// server, the description only says it is text.
	openapi3filter.RegisterBodyDecoder("application/x-ndjson", openapi3filter.PlainBodyDecoder)
}

// Transport validates each exchange with a route in docs/openapi.yaml:
//   - the response (status, headers, body) must be one the description
//     documents for the route;
//   - a request the description does not allow must be refused (4xx), and
//     one it allows must not be refused as invalid (400, 415).
//
// Requests to other routes (OTLP, metrics) and the health_check extension's
// answers (GET / on its own port) pass unchecked. A failed check is the call's error and is kept for Failures.
type Transport struct {
	Base   http.RoundTripper
	router routers.Router

	mu       sync.Mutex
	failures []string
	checked  int
}

// New returns a Transport over base that checks against docs/openapi.yaml.
func New(base http.RoundTripper) (*Transport, error) {
	doc, err := openapi3.NewLoader().LoadFromData(docs.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("load docs/openapi.yaml: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml: %w", err)
	}
	// Any host: the tests run collectors on ports of their own.
	doc.Servers = openapi3.Servers{{URL: "/"}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Transport{Base: base, router: router}, nil
}

// Failures returns every check that failed so far.
func (t *Transport) Failures() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.failures...)
}

// Checked returns how many exchanges were checked.
func (t *Transport) Checked() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.checked
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	route, pathParams, err := t.router.FindRoute(req)
	if err != nil {
		var routeErr *routers.RouteError
		if errors.As(err, &routeErr) && routeErr.Reason == routers.ErrMethodNotAllowed.Error() && req.Method != http.MethodHead {
			// A method the route does not have: the answer is a 405, whose
			// shape the route's operations document. HEAD, which the
			// description leaves out, is answered as GET without a body.
			return t.checkMethodNotAllowed(req)
		}
		return t.Base.RoundTrip(req)
	}
	for name, value := range pathParams {
		// The router matches the escaped path; a parameter's value is what
		// it escapes (an id with '/' is sent as %2F).
		if unescaped, err := url.PathUnescape(value); err == nil {
			pathParams[name] = unescaped
		}
	}
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		body := req.Body
		reqBody, err = io.ReadAll(io.LimitReader(body, maxChecked+1))
		if err != nil {
			return nil, err
		}
		if len(reqBody) > maxChecked {
			// Too large to check: sent on as it is.
			req.Body = readCloser{io.MultiReader(bytes.NewReader(reqBody), body), body}
			return t.Base.RoundTrip(req)
		}
		body.Close()
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	reqErr := t.validateRequest(req, route, pathParams, reqBody)

	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	if healthCheckExtension(route, respBody) {
		return resp, nil
	}

	var problems []string
	if rerr := openapi3filter.ValidateResponse(req.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: pathParams, Route: route},
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}); rerr != nil {
		problems = append(problems, "response: "+rerr.Error())
	}
	switch {
	case reqErr != nil && resp.StatusCode < 400:
		problems = append(problems, fmt.Sprintf("the description refuses the request but the server answered %d: %v", resp.StatusCode, reqErr))
	case reqErr == nil && (resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusUnsupportedMediaType) && !isBatch(route):
		problems = append(problems, fmt.Sprintf("the description allows the request but the server refused it as invalid: %s", respBody))
	}
	return answer(resp, t.record(req, resp.StatusCode, reqBody, problems))
}

// healthCheckExtension reports an answer of the collector's health_check
// extension, which serves GET / on a port of its own (a readiness probe):
// its body has "upSince", no answer of this API's / has a body.
func healthCheckExtension(route *routers.Route, body []byte) bool {
	if route.Path != "/" {
		return false
	}
	var probe struct {
		UpSince *string `json:"upSince"`
	}
	return json.Unmarshal(body, &probe) == nil && probe.UpSince != nil
}

// answer returns resp, or only err: a RoundTripper returns one or the other.
func answer(resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// isBatch: a batch the description allows may still hold operations the
// server refuses one by one (an update of a field to a value another
// operation makes invalid is not expressible), answered 400 when none is
// left; its response is checked all the same.
func isBatch(route *routers.Route) bool { return route.Path == "/events/batch" }

func (t *Transport) validateRequest(req *http.Request, route *routers.Route, pathParams map[string]string, body []byte) error {
	check := req.Clone(req.Context())
	if body != nil {
		if strings.EqualFold(req.Header.Get("Content-Encoding"), "gzip") {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				return fmt.Errorf("gzip: %w", err)
			}
			if body, err = io.ReadAll(zr); err != nil {
				return fmt.Errorf("gzip: %w", err)
			}
			check.Header.Del("Content-Encoding")
		}
		check.Body = io.NopCloser(bytes.NewReader(body))
	}
	return openapi3filter.ValidateRequest(req.Context(), &openapi3filter.RequestValidationInput{
		Request:    check,
		PathParams: pathParams,
		Route:      route,
		Options:    &openapi3filter.Options{MultiError: true, AuthenticationFunc: bearerPresent},
	})
}

// bearerPresent checks that a request carries the credential a security
// scheme of the description names (a bearer token); whether the key is
// right is the server's to say.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if s := in.SecurityScheme; s == nil || s.Type != "http" || !strings.EqualFold(s.Scheme, "bearer") {
		return fmt.Errorf("security scheme %q: not a bearer token", in.SecuritySchemeName)
	}
	if h := in.RequestValidationInput.Request.Header.Get("Authorization"); !strings.HasPrefix(strings.ToLower(h), "bearer ") {
		return fmt.Errorf("security scheme %q: no bearer token", in.SecuritySchemeName)
	}
	return nil
}

func (t *Transport) checkMethodNotAllowed(req *http.Request) (*http.Response, error) {
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	var problems []string
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" ||
		!strings.Contains(string(respBody), `"method_not_allowed"`) {
		problems = append(problems, fmt.Sprintf("a method the route does not have: want 405 method_not_allowed with Allow, got %d %s", resp.StatusCode, respBody))
	}
	return answer(resp, t.record(req, resp.StatusCode, nil, problems))
}

func (t *Transport) record(req *http.Request, status int, body []byte, problems []string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.checked++
	if len(problems) == 0 {
		return nil
	}
	msg := fmt.Sprintf("%s %s (%d) does not conform to docs/openapi.yaml: %s; request body: %s",
		req.Method, req.URL.RequestURI(), status, strings.Join(problems, "; "), clip(body))
	t.failures = append(t.failures, msg)
	return errors.New(msg)
}

type readCloser struct {
	io.Reader
	io.Closer
}

func clip(b []byte) string {
	const n = 300
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
