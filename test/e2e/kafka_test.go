//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// kafkaEnv is the environment of collector-config.yaml for one instance;
// instances of one test share the topic, the consumer group and the database.
func kafkaEnv(t *testing.T, apiPort, topic, group, database string) []string {
	return []string{
		"API_PORT=" + apiPort,
		"QUERY_PORT=" + freePort(t),
		"OTLP_GRPC_PORT=" + freePort(t),
		"OTLP_HTTP_PORT=" + freePort(t),
		"HEALTH_PORT=" + freePort(t),
		"METRICS_PORT=" + freePort(t),
		"KAFKA_BROKERS=127.0.0.1:9092",
		"KAFKA_TOPIC=" + topic,
		"KAFKA_GROUP_ID=" + group,
		"CLICKHOUSE_HOST=127.0.0.1",
		"CLICKHOUSE_PORT=9000",
		"CLICKHOUSE_DATABASE=" + database,
	}
}

// TestKafkaTopologySurvivesConsumerKill runs two collectors of the full
// topology in one consumer group on a 3-partition topic, sends creates,
// updates and deletes through one of them, kills the other with SIGKILL
// mid-stream and restarts it. ClickHouse must end holding exactly the state
// implied by the acknowledged operations: nothing lost, nothing duplicated.
func TestKafkaTopologySurvivesConsumerKill(t *testing.T) {
	topic, group, database := uniqueName("e2e_events"), uniqueName("e2e_group"), storagetest.ServerDatabase(t, "e2e_kafka")
	portA, portB := freePort(t), freePort(t)
	// One sender, one request at a time: with the configuration's 200 ms
	// between ingest calls under load, its 800 requests would take minutes.
	// The interval changes message sizes, not what is acknowledged when.
	fast := "CONSUMER_FLUSH_INTERVAL_MS=5"
	a := startCollector(t, "collector-config.yaml", append(kafkaEnv(t, portA, topic, group, database), fast), portA)
	b := startCollector(t, "collector-config.yaml", append(kafkaEnv(t, portB, topic, group, database), fast), portB)

	const (
		conversations = 20
		events        = 600
	)
	run := uniqueName("k")
	type sent struct {
		op    event.Operation
		acked bool
	}
	var (
		mu  sync.Mutex
		log []sent
	)
	send := func(method, path, body string, op event.Operation) {
		r, err := tryCall(method, a.baseURL+path, body)
		mu.Lock()
		defer mu.Unlock()
		log = append(log, sent{op: op, acked: err == nil && r == http.StatusAccepted})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	killed := make(chan struct{})
	go func() {
		// SIGKILL the second collector once a third of the traffic is in.
		for {
			mu.Lock()
			n := len(log)
			mu.Unlock()
			if n >= events/3 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.kill()
		close(killed)
	}()
	var seq uint64
	for i := range events {
		id := fmt.Sprintf("%s-%d", run, i)
		conv := fmt.Sprintf("%s-c%d", run, i%conversations)
		latency := rng.IntN(1000)
		seq++
		create := event.Operation{Op: event.OpCreate, ID: id, Version: seq, Set: event.AllFields,
			Event: event.Event{ConversationID: conv, Name: "kafka_e2e", LatencyMs: float64(latency)}}
		send("POST", "/event/", fmt.Sprintf(`{"id":%q,"conversation_id":%q,"event_name":"kafka_e2e","latency":%d}`, id, conv, latency), create)
		if i%5 == 0 {
			seq++
			upd := event.Operation{Op: event.OpUpdate, ID: id, Version: seq, Set: event.Fields(0).With(event.FieldError),
				Event: event.Event{Error: "boom"}}
			send("PUT", "/event/"+id, `{"error":"boom"}`, upd)
		}
		if i%7 == 0 {
			seq++
			send("DELETE", "/event/"+id, "", event.Operation{Op: event.OpDelete, ID: id, Version: seq})
		}
	}
	<-killed
	b.start()

	// The expected state, from the acknowledged operations in the order they
	// were acknowledged (one sender, so that is the receiver's order too).
	want := map[string]*event.State{}
	for _, s := range log {
		if !s.acked {
			t.Fatalf("%s %s was not acknowledged: the ingest collector was never killed", s.op.Op, s.op.ID)
		}
		st := want[s.op.ID]
		if st == nil {
			st = &event.State{ID: s.op.ID}
			want[s.op.ID] = st
		}
		op := s.op
		st.Apply(&op)
	}

	checkStoredState(t, database, a.baseURL, want, nil)
}

// tryCall is call without failing the test on a transport error.
func tryCall(method, url, body string) (int, error) {
	req, err := http.NewRequest(method, url, stringsReader(body))
	if err != nil {
		return 0, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
