//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// TestTwoTiersThroughKafka runs the Kafka topology as two collectors:
// config/ingest-tier.yaml (events API -> kafka exporter, reads through
// eventsquery) and config/storage-tier.yaml (kafka receiver ->
// clickhouseevents, eventsquery on QUERY_PORT). Creates, a partial update and
// a delete go through the ingest tier while no storage tier runs: they are
// acknowledged, and ClickHouse holds none of them. Then the storage tier
// starts, and both tiers' read APIs and ClickHouse show exactly the state
// the operations imply.
func TestTwoTiersThroughKafka(t *testing.T) {
	topic, group, database := uniqueName("e2e_tiers"), uniqueName("e2e_tiers_group"), storagetest.ServerDatabase(t, "e2e_tiers")
	ingestPort := freePort(t)
	ingest := startCollector(t, "config/ingest-tier.yaml", kafkaEnv(t, ingestPort, topic, group, database), ingestPort)

	run := uniqueName("tiers")
	convA, convB := run+"-a", run+"-b"
	// Whole milliseconds, a minute ago: the API answers milliseconds, and
	// every event lands in today's (and yesterday's) analytics window.
	base := time.Now().Add(-time.Minute).Truncate(time.Millisecond).UTC()
	at := func(i int) string { return base.Add(time.Duration(i) * time.Second).Format(apiTimestamp) }
	type create struct {
		id, conv, input, output, errText string
		latency                          float64
		attributes                       map[string]string
	}
	creates := []create{
		{id: run + "-a0", conv: convA, input: "q0", output: "r0", latency: 100},
		{id: run + "-a1", conv: convA, input: "q1", output: "r1", latency: 200},
		{id: run + "-a2", conv: convA, input: "q2", output: "r2", latency: 300, errText: "boom"},
		{id: run + "-b0", conv: convB, input: "q3", latency: 50, attributes: map[string]string{"tier": "ingest"}},
		{id: run + "-b1", conv: convB, output: "r4", latency: 75},
	}
	want := map[string]*wantEvent{}
	var ids []string
	for i, c := range creates {
		body := map[string]any{
			"id": c.id, "conversation_id": c.conv, "event_name": run, "input": c.input, "output": c.output,
			"latency": c.latency, "error": c.errText, "timestamp": at(i),
		}
		if c.attributes != nil {
			body["attributes"] = c.attributes
		}
		if r := call(t, "POST", ingest.baseURL+"/event/", body); r.status != http.StatusAccepted {
			t.Fatalf("POST %s: %d %s", c.id, r.status, r.body)
		}
		ids = append(ids, c.id)
		want[c.id] = &wantEvent{Event: httpapi.Event{
			ID: c.id, ConversationID: c.conv, EventName: run, Input: c.input, Output: c.output,
			Latency: c.latency, Error: c.errText, Timestamp: at(i), Attributes: c.attributes,
		}}
	}
	updated, deleted := run+"-a1", run+"-a2"
	if r := call(t, "PUT", ingest.baseURL+"/event/"+updated, map[string]any{"error": "timeout"}); r.status != http.StatusAccepted {
		t.Fatalf("PUT %s: %d %s", updated, r.status, r.body)
	}
	want[updated].Error = "timeout" // input, output, latency stay
	if r := call(t, "DELETE", ingest.baseURL+"/event/"+deleted, nil); r.status != http.StatusAccepted {
		t.Fatalf("DELETE %s: %d %s", deleted, r.status, r.body)
	}
	delete(want, deleted)

	// Every operation is in Kafka (202), and nothing consumes the topic: for
	// longer than the one-collector topology takes to make a write visible
	// (p99 well under a second), ClickHouse holds no row of these ids and
	// the ingest tier's reads find nothing.
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{"127.0.0.1:9000"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		for _, table := range []string{"event_state", "events"} {
			var n uint64
			if err := conn.QueryRow(context.Background(),
				"SELECT count() FROM "+database+"."+table+" WHERE has(?, id)", ids).Scan(&n); err != nil {
				t.Fatalf("count %s (the ingest tier's eventsquery creates the schema at start): %v", table, err)
			}
			if n != 0 {
				t.Fatalf("%d rows in %s before any storage tier ran: the ingest tier writes to ClickHouse", n, table)
			}
		}
	}
	if r := call(t, "GET", ingest.baseURL+"/event/"+ids[0], nil); r.status != http.StatusNotFound {
		t.Fatalf("GET %s through the ingest tier before the storage tier ran: %d %s, want 404", ids[0], r.status, r.body)
	}

	// The storage tier serves no events API: startCollector waits for the
	// /health of its eventsquery port, and its baseURL is that port.
	storageEnv := kafkaEnv(t, freePort(t), topic, group, database)
	storage := startCollector(t, "config/storage-tier.yaml", storageEnv, envValue(storageEnv, "QUERY_PORT"))

	eventually(t, 60*time.Second, func() string { return tierState(t, storage.baseURL, want, deleted, convA, convB) })
	if d := tierState(t, ingest.baseURL, want, deleted, convA, convB); d != "" {
		t.Fatalf("the ingest tier reads: %s", d)
	}
	for _, base := range []string{storage.baseURL, ingest.baseURL} {
		var errs errorCounts
		r := call(t, "GET", base+"/analytics/errors?event_name="+run+"&days=2", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s/analytics/errors: %d %s", base, r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &errs); err != nil {
			t.Fatalf("GET %s/analytics/errors: %v: %s", base, err, r.body)
		}
		var total int64
		for _, d := range errs.Data {
			total += d.Errors
		}
		// The updated event only: the deleted one's error no longer counts.
		if total != 1 {
			t.Fatalf("GET %s/analytics/errors: %d errors, want 1: %s", base, total, r.body)
		}
	}

	// ClickHouse: one analytics row net per visible event, none for the
	// deleted one.
	got := netRows(t, conn, "SELECT id, sum(sign) FROM "+database+".events WHERE has(?, id) GROUP BY id", ids)
	wantRows := map[string]int64{}
	for id := range want {
		wantRows[id] = 1
	}
	if !maps.Equal(got, wantRows) {
		t.Fatalf("analytics rows (id -> net count):\n got %v\nwant %v", got, wantRows)
	}
}

