package eventsqueryextension

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configauth"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
)

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

type extensionsHost map[component.ID]component.Component

func (h extensionsHost) GetExtensions() map[component.ID]component.Component { return h }

// TestOwnPortAuth: the extension's `auth` guards its own port with answers
// in the JSON error shape (confighttp's own is plain text), leaves the API
// description open, and is handed to the receiver for the API port.
func TestOwnPortAuth(t *testing.T) {
	t.Parallel()
	authID := component.MustNewIDWithName("bearertokenauth", "read")
	cfg := testConfig()
	cfg.ClickHouse.Endpoint = "tcp://127.0.0.1:1"
	cfg.ClickHouse.DialTimeout = time.Second
	cfg.ServerConfig.Auth = configoptional.Some(confighttp.AuthConfig{Config: configauth.Config{AuthenticatorID: authID}})
	ext, err := NewFactory().Create(context.Background(), testSettings(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ext.Start(context.Background(), extensionsHost{authID: &tokenAuth{token: "r"}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ext.Shutdown(context.Background()) })
	base := "http://" + ext.(*queryExtension).addr.String()

	if a := get(t, base+"/analytics/latency"); a.status != http.StatusUnauthorized ||
		!strings.Contains(a.body, `"code":"unauthorized"`) || a.header.Get("Content-Type") != "application/json" {
		t.Errorf("without a key: %d %q %s", a.status, a.header.Get("Content-Type"), a.body)
	}
	req, _ := http.NewRequest("GET", base+"/analytics/latency?limit=0", nil)
	req.Header.Set("Authorization", "Bearer r")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("with the read key: %d, want the route's own 400", resp.StatusCode)
	}
	if a := get(t, base+"/openapi.yaml"); a.status != http.StatusOK || !strings.HasPrefix(a.body, "openapi: 3.1") {
		t.Errorf("/openapi.yaml: %d", a.status)
	}
	if ext.(*queryExtension).ReadAuthenticator() == nil {
		t.Error("ReadAuthenticator is nil with auth configured")
	}
}
