package eventsreceiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

func newTestReceiver(t *testing.T, next consumer.Logs, mutate ...func(*Config)) *eventsReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	for _, m := range mutate {
		m(cfg)
	}
	r, err := newEventsReceiver(cfg, receivertest.NewNopSettings(componentType), next)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type apiResponse struct {
	status int
	header http.Header
	body   map[string]any
}

func (a apiResponse) errorCode() string {
	e, _ := a.body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func do(t *testing.T, h http.Handler, method, path, contentType string, body []byte) apiResponse {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	out := apiResponse{status: rec.Code, header: rec.Header()}
	if rec.Body.Len() > 0 {
		if err := json.Unmarshal(rec.Body.Bytes(), &out.body); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, rec.Body.String())
		}
	}
	return out
}

// operations decodes every record the sink received.
func operations(t *testing.T, sink *consumertest.LogsSink) []event.Operation {
	t.Helper()
	var ops []event.Operation
	for _, ld := range sink.AllLogs() {
		rls := ld.ResourceLogs()
		for i := range rls.Len() {
			sls := rls.At(i).ScopeLogs()
			for j := range sls.Len() {
				lrs := sls.At(j).LogRecords()
				for k := range lrs.Len() {
					op, err := event.UnmarshalLogRecord(lrs.At(k))
					if err != nil {
						t.Fatalf("receiver produced a non-canonical record: %v", err)
					}
					ops = append(ops, op)
				}
			}
		}
	}
	return ops
}

const validEvent = `{"conversation_id":"conv_001","event_name":"event_a","input":"Hello, world!","output":"Hi there!","latency":150.5,"error":""}`

func TestCreate(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	for _, path := range []string{"/event/", "/event"} {
		resp := do(t, r, http.MethodPost, path, "application/json", []byte(validEvent))
		if resp.status != http.StatusAccepted {
			t.Fatalf("POST %s: %d %v", path, resp.status, resp.body)
		}
		if id, _ := resp.body["id"].(string); len(id) != 36 {
			t.Fatalf("id = %q, want a UUID", id)
		}
	}
	ops := operations(t, sink)
	if len(ops) != 2 {
		t.Fatalf("%d operations, want 2", len(ops))
	}
	op := ops[0]
	if op.Op != event.OpCreate || op.ConversationID != "conv_001" || op.Name != "event_a" || op.Input != "Hello, world!" ||
		op.Output != "Hi there!" || op.LatencyMs != 150.5 || op.Error != "" || op.Version == 0 {
		t.Fatalf("operation = %+v", op)
	}
	if time.Since(op.Timestamp) > time.Minute {
		t.Fatalf("default timestamp %v is not now", op.Timestamp)
	}
	if ops[1].Version <= ops[0].Version {
		t.Fatalf("versions not increasing: %d then %d", ops[0].Version, ops[1].Version)
	}
}

func TestCreateWithClientFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		body   string
		wantTS time.Time
	}{
		{"rfc3339", `{"id":"my-id","conversation_id":"c","event_name":"n","timestamp":"2026-01-02T03:04:05.678Z","attributes":{"b":"2","a":"1"}}`,
			time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)},
		{"epoch ms", `{"id":"my-id","conversation_id":"c","event_name":"n","timestamp":1767323045678,"attributes":{"b":"2","a":"1"}}`,
			time.UnixMilli(1767323045678).UTC()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := new(consumertest.LogsSink)
			r := newTestReceiver(t, sink)
			resp := do(t, r, http.MethodPost, "/event/", "application/json; charset=utf-8", []byte(tt.body))
			if resp.status != http.StatusAccepted || resp.body["id"] != "my-id" {
				t.Fatalf("%d %v", resp.status, resp.body)
			}
			op := operations(t, sink)[0]
			if op.ID != "my-id" || !op.Timestamp.Equal(tt.wantTS) {
				t.Fatalf("op = %+v", op)
			}
			if len(op.Attributes) != 2 || op.Attributes[0] != (event.Attribute{Key: "a", Value: "1"}) {
				t.Fatalf("attributes = %v", op.Attributes)
			}
		})
	}
}