type errorCounts struct {
	Data []struct {
		Errors int64 `json:"errors"`
	} `json:"data"`
}

// tierState compares what the read API at baseURL answers with want: each
// conversation lists exactly its events in time order, each event reads back
// with the fields sent, and the deleted one is gone. It returns "" or the
// first difference.
func tierState(t *testing.T, baseURL string, want map[string]*wantEvent, deleted string, convs ...string) string {
	t.Helper()
	for _, conv := range convs {
		events, problem := conversationPage(t, baseURL, conv)
		if problem != "" {
			return problem
		}
		var wants []*wantEvent
		for _, w := range want {
			if w.ConversationID == conv {
				wants = append(wants, w)
			}
		}
		if len(events) != len(wants) {
			return fmt.Sprintf("conversation %s: %d events, want %d", conv, len(events), len(wants))
		}
		for i, got := range events {
			w, ok := want[got.ID]
			if !ok {
				return fmt.Sprintf("conversation %s lists %s, which it must not", conv, got.ID)
			}
			if i > 0 && events[i-1].Timestamp > got.Timestamp {
				return fmt.Sprintf("conversation %s is not in time order: %s before %s", conv, events[i-1].Timestamp, got.Timestamp)
			}
			if d := diffEvent(t, got, *w); d != "" {
				return fmt.Sprintf("conversation %s lists %s", conv, d)
			}
		}
	}
	for id, w := range want {
		r := call(t, "GET", baseURL+"/event/"+id, nil)
		if r.status != http.StatusOK {
			return fmt.Sprintf("GET /event/%s: %d %s", id, r.status, r.body)
		}
		var got httpapi.Event
		if err := json.Unmarshal(r.body, &got); err != nil {
			return fmt.Sprintf("GET /event/%s: %v: %s", id, err, r.body)
		}
		if d := diffEvent(t, got, *w); d != "" {
			return "GET /event/" + id + ": " + d
		}
	}
	if r := call(t, "GET", baseURL+"/event/"+deleted, nil); r.status != http.StatusNotFound {
		return fmt.Sprintf("GET the deleted /event/%s: %d %s, want 404", deleted, r.status, r.body)
	}
	return ""
}
