//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/docs"
)

// TestReadAndWriteKeysOnOnePort runs config/single-node.yaml with the
// config/api-keys.yaml overlay: on the API port a write key only writes and
// a read key only reads; the query extension's own port takes the read key;
// every refusal is in the JSON error shape.
func TestReadAndWriteKeysOnOnePort(t *testing.T) {
	const writeKey, readKey, unknownKey = "write-key-e2e", "read-key-e2e", "unknown-key-e2e"
	apiPort := freePort(t)
	env := append(singleNodeEnv(t, t.TempDir(), apiPort), "WRITE_API_KEY="+writeKey, "READ_API_KEY="+readKey)
	c := startCollectorReady(t, "config/single-node.yaml", env, apiPort,
		"http://127.0.0.1:"+envValue(env, "HEALTH_PORT")+"/",
		"--config", filepath.Join(repoRoot(t), "config/api-keys.yaml"),
		// Every log line, so that no key can hide below the level.
		"--config", "yaml:service::telemetry::logs::level: debug")
	queryURL := "http://127.0.0.1:" + envValue(env, "QUERY_PORT")

	conv := uniqueName("keys")
	create := fmt.Sprintf(`{"conversation_id":%q,"event_name":"e","id":%q}`, conv, conv+"-1")
	tests := []struct {
		name, method, url, key, body string
		wantStatus                   int
		wantCode                     string
	}{
		{"write key creates", "POST", c.baseURL + "/event/", writeKey, create, 202, ""},
		{"write key batches", "POST", c.baseURL + "/events/batch", writeKey, `[{"op":"delete","id":"nothing"}]`, 202, ""},
		{"read key cannot create", "POST", c.baseURL + "/event/", readKey, create, 403, "forbidden"},
		{"read key cannot update", "PUT", c.baseURL + "/event/" + conv + "-1", readKey, `{"error":"x"}`, 403, "forbidden"},
		{"read key cannot delete", "DELETE", c.baseURL + "/event/" + conv + "-1", readKey, "", 403, "forbidden"},
		{"no key cannot create", "POST", c.baseURL + "/event/", "", create, 401, "unauthorized"},
		{"unknown key cannot create", "POST", c.baseURL + "/event/", unknownKey, create, 401, "unauthorized"},
		{"read key reads", "GET", c.baseURL + "/analytics/latency?limit=5", readKey, "", 200, ""},
		{"read key checks health", "GET", c.baseURL + "/health", readKey, "", 200, ""},
		{"write key cannot read", "GET", c.baseURL + "/events/conversation/" + conv, writeKey, "", 403, "forbidden"},
		{"write key cannot read analytics", "GET", c.baseURL + "/analytics/sessions/top-errors", writeKey, "", 403, "forbidden"},
		{"no key cannot read", "GET", c.baseURL + "/event/" + conv + "-1", "", "", 401, "unauthorized"},
		{"query port: read key reads", "GET", queryURL + "/analytics/errors?event_name=e", readKey, "", 200, ""},
		{"query port: write key is unknown there", "GET", queryURL + "/analytics/errors?event_name=e", writeKey, "", 401, "unauthorized"},
		{"query port: no key", "GET", queryURL + "/dead-letters", "", "", 401, "unauthorized"},
		{"API description is open", "GET", c.baseURL + "/openapi.yaml", "", "", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := callKey(t, tt.method, tt.url, tt.key, tt.body)
			if r.status != tt.wantStatus {
				t.Fatalf("got %d %s, want %d", r.status, r.body, tt.wantStatus)
			}
			if tt.wantCode == "" {
				return
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Fatalf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if e, _ := r.json(t)["error"].(map[string]any); e["code"] != tt.wantCode || e["message"] == "" {
				t.Fatalf("error %s, want code %s", r.body, tt.wantCode)
			}
		})
	}
	// The write key's create is stored, and the read key sees it.
	eventually(t, 15*time.Second, func() string {
		r := callKey(t, "GET", c.baseURL+"/event/"+conv+"-1", readKey, "")
		if r.status != http.StatusOK {
			return fmt.Sprintf("GET /event: %d %s", r.status, r.body)
		}
		return ""
	})
	// No key, known or not, reaches the collector's log.
	logs := c.logs.String()
	if !strings.Contains(logs, "debug") {
		t.Fatalf("the collector logged nothing at debug level:\n%s", tail(logs, 20))
	}
	for _, key := range []string{writeKey, readKey, unknownKey} {
		if strings.Contains(logs, key) {
			t.Errorf("the log holds the key %q", key)
		}
	}
}

func callKey(t *testing.T, method, url, key, body string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, stringsReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: data, header: resp.Header}
}

// TestOpenAPIServed: the API port and the query port answer docs/openapi.yaml
// as it is in the repository.
func TestOpenAPIServed(t *testing.T) {
	apiPort := freePort(t)
	env := singleNodeEnv(t, t.TempDir(), apiPort)
	c := startCollector(t, "config/single-node.yaml", env, apiPort)
	for _, base := range []string{c.baseURL, "http://127.0.0.1:" + envValue(env, "QUERY_PORT")} {
		r := call(t, "GET", base+"/openapi.yaml", nil)
		if r.status != http.StatusOK || !bytes.Equal(r.body, docs.OpenAPI) || r.header.Get("Content-Type") != "application/yaml" {
			t.Errorf("%s/openapi.yaml: %d %q, %d bytes (want %d)", base, r.status, r.header.Get("Content-Type"), len(r.body), len(docs.OpenAPI))
		}
	}
}

// TestTooLargeBodyAnswers413 sends 64 MiB to the collector (max_request_body_size
// 10 MiB) from a raw client that writes the whole request before it reads:
// it must read the 413 in the JSON shape, not a reset or a broken pipe.
func TestTooLargeBodyAnswers413(t *testing.T) {
	apiPort := freePort(t)
	c := startCollector(t, "config/single-node.yaml", singleNodeEnv(t, t.TempDir(), apiPort), apiPort)
	addr := strings.TrimPrefix(c.baseURL, "http://")
	const size = 64 << 20
	zeros := make([]byte, 1<<20)
	tests := []struct {
		name   string
		header string
		body   func(w io.Writer) error
	}{
		{"Content-Length, no Expect", fmt.Sprintf("Content-Length: %d\r\n", size), func(w io.Writer) error {
			for range size / len(zeros) {
				if _, err := w.Write(zeros); err != nil {
					return err
				}
			}
			return nil
		}},
		{"chunked, no Content-Length", "Transfer-Encoding: chunked\r\n", func(w io.Writer) error {
			for range size / len(zeros) {
				if _, err := fmt.Fprintf(w, "%x\r\n%s\r\n", len(zeros), zeros); err != nil {
					return err
				}
			}
			_, err := io.WriteString(w, "0\r\n\r\n")
			return err
		}},
		{"Expect: 100-continue", fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\n", size), func(io.Writer) error { return nil }},
	}
	for _, tt := range tests {
		for _, path := range []string{"/event/", "/events/batch"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
				w := bufio.NewWriterSize(conn, 256<<10)
				fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%s\r\n", path, addr, tt.header)
				if err := tt.body(w); err != nil {
					t.Fatalf("sending: %v", err)
				}
				if err := w.Flush(); err != nil {
					t.Fatalf("sending: %v", err)
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("reading the answer: %v", err)
				}
				defer resp.Body.Close()
				var e struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge ||
					e.Error.Code != "too_large" || e.Error.Message == "" {
					t.Fatalf("got %d %+v (%v), want 413 too_large", resp.StatusCode, e, err)
				}
			})
		}
	}
}