func TestCreateWithGenerationFields(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	body := `{"id":"llm-1","conversation_id":"c","event_name":"chat","model":"gpt-4o-mini","provider":"openai",` +
		`"operation":"chat","input_tokens":11,"output_tokens":7,"cache_read_tokens":3,"cache_creation_tokens":2,` +
		`"reasoning_tokens":1,"time_to_first_token":120.5,"finish_reason":"stop",` +
		`"trace_id":"0af7651916cd43dd8448eb211c80319c","span_id":"b7ad6b7169203331"}`
	if resp := do(t, r, http.MethodPost, "/event/", "application/json", []byte(body)); resp.status != http.StatusAccepted {
		t.Fatalf("POST: %d %v", resp.status, resp.body)
	}
	if resp := do(t, r, http.MethodPut, "/event/llm-1", "application/json", []byte(`{"output_tokens":9}`)); resp.status != http.StatusAccepted {
		t.Fatalf("PUT: %d %v", resp.status, resp.body)
	}
	ops := operations(t, sink)
	want := event.Generation{
		Model: "gpt-4o-mini", Provider: "openai", Operation: "chat", InputTokens: 11, OutputTokens: 7,
		CacheReadTokens: 3, CacheCreationTokens: 2, ReasoningTokens: 1, TimeToFirstTokenMs: 120.5,
		FinishReason: "stop", TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331",
	}
	if len(ops) != 2 || ops[0].Generation != want {
		t.Fatalf("create = %+v, want %+v", ops[0].Generation, want)
	}
	if up := ops[1]; up.Set != event.Fields(0).With(event.FieldOutputTokens) || up.OutputTokens != 9 {
		t.Fatalf("update = set %b %+v", up.Set, up.Generation)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 129)
	tests := []struct {
		name        string
		method      string
		path        string
		contentType string
		body        string
		wantStatus  int
		wantCode    string
	}{
		{"missing conversation_id", "POST", "/event/", "application/json", `{"event_name":"a"}`, 400, "missing_field"},
		{"empty event_name", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":""}`, 400, "missing_field"},
		{"null event_name", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":null}`, 400, "missing_field"},
		{"latency wrong type", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","latency":"fast"}`, 400, "invalid_field"},
		{"input wrong type", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","input":42}`, 400, "invalid_field"},
		{"attributes wrong type", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","attributes":{"k":1}}`, 400, "invalid_field"},
		{"negative latency", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","latency":-1}`, 400, "invalid_field"},
		{"huge latency", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","latency":1e999}`, 400, "invalid_field"},
		{"latency over the maximum", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","latency":1000000000.5}`, 400, "invalid_field"},
		{"latency 1e308", "PUT", "/event/x", "application/json", `{"latency":1e308}`, 400, "invalid_field"},
		{"duplicate key", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","event_name":"b"}`, 400, "duplicate_key"},
		{"duplicate key, one null", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","input":null,"input":"x"}`, 400, "duplicate_key"},
		{"field name in another case", "POST", "/event/", "application/json", `{"conversation_id":"c","Event_Name":"a"}`, 400, "unknown_field"},
		{"duplicate key in another case", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","EVENT_NAME":"b"}`, 400, "unknown_field"},
		{"escaped field name", "PUT", "/event/x", "application/json", `{"err\u006fr":"e","error":"f"}`, 400, "duplicate_key"},
		{"duplicate attribute key", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","attributes":{"k":"1","k":"2"}}`, 400, "duplicate_key"},
		{"null attribute value", "PUT", "/event/x", "application/json", `{"attributes":{"k":null}}`, 400, "invalid_field"},
		{"empty attribute key", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","attributes":{"":"v"}}`, 400, "invalid_field"},
		{"input over 1 MiB", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","input":"` + strings.Repeat("x", 1<<20+1) + `"}`, 400, "invalid_field"},
		{"unknown field", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","colour":"red"}`, 400, "unknown_field"},
		{"negative tokens", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","input_tokens":-1}`, 400, "invalid_field"},
		{"fractional tokens", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","output_tokens":1.5}`, 400, "invalid_field"},
		{"tokens as a string", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","cache_read_tokens":"3"}`, 400, "invalid_field"},
		{"negative time to first token", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","time_to_first_token":-0.5}`, 400, "invalid_field"},
		{"malformed trace id", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","trace_id":"xyz"}`, 400, "invalid_field"},
		{"cost is computed, not sent", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","cost":1}`, 400, "unknown_field"},
		{"op outside batch", "POST", "/event/", "application/json", `{"op":"create","conversation_id":"c","event_name":"a"}`, 400, "unknown_field"},
		{"malformed json", "POST", "/event/", "application/json", `{"conversation_id":`, 400, "invalid_json"},
		{"not an object", "POST", "/event/", "application/json", `[1,2]`, 400, "invalid_json"},
		{"trailing data", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a"} {}`, 400, "invalid_json"},
		{"trailing bracket", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a"}]`, 400, "invalid_json"},
		{"trailing brace", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a"} }`, 400, "invalid_json"},
		{"empty body", "POST", "/event/", "application/json", ``, 400, "invalid_json"},
		{"invalid utf-8", "POST", "/event/", "application/json", "{\"conversation_id\":\"c\xff\",\"event_name\":\"a\"}", 400, "invalid_utf8"},
		{"wrong content type", "POST", "/event/", "text/plain", validEvent, 415, "unsupported_media_type"},
		{"form content type", "POST", "/event/", "application/x-www-form-urlencoded", validEvent, 415, "unsupported_media_type"},
		{"ndjson outside batch", "POST", "/event/", "application/x-ndjson", validEvent, 415, "unsupported_media_type"},
		{"empty id", "POST", "/event/", "application/json", `{"id":"","conversation_id":"c","event_name":"a"}`, 400, "invalid_field"},
		{"id too long", "POST", "/event/", "application/json", `{"id":"` + long + `","conversation_id":"c","event_name":"a"}`, 400, "invalid_field"},
		{"timestamp out of range", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","timestamp":"2200-01-01T00:00:00Z"}`, 400, "invalid_field"},
		{"timestamp before 1970", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","timestamp":-5}`, 400, "invalid_field"},
		{"timestamp unparseable", "POST", "/event/", "application/json", `{"conversation_id":"c","event_name":"a","timestamp":"yesterday"}`, 400, "invalid_field"},
		{"update of conversation_id", "PUT", "/event/x", "application/json", `{"conversation_id":"c"}`, 400, "immutable_field"},
		{"update of timestamp", "PUT", "/event/x", "application/json", `{"timestamp":"2026-01-01T00:00:00Z"}`, 400, "immutable_field"},
		{"update with another id", "PUT", "/event/x", "application/json", `{"id":"y","error":"e"}`, 400, "immutable_field"},
		{"update without fields", "PUT", "/event/x", "application/json", `{}`, 400, "missing_field"},
		{"update id too long", "PUT", "/event/" + long, "application/json", `{"error":"e"}`, 400, "invalid_field"},
		{"delete id too long", "DELETE", "/event/" + long, "", ``, 400, "invalid_field"},
		{"delete empty id", "DELETE", "/event/", "", ``, 405, "method_not_allowed"},
		{"method not allowed", "PATCH", "/event/x", "application/json", `{}`, 405, "method_not_allowed"},
		{"get on create route", "GET", "/event/", "", ``, 405, "method_not_allowed"},
		{"unknown route", "GET", "/nope", "", ``, 404, "not_found"},
		{"reads without query extension", "GET", "/event/x", "", ``, 404, "not_found"},
		{"analytics without query extension", "GET", "/analytics/errors?event_name=a", "", ``, 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := new(consumertest.LogsSink)
			r := newTestReceiver(t, sink)
			resp := do(t, r, tt.method, tt.path, tt.contentType, []byte(tt.body))
			if resp.status != tt.wantStatus || resp.errorCode() != tt.wantCode {
				t.Fatalf("got %d %v, want %d %s", resp.status, resp.body, tt.wantStatus, tt.wantCode)
			}
			if msg, _ := resp.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Fatal("error without a message")
			}
			if tt.wantStatus == 405 && resp.header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
			if n := sink.LogRecordCount(); n != 0 {
				t.Fatalf("a rejected request reached the pipeline (%d records)", n)
			}
		})
	}
}

// TestNullMeansAbsent holds the documented reading of null: a field sent as
// null is a field not sent.
func TestNullMeansAbsent(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	before := time.Now()
	resp := do(t, r, "POST", "/event/", "application/json",
		[]byte(`{"conversation_id":"c","event_name":"a","timestamp":null,"latency":null,"attributes":null,"id":null}`))
	if resp.status != http.StatusAccepted {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	ops := operations(t, sink)
	if len(ops) != 1 || ops[0].Timestamp.Before(before.Add(-time.Millisecond)) || ops[0].LatencyMs != 0 || len(ops[0].Attributes) != 0 || ops[0].ID == "" {
		t.Fatalf("got %+v", ops)
	}
	resp = do(t, r, "PUT", "/event/x", "application/json", []byte(`{"error":"e","input":null,"timestamp":null}`))
	if resp.status != http.StatusAccepted {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	if ops = operations(t, sink); ops[1].Set != event.Fields(0).With(event.FieldError) {
		t.Fatalf("the update set %v, want only error", ops[1].Set)
	}
}

// TestBatchDuplicateKeys: a repeated key rejects its item, whichever key it
// is; {"op":"create","op":"delete"} is not taken as a delete.
func TestBatchDuplicateKeys(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	resp := do(t, r, "POST", "/events/batch", "application/json",
		[]byte(`[{"op":"create","op":"delete","id":"x","conversation_id":"c","event_name":"a"},{"conversation_id":"c","event_name":"a"},{"op":"delete","id":"y","input":"z"}]`))
	if resp.status != http.StatusAccepted || resp.body["rejected"] != float64(2) {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	first := resp.body["results"].([]any)[0].(map[string]any)
	if code := first["error"].(map[string]any)["code"]; first["status"] != float64(400) || code != "duplicate_key" {
		t.Fatalf("item 0: %v", first)
	}
	if ops := operations(t, sink); len(ops) != 1 || ops[0].Op != event.OpCreate {
		t.Fatalf("got %+v", ops)
	}
}

func TestBodyTooLarge(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink, func(c *Config) { c.ServerConfig.MaxRequestBodySize = 100 })
	body := `{"conversation_id":"c","event_name":"a","input":"` + strings.Repeat("x", 200) + `"}`
	resp := do(t, r, "POST", "/event/", "application/json", []byte(body))
	if resp.status != http.StatusRequestEntityTooLarge || resp.errorCode() != "too_large" {
		t.Fatalf("got %d %v", resp.status, resp.body)
	}
}

func TestReadAllLimit(t *testing.T) {
	t.Parallel()
	const limit = 100
	for _, size := range []int{0, 1, 99, 100, 101, 513, 5000} {
		for _, announced := range []int64{-1, 0, int64(size), int64(size) / 2, 1 << 40} {
			data := bytes.Repeat([]byte("x"), size)
			// One byte per read: the buffer grows from any starting size.
			got, err := readAll(iotest.OneByteReader(bytes.NewReader(data)), announced, limit)
			var tooLarge *http.MaxBytesError
			switch {
			case size > limit && !errors.As(err, &tooLarge):
				t.Errorf("%d bytes, Content-Length %d: err = %v, want a MaxBytesError", size, announced, err)
			case size <= limit && (err != nil || !bytes.Equal(got, data)):
				t.Errorf("%d bytes, Content-Length %d: read %d bytes, err = %v", size, announced, len(got), err)
			}
		}
	}
}

func TestUpdateAndDelete(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	if resp := do(t, r, "PUT", "/event/abc", "application/json", []byte(`{"error":"timeout","latency":5000}`)); resp.status != 202 || resp.body["id"] != "abc" {
		t.Fatalf("PUT: %d %v", resp.status, resp.body)
	}
	if resp := do(t, r, "DELETE", "/event/a%2Fb", "", nil); resp.status != 202 || resp.body["id"] != "a/b" {
		t.Fatalf("DELETE: %d %v", resp.status, resp.body)
	}
	ops := operations(t, sink)
	upd := ops[0]
	wantSet := event.Fields(0).With(event.FieldError).With(event.FieldLatency)
	if upd.Op != event.OpUpdate || upd.ID != "abc" || upd.Set != wantSet || upd.Error != "timeout" || upd.LatencyMs != 5000 {
		t.Fatalf("update = %+v", upd)
	}
	if del := ops[1]; del.Op != event.OpDelete || del.ID != "a/b" || del.Version <= upd.Version {
		t.Fatalf("delete = %+v", del)
	}
}

func TestBatch(t *testing.T) {
	t.Parallel()
	items := []string{
		`{"conversation_id":"c","event_name":"a"}`,
		`{"conversation_id":"c"}`,
		`{"op":"update","id":"x","error":"e"}`,
		`{"op":"delete","id":"x"}`,
		`{"op":"delete"}`,
		`{"op":"upsert","id":"x"}`,
		`not json`,
	}
	wantStatus := []float64{202, 400, 202, 202, 400, 400, 400}
	tests := []struct {
		name, contentType, body string
	}{
		{"json array", "application/json", "[" + strings.Join(items[:6], ",") + "]"},
		{"ndjson", "application/x-ndjson", strings.Join(items, "\n") + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := new(consumertest.LogsSink)
			r := newTestReceiver(t, sink)
			resp := do(t, r, "POST", "/events/batch", tt.contentType, []byte(tt.body))
			if resp.status != 202 {
				t.Fatalf("%d %v", resp.status, resp.body)
			}
			results := resp.body["results"].([]any)
			for i, res := range results {
				m := res.(map[string]any)
				if m["status"] != wantStatus[i] || m["index"] != float64(i) {
					t.Fatalf("item %d: %v, want status %v", i, m, wantStatus[i])
				}
				if m["status"] == float64(400) && m["error"] == nil {
					t.Fatalf("item %d rejected without error", i)
				}
			}
			if resp.body["accepted"] != float64(3) {
				t.Fatalf("accepted = %v", resp.body["accepted"])
			}
			if n := sink.LogRecordCount(); n != 3 {
				t.Fatalf("%d records reached the pipeline, want 3", n)
			}
			if len(sink.AllLogs()) != 1 {
				t.Fatalf("the batch reached the pipeline in %d calls, want 1", len(sink.AllLogs()))
			}
			// Resources group the operations by the bucket of their id: the
			// Kafka exporter keys messages by it (partition affinity per id).
			rls := sink.AllLogs()[0].ResourceLogs()
			for i := range rls.Len() {
				key, _ := rls.At(i).Resource().Attributes().Get(event.ResourceAttrPartition)
				lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
				for j := range lrs.Len() {
					id, _ := lrs.At(j).Attributes().Get(event.AttrID)
					if key.Str() != event.PartitionKey(id.Str(), event.DefaultPartitionBuckets) {
						t.Fatalf("event %q in bucket %q", id.Str(), key.Str())
					}
				}
			}
		})
	}
}

func TestPartitionBucketsSetting(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink, func(c *Config) { c.PartitionBuckets = 2 })
	var body strings.Builder
	for i := range 40 {
		fmt.Fprintf(&body, `{"id":"id-%d","conversation_id":"c","event_name":"a"}`+"\n", i)
	}
	if resp := do(t, r, "POST", "/events/batch", "application/x-ndjson", []byte(body.String())); resp.status != 202 {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	rls := sink.AllLogs()[0].ResourceLogs()
	if rls.Len() != 2 {
		t.Fatalf("%d resources, want one per bucket of partition_buckets: 2", rls.Len())
	}
	for i := range rls.Len() {
		key, _ := rls.At(i).Resource().Attributes().Get(event.ResourceAttrPartition)
		lrs := rls.At(i).ScopeLogs().At(0).LogRecords()
		for j := range lrs.Len() {
			id, _ := lrs.At(j).Attributes().Get(event.AttrID)
			if key.Str() != event.PartitionKey(id.Str(), 2) {
				t.Fatalf("event %q in bucket %q", id.Str(), key.Str())
			}
		}
	}
}

func TestBatchLimits(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink, func(c *Config) { c.MaxBatchItems = 2 })
	body := "[" + strings.Repeat(`{"conversation_id":"c","event_name":"a"},`, 3)
	body = body[:len(body)-1] + "]"
	if resp := do(t, r, "POST", "/events/batch", "application/json", []byte(body)); resp.status != 413 || resp.errorCode() != "too_large" {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	if resp := do(t, r, "POST", "/events/batch", "application/json", []byte(`[]`)); resp.status != 400 {
		t.Fatalf("empty batch: %d %v", resp.status, resp.body)
	}
	if resp := do(t, r, "POST", "/events/batch", "application/json", []byte(`[{"conversation_id":"c"}]`)); resp.status != 400 || resp.body["rejected"] != float64(1) {
		t.Fatalf("all rejected: %d %v", resp.status, resp.body)
	}
	if sink.LogRecordCount() != 0 {
		t.Fatal("rejected batches reached the pipeline")
	}
}

// signalReader reports its first Read: when the receiver began reading the
// body.
type signalReader struct {
	r    io.Reader
	once sync.Once
	read chan struct{}
}

func (s *signalReader) Read(p []byte) (int, error) {
	s.once.Do(func() { close(s.read) })
	return s.r.Read(p)
}

func TestMaxConcurrentBatches(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}, 3), make(chan struct{})
	next, err := consumer.NewLogs(func(context.Context, plog.Logs) error {
		entered <- struct{}{}
		<-release
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var releaseAll sync.Once
	t.Cleanup(func() { releaseAll.Do(func() { close(release) }) }) // a failed test leaves nothing blocked
	r := newTestReceiver(t, next, func(c *Config) { c.MaxConcurrentBatches = 2 })

	post := func(ctx context.Context) (*signalReader, chan int) {
		body := &signalReader{r: strings.NewReader("[" + validEvent + "]"), read: make(chan struct{})}
		status := make(chan int, 1)
		go func() {
			req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/events/batch", body)
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			r.ServeHTTP(rec, req)
			status <- rec.Code
		}()
		return body, status
	}
	var statuses []chan int
	for range 2 {
		_, st := post(context.Background())
		statuses = append(statuses, st)
		<-entered
	}
	third, st := post(context.Background())
	statuses = append(statuses, st)

	// Both slots are taken: a request whose client leaves while it waits
	// gets 503 without its body being read.
	ctx, cancel := context.WithCancel(context.Background())
	gone, goneStatus := post(ctx)
	cancel()
	select {
	case got := <-goneStatus:
		if got != http.StatusServiceUnavailable {
			t.Errorf("a batch cancelled while waiting for a slot: %d, want 503", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a batch cancelled while waiting for a slot did not return")
	}
	select {
	case <-gone.read:
		t.Error("the cancelled batch's body was read")
	case <-third.read:
		t.Error("a third batch was read while two held the slots")
	case <-time.After(100 * time.Millisecond):
	}

	release <- struct{}{} // one of the first two ends: the third goes on
	<-third.read
	<-entered
	releaseAll.Do(func() { close(release) })
	for i, st := range statuses {
		if got := <-st; got != http.StatusAccepted {
			t.Errorf("batch %d: %d, want 202", i, got)
		}
	}
}

func TestPipelineRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		retryAfter bool
	}{
		{"queue full", fmt.Errorf("export: %w", exporterhelper.ErrQueueIsFull), 429, "overloaded", true},
		{"retryable", errors.New("memory limiter refused the data"), 503, "unavailable", true},
		{"permanent", consumererror.NewPermanent(errors.New("cannot encode")), 500, "internal", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := newTestReceiver(t, consumertest.NewErr(tt.err))
			for _, req := range []struct{ method, path, ct, body string }{
				{"POST", "/event/", "application/json", validEvent},
				{"PUT", "/event/x", "application/json", `{"error":"e"}`},
				{"DELETE", "/event/x", "", ""},
				// A new event, an invalid one, an event with its own id.
				{"POST", "/events/batch", "application/json", "[" + validEvent + `,{"event_name":"x"},{"id":"mine","conversation_id":"c","event_name":"e"}]`},
			} {
				resp := do(t, r, req.method, req.path, req.ct, []byte(req.body))
				if resp.status != tt.wantStatus || resp.errorCode() != tt.wantCode {
					t.Fatalf("%s %s: got %d %v", req.method, req.path, resp.status, resp.body)
				}
				if got := resp.header.Get("Retry-After") != ""; got != tt.retryAfter {
					t.Fatalf("%s %s: Retry-After present = %v", req.method, req.path, got)
				}
				// A refused write names the ids it was given, so that its
				// retry is idempotent: a single write its id, a batch one per
				// item ("" for the invalid one).
				id, _ := resp.body["id"].(string)
				single := req.path != "/events/batch"
				ids, _ := resp.body["ids"].([]any)
				switch {
				case !single && tt.retryAfter && (len(ids) != 3 || ids[0] == "" || ids[1] != "" || ids[2] != "mine"):
					t.Fatalf("%s %s: refused with ids %v, want [<new id>, \"\", mine]", req.method, req.path, resp.body["ids"])
				case (single || !tt.retryAfter) && ids != nil:
					t.Fatalf("%s %s: answered ids %v", req.method, req.path, ids)
				case single && tt.retryAfter && req.method == "POST" && id == "":
					t.Fatalf("%s %s: refused without the id it was given: %v", req.method, req.path, resp.body)
				case single && tt.retryAfter && req.method != "POST" && id != "x":
					t.Fatalf("%s %s: refused with id %q, want x", req.method, req.path, id)
				case (!single || !tt.retryAfter) && id != "":
					t.Fatalf("%s %s: answered id %q", req.method, req.path, id)
				}
			}
		})
	}
}

// TestPipelineTimeoutAnswers503: a write the pipeline does not take within
// pipeline_timeout gets 503 with Retry-After and says why.
func TestPipelineTimeoutAnswers503(t *testing.T) {
	t.Parallel()
	r := newTestReceiver(t, &stuckSink{}, func(c *Config) { c.PipelineTimeout = 30 * time.Millisecond })
	for _, req := range []struct{ method, path, ct, body string }{
		{"POST", "/event/", "application/json", validEvent},
		{"POST", "/events/batch", "application/json", "[" + validEvent + "]"},
	} {
		resp := do(t, r, req.method, req.path, req.ct, []byte(req.body))
		msg, _ := resp.body["error"].(map[string]any)["message"].(string)
		if resp.status != http.StatusServiceUnavailable || resp.errorCode() != "unavailable" ||
			resp.header.Get("Retry-After") == "" || !strings.Contains(msg, "pipeline_timeout") {
			t.Errorf("%s %s: %d %v (Retry-After %q)", req.method, req.path, resp.status, resp.body, resp.header.Get("Retry-After"))
		}
	}
}

func receiverSettings() receiver.Settings { return receivertest.NewNopSettings(componentType) }

func componentID() component.ID { return component.NewID(componentType) }

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServerLifecycle runs the receiver on a real port through confighttp:
// gzip bodies, the health route, and a clean shutdown.
func TestServerLifecycle(t *testing.T) {
	sink := new(consumertest.LogsSink)
	addr := freePort(t)
	r := newTestReceiver(t, sink, func(c *Config) { c.ServerConfig.NetAddr.Endpoint = addr })
	if err := r.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := r.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
	}()
	resp, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"ok"`) {
		t.Fatalf("health: %d %s", resp.StatusCode, body)
	}

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte("[" + validEvent + "," + validEvent + "]"))
	_ = zw.Close()
	req, _ := http.NewRequest("POST", "http://"+addr+"/events/batch", &gz)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || sink.LogRecordCount() != 2 {
		t.Fatalf("gzip batch: %d %s, %d records", resp.StatusCode, body, sink.LogRecordCount())
	}
}

func TestShutdownWithoutStart(t *testing.T) {
	t.Parallel()
	r := newTestReceiver(t, consumertest.NewNop())
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestEscapedFieldName: a key is compared once unescaped, as JSON has it.
func TestEscapedFieldName(t *testing.T) {
	t.Parallel()
	sink := new(consumertest.LogsSink)
	r := newTestReceiver(t, sink)
	resp := do(t, r, "POST", "/event/", "application/json", []byte(`{"conversation_id":"c","event\u005fname":"a"}`))
	if resp.status != http.StatusAccepted {
		t.Fatalf("%d %v", resp.status, resp.body)
	}
	if ops := operations(t, sink); len(ops) != 1 || ops[0].Name != "a" {
		t.Fatalf("got %+v", ops)
	}
}

// TestBatchDeleteCarriesOnlyOpAndID: a batch delete with any other field,
// the LLM call fields included, is refused rather than silently trimmed.
func TestBatchDeleteCarriesOnlyOpAndID(t *testing.T) {
	t.Parallel()
	for _, field := range []string{`"latency":1`, `"model":"m"`, `"input_tokens":3`, `"span_id":"ab"`, `"attributes":{}`} {
		sink := new(consumertest.LogsSink)
		r := newTestReceiver(t, sink)
		resp := do(t, r, "POST", "/events/batch", "application/json", []byte(`[{"op":"delete","id":"x",`+field+`}]`))
		item := resp.body["results"].([]any)[0].(map[string]any)
		code, _ := item["error"].(map[string]any)["code"].(string)
		if resp.status != http.StatusBadRequest || code != "invalid_field" || sink.LogRecordCount() != 0 {
			t.Fatalf("delete with %s: %d %v", field, resp.status, resp.body)
		}
	}
	r := newTestReceiver(t, new(consumertest.LogsSink))
	if resp := do(t, r, "POST", "/events/batch", "application/json", []byte(`[{"op":"delete","id":"x"}]`)); resp.status != http.StatusAccepted {
		t.Fatalf("a plain delete: %d %v", resp.status, resp.body)
	}
}
