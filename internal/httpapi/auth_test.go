package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
)

// keyAuth accepts one key, from the header "Api-Key".
type keyAuth struct {
	component.StartFunc
	component.ShutdownFunc
	key string
}

func (a *keyAuth) Authenticate(ctx context.Context, sources map[string][]string) (context.Context, error) {
	for _, v := range sources["Api-Key"] {
		if v == a.key {
			return ctx, nil
		}
	}
	return ctx, errors.New("no valid key")
}

func TestAuthorize(t *testing.T) {
	t.Parallel()
	writeID, readID := component.MustNewIDWithName("keyauth", "write"), component.MustNewIDWithName("keyauth", "read")
	extensions := map[component.ID]component.Component{writeID: &keyAuth{key: "w"}, readID: &keyAuth{key: "r"}}
	setting := func(id component.ID, params ...string) configoptional.Optional[confighttp.AuthConfig] {
		return configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: id}, RequestParameters: params})
	}
	// The write key may also come as the query parameter Api-Key.
	write, err := NewAuthenticator(context.Background(), setting(writeID, "Api-Key"), extensions)
	if err != nil {
		t.Fatal(err)
	}
	read, err := NewAuthenticator(context.Background(), setting(readID), extensions)
	if err != nil {
		t.Fatal(err)
	}
	if none, err := NewAuthenticator(context.Background(), configoptional.None[confighttp.AuthConfig](), extensions); none != nil || err != nil {
		t.Fatalf("no auth setting: %v, %v", none, err)
	}
	if _, err := NewAuthenticator(context.Background(), setting(component.MustNewID("missing")), extensions); err == nil {
		t.Fatal("an unknown authenticator resolved")
	}
	tests := []struct {
		name        string
		want, other *Authenticator
		url, key    string
		wantStatus  int
		wantCode    string
	}{
		{"open route", nil, read, "/", "", 0, ""},
		{"right key", write, read, "/", "w", 0, ""},
		{"right key as a parameter", write, read, "/?Api-Key=w", "", 0, ""},
		{"other kind's key", write, read, "/", "r", 403, CodeForbidden},
		{"unknown key", write, read, "/", "x", 401, CodeUnauthorized},
		{"no key", write, read, "/", "", 401, CodeUnauthorized},
		{"other kind's key, same authenticator", write, write, "/", "r", 401, CodeUnauthorized},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.url, nil)
		if tt.key != "" {
			req.Header.Set("Api-Key", tt.key)
		}
		rec := httptest.NewRecorder()
		_, ok := Authorize(rec, req, tt.want, tt.other, "write")
		if tt.wantStatus == 0 {
			if !ok || rec.Body.Len() != 0 {
				t.Errorf("%s: refused: %d %s", tt.name, rec.Code, rec.Body)
			}
			continue
		}
		var body ErrorBody
		if ok || rec.Code != tt.wantStatus || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Code != tt.wantCode || body.Error.Message == "" {
			t.Errorf("%s: ok %v, %d %s; want %d %s", tt.name, ok, rec.Code, rec.Body, tt.wantStatus, tt.wantCode)
		}
	}
}

func TestWriteServerError(t *testing.T) {
	t.Parallel()
	for status, code := range map[int]string{
		http.StatusUnauthorized: CodeUnauthorized, http.StatusForbidden: CodeForbidden,
		http.StatusRequestEntityTooLarge: CodeTooLarge, http.StatusUnsupportedMediaType: CodeUnsupportedMediaType,
		http.StatusBadRequest: CodeInvalidJSON,
	} {
		rec := httptest.NewRecorder()
		WriteServerError(rec, nil, "why\n", status)
		var body ErrorBody
		if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body.Error.Code != code || body.Error.Message != "why" {
			t.Errorf("%d: %d %s, want code %s", status, rec.Code, rec.Body, code)
		}
	}
}
