package browser

import (
	"bytes"
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

// required returns what a test needs from its environment, failing (never
// skipping) when it is missing.
func required(t testing.TB, env, fallback, hint string) string {
	t.Helper()
	v := os.Getenv(env)
	if v == "" {
		v = fallback
	}
	if v == "" {
		t.Fatalf("%s is not set: %s", env, hint)
	}
	if _, err := os.Stat(v); err != nil {
		t.Fatalf("%s=%s: %v (%s)", env, v, err, hint)
	}
	return v
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

// startSingleNode runs the built collector with config/single-node.yaml on
// free ports, its data in a directory of its own, and waits for /health.
// It returns the API's base URL.
func startSingleNode(t *testing.T) string {
	t.Helper()
	bin := required(t, "OTELCOL_EVENTS_BIN", filepath.Join(repoRoot(t), "bin", "otelcol-events"), "run `make build`")
	chdb := required(t, "CHDB_LIB", "", "the embedded engine: CHDB_LIB=$(scripts/services.sh chdb | tail -n1)")
	apiPort := freePort(t)
	cmd := exec.Command(bin, "--config", filepath.Join(repoRoot(t), "config", "single-node.yaml"))
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(),
		"API_PORT="+apiPort,
		"QUERY_PORT="+freePort(t),
		"OTLP_GRPC_PORT="+freePort(t),
		"OTLP_HTTP_PORT="+freePort(t),
		"HEALTH_PORT="+freePort(t),
		"METRICS_PORT="+freePort(t),
		"DATA_DIR="+t.TempDir(),
		"CHDB_LIB="+chdb,
	)
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("collector output (tail):\n%s", tail(logs.String(), 12))
		}
	})
	base := "http://127.0.0.1:" + apiPort
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			t.Fatalf("collector exited during start-up:\n%s", tail(logs.String(), 40))
		default:
		}
		if resp, err := http.Get(base + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("collector did not answer /health within 90s:\n%s", tail(logs.String(), 40))
	return ""
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// call sends one API request and decodes a JSON answer into out (when not
// nil); it fails the test unless the status is want.
func call(t *testing.T, method, url string, body any, want int, out any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s, want %d", method, url, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, data)
		}
	}
}

func must(t testing.TB, err error, what string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}
