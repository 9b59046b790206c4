package eventsreceiver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/extension/extensionauth"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// tokenAuth accepts one bearer token, as bearertokenauth does.
type tokenAuth struct {
	component.StartFunc
	component.ShutdownFunc
	token string
}

func (a *tokenAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	for _, v := range sources["Authorization"] {
		if v == "Bearer "+a.token {
			return ctx, nil
		}
	}
	return ctx, errors.New("missing or invalid bearer token")
}

var _ extensionauth.Server = (*tokenAuth)(nil)

// fakeQuery serves every read with 200 and has its own authenticator.
type fakeQuery struct {
	component.StartFunc
	component.ShutdownFunc
	auth *httpapi.Authenticator
}

func (q *fakeQuery) ReadHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

func (q *fakeQuery) ReadAuthenticator() *httpapi.Authenticator { return q.auth }

type extensionsHost map[component.ID]component.Component

func (h extensionsHost) GetExtensions() map[component.ID]component.Component { return h }

func authSetting(id component.ID) configoptional.Optional[confighttp.AuthConfig] {
	return configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: id}})
}

// TestReadAndWriteKeys: on the API port, writes take the receiver's
// credentials and reads the query extension's; a key of the other kind is
// refused with 403, no key or an unknown one with 401, in the JSON shape.
func TestReadAndWriteKeys(t *testing.T) {
	writeID := component.MustNewIDWithName("bearertokenauth", "write")
	readID := component.MustNewIDWithName("bearertokenauth", "read")
	queryID := component.MustNewID("eventsquery")
	host := extensionsHost{
		writeID: &tokenAuth{token: "w"},
		readID:  &tokenAuth{token: "r"},
	}
	readAuth, err := httpapi.NewAuthenticator(context.Background(), authSetting(readID), host)
	if err != nil {
		t.Fatal(err)
	}
	host[queryID] = &fakeQuery{auth: readAuth}

	sink := new(consumertest.LogsSink)
	addr := freePort(t)
	r := newTestReceiver(t, sink, func(c *Config) {
		c.ServerConfig.NetAddr.Endpoint = addr
		c.ServerConfig.Auth = authSetting(writeID)
		c.Query = &queryID
	})
	if err := r.Start(context.Background(), host); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Shutdown(context.Background()) })

	write := func(token string) (int, string) {
		return send(t, "POST", "http://"+addr+"/event/", token, validEvent)
	}
	read := func(token string) (int, string) {
		return send(t, "GET", "http://"+addr+"/analytics/latency", token, "")
	}
	tests := []struct {
		name     string
		do       func(string) (int, string)
		token    string
		wantCode int
		wantErr  string
	}{
		{"write key writes", write, "w", 202, ""},
		{"read key cannot write", write, "r", 403, "forbidden"},
		{"no key cannot write", write, "", 401, "unauthorized"},
		{"unknown key cannot write", write, "x", 401, "unauthorized"},
		{"read key reads", read, "r", 200, ""},
		{"write key cannot read", read, "w", 403, "forbidden"},
		{"no key cannot read", read, "", 401, "unauthorized"},
		{"health is a read", func(tok string) (int, string) { return send(t, "GET", "http://"+addr+"/health", tok, "") }, "w", 403, "forbidden"},
		{"the API description is open", func(tok string) (int, string) {
			return send(t, "GET", "http://"+addr+"/openapi.yaml", tok, "")
		}, "", 200, ""},
	}
	for _, tt := range tests {
		status, code := tt.do(tt.token)
		if status != tt.wantCode || code != tt.wantErr {
			t.Errorf("%s: got %d %q, want %d %q", tt.name, status, code, tt.wantCode, tt.wantErr)
		}
	}
	if n := sink.LogRecordCount(); n != 1 {
		t.Fatalf("%d writes reached the pipeline, want 1", n)
	}
}

// send makes one request and returns its status and error code ("" when
// the answer is not an error).
func send(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 400 {
		return resp.StatusCode, ""
	}
	var e httpapi.ErrorBody
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Message == "" {
		t.Fatalf("%s %s: %d answer not in the JSON error shape (%v)", method, url, resp.StatusCode, err)
	}
	return resp.StatusCode, e.Error.Code
}
