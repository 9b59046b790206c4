//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// Values people send: quotes and SQL in natural-language text, escapes of
// text formats, template syntax, control bytes, long text. Each goes into
// every field of an event, its id and its attribute keys included.
var hostileValues = []string{
	"it's", `x'); DROP TABLE events; --`, `\' UNION SELECT 1 --`, "nul\x00byte", "back`quote",
	`\N`, "tab\there\nnewline\r\n", `[1,'a']`, `{"k":"v"}`, "{{.Database}}", "emoji 🦜 ünïcode",
	`\\`, `\`, "a,b", "what?", "a/b%2F", `"double"`, "\x7f\x01", strings.Repeat("it's \\ ", 15),
}

// TestHostileValuesSingleNode: issue 15's reproduction (21 concurrent writes,
// one attribute with an apostrophe) and every hostile value in every field,
// on the single node with the embedded engine: every write answered 202 is
// read back exactly.
func TestHostileValuesSingleNode(t *testing.T) {
	port := freePort(t)
	c := startCollector(t, "config/single-node.yaml", singleNodeEnv(t, t.TempDir(), port), port)
	checkHostileWrites(t, c.baseURL)
}

// TestHostileValuesThroughKafka is TestHostileValuesSingleNode through the
// Kafka topology and the ClickHouse server.
func TestHostileValuesThroughKafka(t *testing.T) {
	port := freePort(t)
	env := append(kafkaEnv(t, port, uniqueName("e2e_hostile"), uniqueName("e2e_group"), storagetest.ServerDatabase(t, "e2e_hostile")),
		"CONSUMER_FLUSH_INTERVAL_MS=5")
	c := startCollector(t, "collector-config.yaml", env, port)
	checkHostileWrites(t, c.baseURL)
	// Where the time went between the tiers: produce to consume (the kafka
	// receiver's histogram, turned on in the shipped configuration) and 202
	// to stored (the exporter's).
	metrics := "http://127.0.0.1:" + envValue(env, "METRICS_PORT") + "/metrics"
	for _, name := range []string{"otelcol_kafka_receiver_records_delay_count", "otelcol_events_exporter_stored_delay_count"} {
		if n := metricSum(t, metrics, name); n <= 0 {
			t.Errorf("%s = %v, want the records of this test", name, n)
		}
	}
}

func checkHostileWrites(t *testing.T, baseURL string) {
	t.Helper()
	want := map[string]httpapi.Event{}
	var mu sync.Mutex
	post := func(body map[string]any) {
		data, _ := json.Marshal(body)
		r := call(t, "POST", baseURL+"/event/", string(data))
		if r.status != http.StatusAccepted {
			t.Errorf("POST %.300s: %d %.300s", data, r.status, r.body)
			return
		}
		attrs := map[string]string{}
		if a, ok := body["attributes"].(map[string]string); ok {
			attrs = a
		}
		str := func(k string) string { s, _ := body[k].(string); return s }
		mu.Lock()
		want[str("id")] = httpapi.Event{ID: str("id"), ConversationID: str("conversation_id"), EventName: str("event_name"),
			Input: str("input"), Output: str("output"), Error: str("error"), Attributes: attrs}
		mu.Unlock()
	}

	// Issue 15, verbatim: 10 writes, one with an apostrophe in an
	// attribute, 10 more, all at once.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() {
			post(map[string]any{"id": fmt.Sprintf("innocent-a%d", i+1), "conversation_id": "pz", "event_name": "pz"})
		})
	}
	wg.Go(func() {
		post(map[string]any{"id": "poison-1", "conversation_id": "pz", "event_name": "pz", "attributes": map[string]string{"note": "it's"}})
	})
	for i := range 10 {
		wg.Go(func() {
			post(map[string]any{"id": fmt.Sprintf("innocent-b%d", i+1), "conversation_id": "pz", "event_name": "pz"})
		})
	}
	// Every hostile value in every field, beside 40 plain writes.
	for i, v := range hostileValues {
		wg.Go(func() {
			post(map[string]any{"id": fmt.Sprintf("%s#%d", v, i), "conversation_id": v, "event_name": v,
				"input": v, "output": v + v, "error": v, "attributes": map[string]string{v: v, "note": v}})
		})
	}
	for i := range 40 {
		wg.Go(func() {
			post(map[string]any{"id": fmt.Sprintf("plain-%d", i), "conversation_id": "plain", "event_name": "plain"})
		})
	}
	// The largest event the API accepts: three text fields of 1 MiB and
	// 128 attributes of 4 KiB keys and values, hostile text throughout: in
	// the Kafka topology one message of about 5 MiB.
	wg.Go(func() {
		attrs := map[string]string{}
		for i := range 128 {
			attrs[fillBytes(fmt.Sprintf("k%03d ", i), 4096)] = fillBytes(`it's \ 🦜 `, 4096)
		}
		post(map[string]any{"id": "largest", "conversation_id": "large", "event_name": "large",
			"input": fillBytes("in 'q' ", 1<<20), "output": fillBytes("out \\N\t", 1<<20),
			"error": fillBytes("err {{.Database}} ", 1<<20), "attributes": attrs})
	})
	// Concurrent batches of large events, which a pipeline call may carry
	// together: about 800 KB each, several MB per call, spread over
	// messages of at most max_resource_bytes.
	for b := range 12 {
		wg.Go(func() {
			events := make([]map[string]any, 400)
			for i := range events {
				events[i] = map[string]any{"id": fmt.Sprintf("batch-%d-%d", b, i), "conversation_id": fmt.Sprintf("batch-%d", b),
					"event_name": "batch", "input": fillBytes(fmt.Sprintf("it's %d-%d ", b, i), 2000)}
			}
			data, _ := json.Marshal(events)
			if r := call(t, "POST", baseURL+"/events/batch", string(data)); r.status != http.StatusAccepted {
				t.Errorf("batch %d: %d %.300s", b, r.status, r.body)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	eventually(t, 60*time.Second, func() string {
		for b := range 12 {
			page, msg := conversationPage(t, baseURL, fmt.Sprintf("batch-%d", b))
			if msg != "" || len(page) != 400 {
				return fmt.Sprintf("conversation batch-%d: %d events (%s), want 400", b, len(page), msg)
			}
			for _, e := range page {
				var i int
				if _, err := fmt.Sscanf(e.ID, fmt.Sprintf("batch-%d-%%d", b), &i); err != nil ||
					e.Input != fillBytes(fmt.Sprintf("it's %d-%d ", b, i), 2000) {
					return fmt.Sprintf("batch event %q: input of %d bytes differs", e.ID, len(e.Input))
				}
			}
		}
		return ""
	})

	// A partial update carrying every hostile value reaches the stored state.
	for i, v := range hostileValues {
		id := fmt.Sprintf("%s#%d", v, i)
		data, _ := json.Marshal(map[string]any{"output": "updated " + v, "attributes": map[string]string{v: "updated " + v}})
		if r := call(t, "PUT", baseURL+"/event/"+url.PathEscape(id), string(data)); r.status != http.StatusAccepted {
			t.Fatalf("PUT %q: %d %s", id, r.status, r.body)
		}
		w := want[id]
		w.Output, w.Attributes = "updated "+v, map[string]string{v: "updated " + v}
		want[id] = w
	}

	eventually(t, 60*time.Second, func() string {
		for id, w := range want {
			r := call(t, "GET", baseURL+"/event/"+url.PathEscape(id), nil)
			if r.status != http.StatusOK {
				return fmt.Sprintf("GET %q: %d %s", id, r.status, r.body)
			}
			var got httpapi.Event
			if err := json.Unmarshal(r.body, &got); err != nil {
				return err.Error()
			}
			if got.ID != w.ID || got.ConversationID != w.ConversationID || got.EventName != w.EventName ||
				got.Input != w.Input || got.Output != w.Output || got.Error != w.Error || !maps.Equal(got.Attributes, w.Attributes) {
				return fmt.Sprintf("GET %q:\n%+v\nwant\n%+v", id, got, w)
			}
		}
		return ""
	})
	// The reads that bind the hostile values as parameters find exactly
	// their rows.
	page, msg := conversationPage(t, baseURL, "pz")
	if msg != "" || len(page) != 21 {
		t.Fatalf("conversation pz: %d events (%s), want 21", len(page), msg)
	}
	for i, v := range hostileValues {
		id := fmt.Sprintf("%s#%d", v, i)
		page, msg := conversationPage(t, baseURL, url.PathEscape(v))
		if msg != "" || len(page) != 1 || page[0].ID != id {
			t.Errorf("conversation %q: %+v (%s), want only %q", v, page, msg, id)
		}
		r := call(t, "GET", baseURL+"/analytics/errors?days=1&event_name="+url.QueryEscape(v), nil)
		var counts struct {
			Data []struct{ Errors int64 } `json:"data"`
		}
		if err := json.Unmarshal(r.body, &counts); r.status != http.StatusOK || err != nil || len(counts.Data) != 1 || counts.Data[0].Errors != 1 {
			t.Errorf("errors of %q: %d %s, want 1 today", v, r.status, r.body)
		}
	}
}

// fillBytes repeats pattern to exactly n bytes, cutting it on a character
// boundary (the rest is filled with '.').
func fillBytes(pattern string, n int) string {
	s := strings.Repeat(pattern, n/len(pattern)+1)
	s = strings.ToValidUTF8(s[:n], "")
	return s + strings.Repeat(".", n-len(s))
}

// TestEngineOutageLongerThanRetries: the single node on a ClickHouse server
// that becomes unreachable for longer than a finite retry budget would last
// (retries every 100-500 ms here, so the 15 s outage is 30+ attempts; the
// shipped max_elapsed_time is 0) keeps every acknowledged operation in its
// persistent queue and stores all of it, exactly, once the server is back.
func TestEngineOutageLongerThanRetries(t *testing.T) {
	database := storagetest.ServerDatabase(t, "e2e_outage")
	proxy := newFaultProxy(t, storagetest.ServerAddr)
	port := freePort(t)
	env := append(singleNodeEnv(t, t.TempDir(), port), "CLICKHOUSE_ENDPOINT=tcp://"+proxy.addr(), "CLICKHOUSE_DATABASE="+database)
	c := startCollectorReady(t, "config/single-node.yaml", env, port, "http://127.0.0.1:"+port+"/health",
		"--config", "yaml:exporters::clickhouseevents::retry_on_failure::initial_interval: 100ms",
		"--config", "yaml:exporters::clickhouseevents::retry_on_failure::max_interval: 500ms")
	outage(t, c, proxy, func() {
		time.Sleep(15 * time.Second)
		if n := strings.Count(c.logs.String(), "Exporting failed. Will retry"); n < 10 {
			t.Fatalf("the exporter retried %d times during the outage; the test did not exercise it", n)
		}
	})
	if strings.Contains(c.logs.String(), "Dropping data") {
		t.Fatalf("the exporter dropped data:\n%s", tail(c.logs.String(), 40))
	}
}

// TestEngineOutageThroughKafka: in the Kafka topology, the exporter gives up
// on a message after its retry budget (2 s here) and the kafka receiver
// does not mark it; the collector is then killed with SIGKILL while the
// server is still away, and restarted once it is back. Had an offset passed
// an unstored record, the restarted consumer would skip it.
func TestEngineOutageThroughKafka(t *testing.T) {
	database := storagetest.ServerDatabase(t, "e2e_outage_kafka")
	proxy := newFaultProxy(t, storagetest.ServerAddr)
	port := freePort(t)
	host, chPort, _ := net.SplitHostPort(proxy.addr())
	env := append(kafkaEnv(t, port, uniqueName("e2e_outage"), uniqueName("e2e_group"), database),
		"CONSUMER_FLUSH_INTERVAL_MS=5", "CLICKHOUSE_HOST="+host, "CLICKHOUSE_PORT="+chPort)
	c := startCollectorReady(t, "collector-config.yaml", env, port, "http://127.0.0.1:"+port+"/health",
		"--config", "yaml:exporters::clickhouseevents::retry_on_failure::initial_interval: 200ms",
		"--config", "yaml:exporters::clickhouseevents::retry_on_failure::max_interval: 500ms",
		"--config", "yaml:exporters::clickhouseevents::retry_on_failure::max_elapsed_time: 2s")
	outage(t, c, proxy, func() {
		time.Sleep(10 * time.Second)
		if n := strings.Count(c.logs.String(), "Backing off due to error from the next consumer"); n < 2 {
			t.Fatalf("the kafka receiver saw %d failed messages during the outage; the test did not exercise it", n)
		}
		c.kill()
	})
}

// outage writes 20 events, waits until they are stored, cuts the ClickHouse
// server off, writes 100 more, an update and a delete (each answered 202),
// runs during (still cut off), brings the server back, and checks that the
// final state is exactly what was acknowledged. The collector c (restarted
// by during's caller if during stops it) must be serving when it returns.
func outage(t *testing.T, c *collector, proxy *faultProxy, during func()) {
	t.Helper()
	write := func(id, body string) {
		if r := call(t, "POST", c.baseURL+"/event/", body); r.status != http.StatusAccepted {
			t.Errorf("POST %s: %d %s", id, r.status, r.body)
		}
	}
	for i := range 20 {
		id := fmt.Sprintf("before-%d", i)
		write(id, fmt.Sprintf(`{"id":%q,"conversation_id":"outage","event_name":"n","latency":%d}`, id, i))
	}
	eventually(t, 30*time.Second, func() string {
		if page, msg := conversationPage(t, c.baseURL, "outage"); len(page) != 20 {
			return fmt.Sprintf("%d of 20 before the outage (%s)", len(page), msg)
		}
		return ""
	})

	proxy.block()
	var wg sync.WaitGroup
	for i := range 100 {
		wg.Go(func() {
			id := fmt.Sprintf("during-%d", i)
			write(id, fmt.Sprintf(`{"id":%q,"conversation_id":"outage","event_name":"n","latency":%d,"error":"it's down"}`, id, i))
		})
	}
	wg.Wait()
	if r := call(t, "PUT", c.baseURL+"/event/before-1", `{"error":"set during the outage"}`); r.status != http.StatusAccepted {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if r := call(t, "DELETE", c.baseURL+"/event/before-2", nil); r.status != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	if t.Failed() {
		t.FailNow()
	}
	during()
	proxy.unblock()
	if c.cmd.ProcessState != nil { // during stopped it
		c.start()
	}

	eventually(t, 90*time.Second, func() string {
		page, msg := conversationPage(t, c.baseURL, "outage")
		if len(page) != 119 {
			return fmt.Sprintf("%d of 119 events after the outage (%s)", len(page), msg)
		}
		for _, e := range page {
			if e.ID == "before-2" || e.ID == "before-1" && e.Error != "set during the outage" ||
				strings.HasPrefix(e.ID, "during-") && e.Error != "it's down" {
				return fmt.Sprintf("event %s: %+v", e.ID, e)
			}
		}
		return ""
	})
	r := call(t, "GET", c.baseURL+"/analytics/errors?event_name=n&days=1", nil)
	if !strings.Contains(string(r.body), `"errors":101`) {
		t.Fatalf("errors today: %s, want 101", r.body)
	}
}

// TestPoisonThroughKafka: operations that the ClickHouse server refuses on
// their own, mixed in a batch with good ones, go to the dead letters; every
// good one is stored, and the consumer moves on.
func TestPoisonThroughKafka(t *testing.T) {
	database := storagetest.ServerDatabase(t, "e2e_poison")
	// The schema first, then the hook that makes the server refuse any
	// insert whose input holds the marker: a MATERIALIZED column of
	// event_state (the first table an insert writes) that throws before
	// anything is stored.
	cfg := storage.NewDefaultConfig()
	cfg.Endpoint, cfg.Database = "tcp://"+storagetest.ServerAddr, database
	store, err := storage.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.Exec(context.Background(), "ALTER TABLE "+database+
		".event_state ADD COLUMN poison_check UInt8 MATERIALIZED throwIf(position(input, 'poison-marker') > 0)"); err != nil {
		t.Fatal(err)
	}

	port := freePort(t)
	env := append(kafkaEnv(t, port, uniqueName("e2e_poison"), uniqueName("e2e_group"), database), "CONSUMER_FLUSH_INTERVAL_MS=5")
	c := startCollector(t, "collector-config.yaml", env, port)
	var batch strings.Builder
	batch.WriteString("[")
	poison := map[string]bool{}
	for i := range 60 {
		if i > 0 {
			batch.WriteString(",")
		}
		input := "it's fine"
		if i%20 == 7 {
			input = "it's poison-marker"
			poison[fmt.Sprintf("b-%d", i)] = true
		}
		fmt.Fprintf(&batch, `{"op":"create","id":"b-%d","conversation_id":"pc","event_name":"n","input":%q}`, i, input)
	}
	batch.WriteString("]")
	if r := call(t, "POST", c.baseURL+"/events/batch", batch.String()); r.status != http.StatusAccepted && r.status != http.StatusOK {
		t.Fatalf("batch: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", c.baseURL+"/event/", `{"id":"after","conversation_id":"pc","event_name":"n"}`); r.status != http.StatusAccepted {
		t.Fatalf("POST after: %d %s", r.status, r.body)
	}
	eventually(t, 60*time.Second, func() string {
		page, msg := conversationPage(t, c.baseURL, "pc")
		if len(page) != 61-len(poison) {
			return fmt.Sprintf("%d events stored, want %d (%s)", len(page), 61-len(poison), msg)
		}
		for _, e := range page {
			if poison[e.ID] {
				return "poison stored: " + e.ID
			}
		}
		return ""
	})
	checkDeadLetters(t, c.baseURL, poison)
	metrics := envValue(env, "METRICS_PORT")
	if n := metricSum(t, "http://127.0.0.1:"+metrics+"/metrics", "otelcol_events_exporter_dead_letters"); n != float64(len(poison)) {
		t.Fatalf("otelcol_events_exporter_dead_letters = %v, want %d", n, len(poison))
	}
	// A restarted collector lists the same dead letters, each once: they
	// are kept in the database, and the records they came from are not
	// consumed again.
	c.stop()
	c.start()
	checkDeadLetters(t, c.baseURL, poison)
}

// checkDeadLetters reads GET /dead-letters: exactly one letter per id of
// want, each with its whole operation and the engine's error.
func checkDeadLetters(t *testing.T, baseURL string, want map[string]bool) {
	t.Helper()
	r := call(t, "GET", baseURL+"/dead-letters", nil)
	var letters struct {
		DeadLetters []struct {
			ID      string          `json:"id"`
			Payload json.RawMessage `json:"payload"`
			Error   string          `json:"error"`
		} `json:"dead_letters"`
	}
	if err := json.Unmarshal(r.body, &letters); err != nil || r.status != http.StatusOK {
		t.Fatalf("GET /dead-letters: %d %s", r.status, r.body)
	}
	got := map[string]bool{}
	for _, l := range letters.DeadLetters {
		if got[l.ID] {
			t.Errorf("dead letter %s listed twice", l.ID)
		}
		got[l.ID] = true
		if !strings.Contains(string(l.Payload), "poison-marker") || !strings.Contains(l.Error, "throwIf") {
			t.Errorf("dead letter %s: %s (%s)", l.ID, l.Payload, l.Error)
		}
	}
	if !maps.Equal(got, want) {
		t.Fatalf("dead letters %v, want %v", got, want)
	}
}

// faultProxy forwards TCP connections to a server until it is blocked: then
// it cuts every open connection and refuses new ones, as a server that went
// away would.
type faultProxy struct {
	ln      net.Listener
	target  string
	mu      sync.Mutex
	blocked bool
	conns   map[net.Conn]struct{}
}

func newFaultProxy(t *testing.T, target string) *faultProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &faultProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(conn)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		p.block()
	})
	return p
}

func (p *faultProxy) addr() string { return p.ln.Addr().String() }

func (p *faultProxy) serve(client net.Conn) {
	p.mu.Lock()
	if p.blocked {
		p.mu.Unlock()
		client.Close()
		return
	}
	p.conns[client] = struct{}{}
	p.mu.Unlock()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	p.conns[server] = struct{}{}
	p.mu.Unlock()
	go func() { _, _ = io.Copy(server, client); server.Close() }()
	_, _ = io.Copy(client, server)
	client.Close()
}

func (p *faultProxy) block() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *faultProxy) unblock() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blocked = false
}
