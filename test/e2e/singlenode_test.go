//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// The curl examples of the original README, verbatim; only <EVENT_ID> is
// filled in, and -sS -w adds the status code to the output.
var readmeCreate = `curl -X POST http://localhost:8080/event/ \
  -H "Content-Type: application/json" \
  -d '{
    "conversation_id": "conv_001",
    "event_name": "event_a",
    "input": "Hello, world!",
    "output": "Hi there!",
    "latency": 150.5,
    "error": ""
  }'`

var readmeReads = []string{
	`curl http://localhost:8080/health`,
	`curl http://localhost:8080/event/<EVENT_ID>`,
	`curl http://localhost:8080/events/conversation/conv_001`,
	`curl "http://localhost:8080/analytics/errors?event_name=event_a&days=7"`,
	`curl "http://localhost:8080/analytics/latency?limit=50"`,
	`curl "http://localhost:8080/analytics/sessions/top-errors?limit=10"`,
}

func runCurl(t *testing.T, command string) response {
	t.Helper()
	out, err := exec.Command("bash", "-c", command+` -sS -w '\n%{http_code}'`).Output()
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	i := bytes.LastIndexByte(out, '\n')
	var status int
	fmt.Sscanf(string(out[i+1:]), "%d", &status)
	return response{status: status, body: out[:i]}
}

func TestOriginalReadmeCurlExamples(t *testing.T) {
	startCollector(t, "config/single-node.yaml", singleNodeEnv(t, t.TempDir(), "8080"), "8080")
	readmeCurlExamples(t, 15*time.Second)
}

