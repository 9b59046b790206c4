package openapitest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestTransportCatchesWhatTheDescriptionRefuses: the checks are not a no-op.
func TestTransportCatchesWhatTheDescriptionRefuses(t *testing.T) {
	t.Parallel()
	var answer func(w http.ResponseWriter)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { answer(w) }))
	t.Cleanup(srv.Close)
	tr, err := New(http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: tr}
	jsonAnswer := func(status int, body string) func(w http.ResponseWriter) {
		return func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name, method, path, body string
		answer                   func(w http.ResponseWriter)
		wantErr                  string
	}{
		{"documented 202", "POST", "/event/", `{"conversation_id":"c","event_name":"e"}`, jsonAnswer(202, `{"id":"x"}`), ""},
		{"202 without id", "POST", "/event/", `{"conversation_id":"c","event_name":"e"}`, jsonAnswer(202, `{}`), "response"},
		{"plain-text 401", "GET", "/analytics/latency", "", func(w http.ResponseWriter) { http.Error(w, "no", 401) }, "response"},
		{"undocumented status", "GET", "/health", "", jsonAnswer(418, `{"status":"ok"}`), "response"},
		{"invalid request accepted", "POST", "/event/", `{"conversation_id":"c"}`, jsonAnswer(202, `{"id":"x"}`), "refuses the request"},
		{"valid request refused", "POST", "/event/", `{"conversation_id":"c","event_name":"e"}`,
			jsonAnswer(400, `{"error":{"code":"invalid_json","message":"m"}}`), "refused it as invalid"},
		{"503 without Retry-After", "POST", "/event/", `{"conversation_id":"c","event_name":"e"}`,
			jsonAnswer(503, `{"error":{"code":"unavailable","message":"m"}}`), "response"},
		{"405 without Allow", "PATCH", "/health", "", jsonAnswer(405, `{"error":{"code":"method_not_allowed","message":"m"}}`), "405"},
		{"route outside the description", "GET", "/v1/logs", "", func(w http.ResponseWriter) { w.WriteHeader(299) }, ""},
	}
	for _, tt := range tests {
		answer = tt.answer
		req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
		if tt.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if resp != nil {
			resp.Body.Close()
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: err = %v, want one about %q", tt.name, err, tt.wantErr)
		}
	}
}
