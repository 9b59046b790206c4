package eventsreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
)

// TestAbusiveBodies: bodies built to hurt a JSON API, through the real
// server: each gets its documented 4xx in the JSON error shape, nothing
// reaches the pipeline, and the server answers normally afterwards.
func TestAbusiveBodies(t *testing.T) {
	sink := new(consumertest.LogsSink)
	addr := freePort(t)
	r := newTestReceiver(t, sink, func(c *Config) { c.ServerConfig.NetAddr.Endpoint = addr })
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = r.Shutdown(context.Background()) }()

	var bomb bytes.Buffer // 64 MiB of zeros in about 64 KiB
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	_, _ = zw.Write([]byte(`[{"conversation_id":"c","event_name":"n","input":"`))
	zeros := make([]byte, 1<<20)
	for range 64 {
		_, _ = zw.Write(zeros)
	}
	_ = zw.Close()

	tests := []struct {
		name     string
		path     string
		body     []byte
		gzip     bool
		status   int
		wantCode string
	}{
		{"gzip bomb", "/events/batch", bomb.Bytes(), true, 413, "too_large"},
		{"100 000-deep nesting", "/event/", []byte(`{"conversation_id":"c","event_name":"n","attributes":` + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + `}`), false, 400, ""},
		{"deep nesting in a batch", "/events/batch", []byte(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000)), false, 400, ""},
		{"a number beyond float64", "/event/", []byte(`{"conversation_id":"c","event_name":"n","latency":1e400}`), false, 400, ""},
		{"invalid UTF-8", "/event/", []byte("{\"conversation_id\":\"c\xff\",\"event_name\":\"n\"}"), false, 400, "invalid_utf8"},
		{"not JSON", "/event/", []byte("\x00\x01\x02"), false, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", "http://"+addr+tt.path, bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.gzip {
				req.Header.Set("Content-Encoding", "gzip")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if resp.StatusCode != tt.status || json.Unmarshal(data, &e) != nil || e.Error.Code == "" || e.Error.Message == "" ||
				tt.wantCode != "" && e.Error.Code != tt.wantCode {
				t.Fatalf("%d %s, want %d %s in the JSON error shape", resp.StatusCode, data, tt.status, tt.wantCode)
			}
		})
	}
	if n := sink.LogRecordCount(); n != 0 {
		t.Fatalf("%d records reached the pipeline", n)
	}
	resp, err := http.Post("http://"+addr+"/event/", "application/json", strings.NewReader(validEvent))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("after the abuse: %d", resp.StatusCode)
	}
}
