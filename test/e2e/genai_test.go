//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// The GenAI end-to-end test: an app instrumented with the official OpenAI
// instrumentation (test/e2e/genai/app.py, pinned in requirements.txt,
// installed by scripts/genai-venv.sh), unmodified, sends its traces, logs and
// metrics to the single-node collector's OTLP endpoint while calling a stub
// OpenAI server on loopback: one chat completion with usage, one streamed,
// one that fails with 500. In both modes of the instrumentation, each call
// must land as one event, read back through the API field by field, and the
// app must see no export error.

// The stub's answers. The streamed call's first chunk comes after
// firstChunkDelay, so that its time to first token is measurable.
const (
	stubModel       = "gpt-4o-mini-2024-07-18"
	firstChunkDelay = 150 * time.Millisecond
	errorBody       = `{"error":{"message":"the stub fails on purpose","type":"server_error","code":null}}`
)

func newOpenAIStub(t *testing.T) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		var req struct {
			Stream   bool `json:"stream"`
			Messages []struct {
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		last := req.Messages[len(req.Messages)-1].Content
		switch {
		case strings.Contains(last, "fail"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, errorBody)
		case req.Stream:
			w.Header().Set("Content-Type", "text/event-stream")
			flusher := w.(http.Flusher)
			time.Sleep(firstChunkDelay)
			chunk := func(payload string) {
				_, _ = io.WriteString(w, "data: "+payload+"\n\n")
				flusher.Flush()
			}
			head := `{"id":"chatcmpl-2","object":"chat.completion.chunk","created":1764700000,"model":"` + stubModel + `",`
			chunk(head + `"choices":[{"index":0,"delta":{"role":"assistant","content":"One, "},"finish_reason":null}]}`)
			chunk(head + `"choices":[{"index":0,"delta":{"content":"two, three."},"finish_reason":null}]}`)
			chunk(head + `"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
			chunk(head + `"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":5,"total_tokens":14}}`)
			chunk("[DONE]")
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1764700000,"model":"`+stubModel+`",`+
				`"choices":[{"index":0,"message":{"role":"assistant","content":"Hello there!"},"finish_reason":"stop"}],`+
				`"usage":{"prompt_tokens":11,"completion_tokens":3,"total_tokens":14,"prompt_tokens_details":{"cached_tokens":4}}}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// genAIPython installs the app's environment of a requirements file
// (idempotent) and returns its python.
func genAIPython(t *testing.T, requirements string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(repoRoot(t), "scripts", "genai-venv.sh"), requirements).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("scripts/genai-venv.sh: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

type genAIMode struct {
	name string
	// requirements is the app's environment (test/e2e/genai).
	requirements string
	env          []string
	// latest: the current conventions (gen_ai.input.messages on the span,
	// the time to first chunk); else the deprecated per-message log events.
	latest bool
}

var genAIModes = []genAIMode{
	{name: "default", requirements: "requirements.txt", env: []string{"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true"}},
	{name: "latest_experimental", requirements: "requirements.txt", latest: true, env: []string{
		"OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental",
		"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_AND_EVENT",
	}},
}

func TestOpenAIInstrumentationLands(t *testing.T) {
	pythons := map[string]string{}
	for _, mode := range genAIModes {
		pythons[mode.name] = genAIPython(t, mode.requirements)
	}
	stub := newOpenAIStub(t)
	// The single node on both engines, and the Kafka topology (spans and
	// log records of a call travel through Kafka separately, the update
	// may be stored before its create).
	for _, topology := range []string{"embedded", "server", "kafka"} {
		t.Run(topology, func(t *testing.T) {
			port := freePort(t)
			config := "config/single-node.yaml"
			var env []string
			switch topology {
			case "embedded":
				env = singleNodeEnv(t, t.TempDir(), port)
			case "server":
				env = append(singleNodeEnv(t, t.TempDir(), port), "CLICKHOUSE_ENDPOINT=tcp://127.0.0.1:9000",
					"CLICKHOUSE_DATABASE="+storagetest.ServerDatabase(t, "e2e_genai"))
			case "kafka":
				config = "collector-config.yaml"
				env = append(kafkaEnv(t, port, uniqueName("e2e_genai"), uniqueName("e2e_genai_group"),
					storagetest.ServerDatabase(t, "e2e_genai_kafka")), "CONSUMER_FLUSH_INTERVAL_MS=5")
			}
			c := startCollector(t, config, env, port)
			otlp := "http://127.0.0.1:" + envValue(env, "OTLP_HTTP_PORT")
			var traces []string
			for _, mode := range genAIModes {
				t.Run(mode.name, func(t *testing.T) {
					traceID := runGenAIApp(t, pythons[mode.name], stub.URL, otlp, mode)
					traces = append(traces, traceID)
					checkGenAIEvents(t, c.baseURL, traceID, mode)
				})
			}
			checkGenAIAnalytics(t, c.baseURL, traces)
			// The app's metrics were accepted, counted and dropped.
			metricsURL := "http://127.0.0.1:" + envValue(env, "METRICS_PORT") + "/metrics"
			eventually(t, 10*time.Second, func() string {
				r := call(t, "GET", metricsURL, nil)
				if m := regexp.MustCompile(`otelcol_events_normalizer_dropped_data_points\S* ([0-9.e+]+)`).FindSubmatch(r.body); m == nil || string(m[1]) == "0" {
					return "no dropped data points counted"
				}
				return ""
			})
		})
	}
}

// runGenAIApp runs the app in mode and returns the trace id of its calls.
func runGenAIApp(t *testing.T, python, openAIURL, otlp string, mode genAIMode) string {
	t.Helper()
	cmd := exec.Command(python, filepath.Join(repoRoot(t), "test", "e2e", "genai", "app.py"))
	cmd.Env = append([]string{
		"PATH=/usr/bin:/bin",
		"OPENAI_BASE_URL=" + openAIURL + "/v1",
		"OPENAI_API_KEY=sk-stub",
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + otlp,
		"OTEL_BSP_SCHEDULE_DELAY=200",
		"OTEL_BLRP_SCHEDULE_DELAY=200",
	}, mode.env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("app: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	var out struct {
		TraceID string `json:"trace_id"`
		Flushed bool   `json:"flushed"`
	}
	if err := json.Unmarshal([]byte(stdout.String()), &out); err != nil {
		t.Fatalf("app output %q: %v (stderr %s)", stdout.String(), err, stderr.String())
	}
	// The SDK logs a failed export on stderr ("Failed to export ...").
	if !out.Flushed || strings.Contains(stderr.String(), "Failed to export") || strings.Contains(stderr.String(), "404") {
		t.Fatalf("the app saw export errors: flushed=%v\n%s", out.Flushed, stderr.String())
	}
	return out.TraceID
}

// checkGenAIEvents reads the trace's conversation (the trace id: the app sets
// no conversation id) and checks its three events field by field.
func checkGenAIEvents(t *testing.T, baseURL, traceID string, mode genAIMode) {
	t.Helper()
	var events []httpapi.Event
	eventually(t, 30*time.Second, func() string {
		page, problem := conversationPage(t, baseURL, traceID)
		if problem != "" {
			return problem
		}
		events = page
		if len(events) != 3 {
			return fmt.Sprintf("%d events in conversation %s, want 3: %+v", len(events), traceID, events)
		}
		// The log records of a call arrive on their own: wait until they are merged.
		if events[0].Output == "" || events[1].Output == "" {
			return fmt.Sprintf("the messages are not merged yet: %+v", events)
		}
		return ""
	})
	prices := event.NewPriceTable(event.DefaultPrices())
	spanIDs := map[string]bool{}
	for i, e := range events {
		where := fmt.Sprintf("%s call %d (%s)", mode.name, i+1, e.ID)
		expect := func(what string, got, want any) {
			t.Helper()
			if got != want {
				t.Errorf("%s: %s = %#v, want %#v", where, what, got, want)
			}
		}
		expect("event_name", e.EventName, "chat")
		expect("operation", e.Operation, "chat")
		expect("provider", e.Provider, "openai")
		expect("trace_id", e.TraceID, traceID)
		expect("id", e.ID, e.SpanID)
		expect("service.name", e.Attributes["service.name"], "genai-e2e")
		if len(e.SpanID) != 16 || spanIDs[e.SpanID] {
			t.Errorf("%s: span_id %q is not a new span id", where, e.SpanID)
		}
		spanIDs[e.SpanID] = true
		if e.Latency <= 0 {
			t.Errorf("%s: latency %v", where, e.Latency)
		}
		// The event's cost is what the default price table says of its model and tokens.
		g := event.Generation{Model: e.Model, InputTokens: e.InputTokens, OutputTokens: e.OutputTokens, CacheReadTokens: e.CacheReadTokens}
		wantCost, _ := prices.Cost(&g)
		if math.Abs(e.Cost-wantCost) > 1e-15 {
			t.Errorf("%s: cost %v, want %v", where, e.Cost, wantCost)
		}
	}
	if t.Failed() {
		t.Logf("events: %+v", events)
	}
	first, stream, failed := events[0], events[1], events[2]

	// A completion with usage.
	if first.Model != stubModel || first.InputTokens != 11 || first.OutputTokens != 3 || first.FinishReason != "stop" || first.Error != "" {
		t.Errorf("%s first call: model %q tokens %d/%d finish %q error %q", mode.name, first.Model, first.InputTokens,
			first.OutputTokens, first.FinishReason, first.Error)
	}
	if first.Cost <= 0 {
		t.Errorf("%s first call: no cost", mode.name)
	}
	if first.Output != "Hello there!" {
		t.Errorf("%s first call: output %q", mode.name, first.Output)
	}
	if first.Input != "system: You are brief.\nuser: Say hello" {
		t.Errorf("%s first call: input %q", mode.name, first.Input)
	}

	// A streamed completion: the chunks' text, usage and time to first token.
	if stream.Model != stubModel || stream.InputTokens != 9 || stream.OutputTokens != 5 || stream.Output != "One, two, three." ||
		stream.Input != "Count to three" {
		t.Errorf("%s streamed call: model %q tokens %d/%d input %q output %q", mode.name, stream.Model, stream.InputTokens,
			stream.OutputTokens, stream.Input, stream.Output)
	}
	// The pinned instrumentation (2.4b0) records no time to first chunk:
	// its stream wrapper does not report chunks to opentelemetry-util-genai,
	// which would set gen_ai.response.time_to_first_chunk (mapped to
	// time_to_first_token: spaneventsconnector's TestConvert). A pin that
	// records it fails here, and this check becomes a range check.
	if stream.TimeToFirstToken != 0 {
		t.Errorf("%s streamed call: time_to_first_token %v ms: the instrumentation records it now; check it against the stub's delay %v",
			mode.name, stream.TimeToFirstToken, firstChunkDelay)
	}

	// The failed call: its error, its request model, no tokens, no cost.
	if failed.Error == "" || failed.InputTokens != 0 || failed.Cost != 0 || !strings.HasPrefix(failed.Model, "gpt-4o-mini") {
		t.Errorf("%s failed call: error %q model %q tokens %d cost %v", mode.name, failed.Error, failed.Model, failed.InputTokens, failed.Cost)
	}
	if failed.Input != "fail please" {
		t.Errorf("%s failed call: input %q", mode.name, failed.Input)
	}
}

// checkGenAIAnalytics reads the new analytics over the events of both runs.
func checkGenAIAnalytics(t *testing.T, baseURL string, traces []string) {
	t.Helper()
	var usage struct {
		Data []struct {
			Model        string  `json:"model"`
			Calls        int64   `json:"calls"`
			InputTokens  int64   `json:"input_tokens"`
			OutputTokens int64   `json:"output_tokens"`
			Cost         float64 `json:"cost"`
		} `json:"data"`
	}
	r := call(t, "GET", baseURL+"/analytics/models/usage?days=1", nil)
	if r.status != http.StatusOK || json.Unmarshal(r.body, &usage) != nil {
		t.Fatalf("usage: %d %s", r.status, r.body)
	}
	var calls, in, out int64
	for _, u := range usage.Data {
		calls += u.Calls
		in += u.InputTokens
		out += u.OutputTokens
	}
	// Per run: three calls, 11+9 input and 3+5 output tokens.
	if n := int64(len(traces)); calls != 3*n || in != 20*n || out != 8*n {
		t.Errorf("usage: %d calls, %d/%d tokens over %d runs: %s", calls, in, out, n, r.body)
	}
	r = call(t, "GET", baseURL+"/analytics/models/latency", nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"p95_latency"`) || !strings.Contains(string(r.body), `"error_rate"`) {
		t.Errorf("model latency: %d %s", r.status, r.body)
	}
	r = call(t, "GET", baseURL+"/analytics/conversations/top-cost?limit=10", nil)
	for _, trace := range traces {
		if !strings.Contains(string(r.body), `"conversation_id":"`+trace+`"`) {
			t.Errorf("top-cost has no conversation %s: %s", trace, r.body)
		}
	}
}
