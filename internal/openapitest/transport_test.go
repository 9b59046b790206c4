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
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
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
		{"LLM call fields on a write", "POST", "/event/", `{"conversation_id":"c","event_name":"e","model":"m","input_tokens":3,"trace_id":""}`,
			jsonAnswer(202, `{"id":"x"}`), ""},
		{"update of a token count refused", "PUT", "/event/x", `{"output_tokens":42}`,
			jsonAnswer(400, `{"error":{"code":"missing_field","message":"m"}}`), "refused it as invalid"},
		{"cost on a write accepted", "POST", "/event/", `{"conversation_id":"c","event_name":"e","cost":1}`, jsonAnswer(202, `{"id":"x"}`), "refuses the request"},
		{"degraded health", "GET", "/health", "", jsonAnswer(200, `{"status":"degraded","clickhouse":"ok","reasons":[`+
			`{"source":"data_age","status":"Lagging","message":"m","since":"2026-12-03T09:58:00.000Z"}]}`), ""},
		{"health reason of an unknown status", "GET", "/health", "", jsonAnswer(200, `{"status":"degraded","reasons":[`+
			`{"source":"s","status":"Broken","message":"m"}]}`), "response"},
		{"malformed X-Data-Age", "GET", "/analytics/models/latency", "", func(w http.ResponseWriter) {
			w.Header().Set("X-Data-Age", "soon")
			jsonAnswer(200, `{"data":[]}`)(w)
		}, "response"},
		{"dashboard redirect", "GET", "/", "", func(w http.ResponseWriter) {
			w.Header().Set("Location", "ui/")
			w.WriteHeader(http.StatusFound)
		}, ""},
		{"health_check extension's readiness", "GET", "/", "",
			jsonAnswer(200, `{"status":"Server available","upSince":"2026-12-03T17:53:06Z","uptime":"1s"}`), ""},
		{"dashboard redirect answered 200", "GET", "/", "", jsonAnswer(200, `{"status":"ok"}`), "response"},
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