// readmeCurlExamples runs the original README's curl examples against the
// collector on localhost:8080, which must start with no events: create, the
// reads, then the original's update and delete. wait bounds each wait for
// the pipeline to deliver a write to storage.
func readmeCurlExamples(t *testing.T, wait time.Duration) {
	t.Helper()
	created := runCurl(t, readmeCreate)
	if created.status != http.StatusAccepted {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	id, _ := created.json(t)["id"].(string)
	if id == "" {
		t.Fatalf("create answered without id: %s", created.body)
	}

	// "Wait a moment for consumer processing, then read it back"
	eventually(t, wait, func() string {
		r := runCurl(t, strings.ReplaceAll(readmeReads[1], "<EVENT_ID>", id))
		if r.status != http.StatusOK {
			return fmt.Sprintf("GET /event: %d %s", r.status, r.body)
		}
		return ""
	})

	for _, cmd := range readmeReads {
		r := runCurl(t, strings.ReplaceAll(cmd, "<EVENT_ID>", id))
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d %s", cmd, r.status, r.body)
		}
		body := r.json(t)
		switch {
		case strings.Contains(cmd, "/health"):
			if body["status"] != "ok" || body["clickhouse"] != "ok" {
				t.Fatalf("health: %s", r.body)
			}
		case strings.Contains(cmd, "/event/"):
			if body["id"] != id || body["conversation_id"] != "conv_001" || body["event_name"] != "event_a" ||
				body["input"] != "Hello, world!" || body["output"] != "Hi there!" || body["latency"] != 150.5 || body["error"] != "" {
				t.Fatalf("event: %s", r.body)
			}
		case strings.Contains(cmd, "/conversation/"):
			events, _ := body["events"].([]any)
			if len(events) != 1 || events[0].(map[string]any)["id"] != id {
				t.Fatalf("conversation: %s", r.body)
			}
		case strings.Contains(cmd, "/analytics/errors"):
			data, _ := body["data"].([]any)
			if len(data) != 7 {
				t.Fatalf("errors: %s", r.body)
			}
			for _, d := range data {
				if d.(map[string]any)["errors"] != float64(0) {
					t.Fatalf("errors: %s", r.body)
				}
			}
		case strings.Contains(cmd, "/analytics/latency"):
			data, _ := body["data"].([]any)
			if len(data) != 1 {
				t.Fatalf("latency: %s", r.body)
			}
			row := data[0].(map[string]any)
			if row["event_name"] != "event_a" || row["conversation_id"] != "conv_001" || row["p95_latency"] != 150.5 || row["count"] != float64(1) {
				t.Fatalf("latency: %s", r.body)
			}
		case strings.Contains(cmd, "top-errors"):
			if data, _ := body["data"].([]any); len(data) != 0 {
				t.Fatalf("top-errors without errors: %s", r.body)
			}
		}
	}

	// The original's update and delete, then the error shows in analytics.
	if r := call(t, "PUT", "http://localhost:8080/event/"+id, `{"error":"timeout","latency":5000.0}`); r.status != http.StatusAccepted {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	eventually(t, wait, func() string {
		r := call(t, "GET", "http://localhost:8080/analytics/sessions/top-errors?limit=10", nil)
		data, _ := r.json(t)["data"].([]any)
		if len(data) != 1 || data[0].(map[string]any)["errors"] != float64(1) {
			return "top-errors: " + string(r.body)
		}
		ev := call(t, "GET", "http://localhost:8080/event/"+id, nil).json(t)
		if ev["error"] != "timeout" || ev["latency"] != 5000.0 || ev["input"] != "Hello, world!" {
			return fmt.Sprintf("event after update: %v", ev)
		}
		return ""
	})
	if r := call(t, "DELETE", "http://localhost:8080/event/"+id, nil); r.status != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	eventually(t, wait, func() string {
		if r := call(t, "GET", "http://localhost:8080/event/"+id, nil); r.status != http.StatusNotFound {
			return fmt.Sprintf("GET after delete: %d", r.status)
		}
		return ""
	})
}

// TestWriteSemanticsOnServer runs the single-node configuration against the
// ClickHouse server (18.16) instead of the embedded engine.
func TestWriteSemanticsOnServer(t *testing.T) {
	port := freePort(t)
	env := append(singleNodeEnv(t, t.TempDir(), port),
		"CLICKHOUSE_ENDPOINT=tcp://127.0.0.1:9000", "CLICKHOUSE_DATABASE="+storagetest.ServerDatabase(t, "e2e"))
	c := startCollector(t, "config/single-node.yaml", env, port)
	conv := uniqueName("conv")

	// An update and a delete of ids whose create is accepted later: the
	// delete stays final, the update is a patch on the create.
	if r := call(t, "PUT", c.baseURL+"/event/late-1", `{"error":"late"}`); r.status != 202 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", c.baseURL+"/event/late-2", nil); r.status != 202 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var ndjson bytes.Buffer
	zw := gzip.NewWriter(&ndjson)
	for i, id := range []string{"late-1", "late-2", "b-1", "b-2"} {
		fmt.Fprintf(zw, `{"id":%q,"conversation_id":%q,"event_name":"event_b","input":"i%d","latency":%d}`+"\n", id, conv, i, 10*(i+1))
	}
	fmt.Fprintf(zw, `{"op":"update","id":"b-1","output":"patched"}`+"\n")
	_ = zw.Close()
	req, _ := http.NewRequest("POST", c.baseURL+"/events/batch", &ndjson)
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("batch: %d", resp.StatusCode)
	}

	eventually(t, 20*time.Second, func() string {
		r := call(t, "GET", c.baseURL+"/events/conversation/"+conv, nil)
		events, _ := r.json(t)["events"].([]any)
		if len(events) != 3 {
			return fmt.Sprintf("conversation: %s", r.body)
		}
		got := map[string]map[string]any{}
		for _, e := range events {
			m := e.(map[string]any)
			got[m["id"].(string)] = m
		}
		if got["late-1"]["error"] != "late" || got["late-1"]["input"] != "i0" {
			return fmt.Sprintf("late-1: %v", got["late-1"])
		}
		if got["b-1"]["output"] != "patched" || got["b-1"]["input"] != "i2" {
			return fmt.Sprintf("b-1: %v", got["b-1"])
		}
		if _, ok := got["late-2"]; ok {
			return "late-2 was deleted before its create and must stay invisible"
		}
		return ""
	})
	if r := call(t, "GET", c.baseURL+"/event/late-2", nil); r.status != http.StatusNotFound {
		t.Fatalf("late-2: %d %s", r.status, r.body)
	}
	// Bad input gets the documented error and the process stays up.
	if r := call(t, "POST", c.baseURL+"/event/", `{"conversation_id":"c","event_name":"n","latency":-1}`); r.status != 400 ||
		r.json(t)["error"].(map[string]any)["code"] != "invalid_field" {
		t.Fatalf("negative latency: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", c.baseURL+"/analytics/latency?limit=abc", nil); r.status != 400 {
		t.Fatalf("bad limit: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", c.baseURL+"/health", nil); r.status != 200 {
		t.Fatalf("health after bad input: %d", r.status)
	}
}

// TestAcknowledgedSurvivesKill: every 202 of the single-node topology is on
// disk (persistent queue with fsync); SIGKILL right after the last answer,
// restart, and exactly the acknowledged events are stored, once each.
func TestAcknowledgedSurvivesKill(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	env := singleNodeEnv(t, dir, port)
	c := startCollector(t, "config/single-node.yaml", env, port)
	conv := uniqueName("kill")

	const senders, perSender = 8, 40
	var (
		mu    sync.Mutex
		acked = map[string]bool{}
		wg    sync.WaitGroup
	)
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				id := fmt.Sprintf("k-%d-%d", s, i)
				body := fmt.Sprintf(`{"id":%q,"conversation_id":%q,"event_name":"n","latency":%d}`, id, conv, i)
				r := call(t, "POST", c.baseURL+"/event/", body)
				if r.status == http.StatusAccepted {
					mu.Lock()
					acked[id] = true
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	c.kill()
	if len(acked) != senders*perSender {
		t.Fatalf("only %d of %d acknowledged", len(acked), senders*perSender)
	}

	c.start()
	eventually(t, 60*time.Second, func() string {
		seen := map[string]int{}
		cursor := ""
		for {
			url := c.baseURL + "/events/conversation/" + conv + "?limit=1000"
			if cursor != "" {
				url += "&cursor=" + cursor
			}
			body := call(t, "GET", url, nil).json(t)
			events, _ := body["events"].([]any)
			for _, e := range events {
				seen[e.(map[string]any)["id"].(string)]++
			}
			next, _ := body["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		for id := range acked {
			if seen[id] != 1 {
				return fmt.Sprintf("%s seen %d times (%d of %d ids stored)", id, seen[id], len(seen), len(acked))
			}
		}
		if len(seen) != len(acked) {
			return fmt.Sprintf("%d stored, %d acknowledged", len(seen), len(acked))
		}
		return ""
	})
}

// TestFullQueueAnswers503: with the exporter unable to insert (its
// ClickHouse server is down), the persistent queue fills and a write then
// gets 503 with Retry-After after pipeline_timeout instead of hanging.
// Restarted on the embedded engine with the same queue, the collector
// stores exactly the acknowledged batches: nothing of the refused one; the
// drained queue's file is then compacted, and the queue keeps working.
func TestFullQueueAnswers503(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	env := singleNodeEnv(t, dir, port)
	down := append(append([]string{}, env...), "CLICKHOUSE_ENDPOINT=tcp://127.0.0.1:"+freePort(t), "PIPELINE_TIMEOUT=1s")
	c := startCollectorReady(t, "config/single-node.yaml", down, port, "http://127.0.0.1:"+envValue(env, "HEALTH_PORT")+"/")

	const perBatch = 1000
	prefix := uniqueName("full")
	var convs []string // one conversation per batch
	batch := func(b int) string {
		var sb strings.Builder
		sb.WriteString("[")
		for i := range perBatch {
			if i > 0 {
				sb.WriteString(",")
			}
			fmt.Fprintf(&sb, `{"id":"f-%d-%d","conversation_id":%q,"event_name":"n","input":%q,"latency":%d}`,
				b, i, convs[b], strings.Repeat("x", 100), i)
		}
		return sb.String() + "]"
	}
	// Without a bound the refused write would wait as long as the client.
	client := &http.Client{Timeout: 30 * time.Second}
	var refused response
	acked := 0
	start := time.Now()
	var took time.Duration
	// The queue holds 32 MiB: a few hundred thousand such events.
	for b := 0; b < 1000 && refused.status == 0; b++ {
		convs = append(convs, fmt.Sprintf("%s-%d", prefix, b))
		sent := time.Now()
		r := callWith(t, client, "POST", c.baseURL+"/events/batch", batch(b))
		switch r.status {
		case http.StatusAccepted:
			acked++
		case http.StatusServiceUnavailable:
			refused, took = r, time.Since(sent)
		default:
			t.Fatalf("batch %d: %d %s", b, r.status, r.body)
		}
	}
	if refused.status == 0 {
		t.Fatalf("%d batches acknowledged in %s and none refused: the queue never filled", acked, time.Since(start))
	}
	if acked == 0 || refused.header.Get("Retry-After") == "" || !strings.Contains(string(refused.body), "pipeline_timeout") {
		t.Fatalf("after %d acknowledged batches: %d %s (Retry-After %q)", acked, refused.status, refused.body, refused.header.Get("Retry-After"))
	}
	if took < time.Second || took > 10*time.Second {
		t.Errorf("the refused batch was answered after %s; pipeline_timeout is 1s", took)
	}
	t.Logf("%d batches of %d acknowledged, then 503 after %s", acked, perBatch, took)
	metricsURL := "http://127.0.0.1:" + envValue(env, "METRICS_PORT") + "/metrics"
	queued := func() float64 {
		return metricSum(t, metricsURL, "otelcol_exporter_queue_size", `exporter="clickhouseevents"`)
	}
	if n := queued(); n <= 0 {
		t.Fatalf("queue size %v with the queue full: the metric is not the queue's", n)
	}

	c.kill()
	files, _ := filepath.Glob(filepath.Join(dir, "queue", "exporter_clickhouseevents*"))
	if len(files) != 1 {
		t.Fatalf("queue files %v, want one", files)
	}
	queueFile := func() int64 {
		st, err := os.Stat(files[0])
		if err != nil {
			t.Fatalf("queue file: %v", err)
		}
		return st.Size()
	}
	full := queueFile()
	if full < 16<<20 {
		t.Fatalf("the full queue's file is %d bytes, under the 16 MiB past which it is compacted once drained", full)
	}
	c.env = env // the same data directory, on the embedded engine
	c.start()
	eventually(t, 120*time.Second, func() string {
		for b, cv := range convs {
			want := perBatch
			if b == acked {
				want = 0 // the refused batch
			}
			events, problem := conversationPage(t, c.baseURL, cv)
			if problem != "" {
				return problem
			}
			if len(events) != want {
				return fmt.Sprintf("batch %d: %d events stored, want %d", b, len(events), want)
			}
		}
		return ""
	})
	// Once the queue is empty nothing else can arrive: the refused batch
	// is still absent.
	eventually(t, 30*time.Second, func() string {
		if n := queued(); n != 0 {
			return fmt.Sprintf("queue size %v", n)
		}
		return ""
	})
	if events, problem := conversationPage(t, c.baseURL, convs[acked]); problem != "" || len(events) != 0 {
		t.Fatalf("the refused batch: %d events stored %s", len(events), problem)
	}

	// Drained, the file is compacted (file_storage's on_rebound in
	// config/single-node.yaml), and the queue goes on with the new file.
	eventually(t, 30*time.Second, func() string {
		if n := queueFile(); n > 4<<20 {
			return fmt.Sprintf("the drained queue's file is still %d bytes (%d when full)", n, full)
		}
		return ""
	})
	convs = append(convs, prefix+"-after")
	if r := call(t, "POST", c.baseURL+"/events/batch", batch(len(convs)-1)); r.status != http.StatusAccepted {
		t.Fatalf("a batch after the compaction: %d %s", r.status, r.body)
	}
	eventually(t, 30*time.Second, func() string {
		events, problem := conversationPage(t, c.baseURL, convs[len(convs)-1])
		if problem == "" && len(events) != perBatch {
			problem = fmt.Sprintf("%d events stored, want %d", len(events), perBatch)
		}
		return problem
	})
	t.Logf("queue file %d bytes when full, %d after the compaction", full, queueFile())
}
