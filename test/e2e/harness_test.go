//go:build e2e

// Package e2e runs the built distribution (bin/otelcol-events) against the
// real services of `make services` and the embedded engine of `make chdb`.
// `make test` builds the binary and runs these tests with -tags e2e.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/otelcol-events/otelcol-events/internal/chdb/chdbtest"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
)

// repoRoot is two directories up from this package.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("OTELCOL_EVENTS_BIN")
	if bin == "" {
		bin = filepath.Join(repoRoot(t), "bin", "otelcol-events")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("collector binary %s not found: run `make build` (or set OTELCOL_EVENTS_BIN)", bin)
	}
	return bin
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// collector is one running otelcol-events process.
type collector struct {
	t       testing.TB
	cmd     *exec.Cmd
	baseURL string
	ready   string // answers 200 once the collector serves
	env     []string
	config  string
	// args are more command-line arguments, e.g. `--config yaml:...`
	// overrides of the configuration file.
	args []string
	logs *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// singleNodeEnv returns the environment of config/single-node.yaml with every
// port free and the data under dir.
func singleNodeEnv(t testing.TB, dir, apiPort string) []string {
	return []string{
		"API_PORT=" + apiPort,
		"QUERY_PORT=" + freePort(t),
		"OTLP_GRPC_PORT=" + freePort(t),
		"OTLP_HTTP_PORT=" + freePort(t),
		"HEALTH_PORT=" + freePort(t),
		"METRICS_PORT=" + freePort(t),
		"DATA_DIR=" + dir,
		"CHDB_LIB=" + chdbtest.Library(t),
	}
}

// startCollector runs the binary with config and env and waits for /health.
func startCollector(t testing.TB, config string, env []string, apiPort string) *collector {
	t.Helper()
	return startCollectorReady(t, config, env, apiPort, "http://127.0.0.1:"+apiPort+"/health")
}

// startCollectorReady is startCollector waiting for ready instead of the
// read API's /health, which answers 503 while ClickHouse is unreachable.
func startCollectorReady(t testing.TB, config string, env []string, apiPort, ready string, args ...string) *collector {
	t.Helper()
	c := &collector{t: t, baseURL: "http://127.0.0.1:" + apiPort, ready: ready, env: env, config: config, args: args, logs: &syncBuffer{}}
	c.start()
	t.Cleanup(func() {
		c.stop()
		if t.Failed() {
			t.Logf("collector output:\n%s", tail(c.logs.String(), 60))
		}
	})
	return c
}

func (c *collector) start() {
	c.t.Helper()
	c.cmd = exec.Command(binary(c.t), append([]string{"--config", filepath.Join(repoRoot(c.t), c.config)}, c.args...)...)
	c.cmd.Dir = repoRoot(c.t)
	c.cmd.Env = append(os.Environ(), c.env...)
	c.cmd.Stdout = c.logs
	c.cmd.Stderr = c.logs
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.done = make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(c.done) }()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			c.t.Fatalf("collector exited during start-up:\n%s", tail(c.logs.String(), 40))
		default:
		}
		resp, err := http.Get(c.ready)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	c.t.Fatalf("collector did not answer %s within 90s:\n%s", c.ready, tail(c.logs.String(), 40))
}

// kill stops the process with SIGKILL: nothing is flushed.
func (c *collector) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
}

func (c *collector) stop() {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		c.kill()
	}
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.status, r.body)
	}
	return m
}

func call(t testing.TB, method, url string, body any) response {
	t.Helper()
	return callWith(t, http.DefaultClient, method, url, body)
}

// callWith is call through client (e.g. one with a timeout).
func callWith(t testing.TB, client *http.Client, method, url string, body any) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, body: data, header: resp.Header}
}

// eventually polls check until it returns "" or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, check func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("not true after %s: %s", timeout, last)
}

// envValue returns the value of key in an environment list such as
// kafkaEnv's, or "".
func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
}

func stringsReader(s string) io.Reader {
	if s == "" {
		return nil
	}
	return strings.NewReader(s)
}

// netRows runs query, which selects (id String, sum(sign) Int64) rows of
// the events table, and returns the ids whose rows do not net to zero.
func netRows(t testing.TB, conn driver.Conn, query string, args ...any) map[string]int64 {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int64{}
	for rows.Next() {
		var (
			id string
			n  int64
		)
		if err := rows.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			got[id] = n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

// conversationPage reads the first page of a conversation through the read
// API, of up to 1000 events (the API's maximum limit); the string says what
// went wrong, "" when the page was read.
func conversationPage(t testing.TB, baseURL, conv string) ([]httpapi.Event, string) {
	t.Helper()
	r := call(t, "GET", baseURL+"/events/conversation/"+conv+"?limit=1000", nil)
	if r.status != http.StatusOK {
		return nil, fmt.Sprintf("conversation %s: %d %s", conv, r.status, r.body)
	}
	var page struct {
		Events []httpapi.Event `json:"events"`
	}
	if err := json.Unmarshal(r.body, &page); err != nil {
		return nil, fmt.Sprintf("conversation %s: %v: %s", conv, err, r.body)
	}
	return page.Events, ""
}
