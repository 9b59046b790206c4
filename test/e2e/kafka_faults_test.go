//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// TestKafkaRebalanceUnderLoad: two collectors of the full topology in one
// consumer group take writes; a third joins mid-stream, later the second
// leaves (SIGTERM). Every rebalance revokes partitions with records in
// flight; ClickHouse must end holding exactly what was acknowledged.
func TestKafkaRebalanceUnderLoad(t *testing.T) {
	topic, group, database := uniqueName("e2e_rebalance"), uniqueName("e2e_group"), storagetest.ServerDatabase(t, "e2e_rebalance")
	env := func(port string) []string {
		return append(kafkaEnv(t, port, topic, group, database), "CONSUMER_FLUSH_INTERVAL_MS=20")
	}
	portA, portB, portC := freePort(t), freePort(t), freePort(t)
	a := startCollector(t, "collector-config.yaml", env(portA), portA)
	b := startCollector(t, "collector-config.yaml", env(portB), portB)

	// About 10 s of writes; the membership changes run beside them.
	load := newKafkaLoad(uniqueName("rb"), 16, 200, 40*time.Millisecond)
	var (
		changes      sync.WaitGroup
		joined, left time.Time
	)
	// Writes go through a, which stays; b and c take part in consuming.
	load.run(t, []string{a.baseURL}, func(sent int64) {
		switch sent {
		case load.total() / 4:
			changes.Go(func() {
				startCollector(t, "collector-config.yaml", env(portC), portC)
				joined = time.Now()
			})
		case 2 * load.total() / 3:
			changes.Go(func() {
				b.stop()
				left = time.Now()
			})
		}
	})
	done := time.Now()
	changes.Wait()
	if joined.IsZero() || left.IsZero() || joined.After(done) {
		t.Fatalf("the third collector joined at %v and the second left at %v; the load ended at %v", joined, left, done)
	}
	load.check(t, database, a.baseURL)
	// The ids' buckets spread the records over every partition (bucket b
	// to partition b), so that every collector of the group has a share.
	if offsets := partitionEndOffsets(t, topic); len(offsets) != 3 || slices.Contains(offsets, 0) {
		t.Fatalf("records per partition of %s: %v, want all 3 partitions used", topic, offsets)
	}
}

// TestKafkaClickHouseDownUnderLoad: the ClickHouse server is cut off for 30 s
// while writes keep coming. Writes keep being acknowledged (they only need
// Kafka), no offset passes an unstored record, and the storage tier catches
// up by itself once the server is back.
func TestKafkaClickHouseDownUnderLoad(t *testing.T) {
	database := storagetest.ServerDatabase(t, "e2e_chdown")
	proxy := newFaultProxy(t, storagetest.ServerAddr)
	host, chPort, _ := net.SplitHostPort(proxy.addr())
	port := freePort(t)
	env := append(kafkaEnv(t, port, uniqueName("e2e_chdown"), uniqueName("e2e_group"), database),
		"CONSUMER_FLUSH_INTERVAL_MS=20", "CLICKHOUSE_HOST="+host, "CLICKHOUSE_PORT="+chPort)
	c := startCollectorReady(t, "collector-config.yaml", env, port, "http://127.0.0.1:"+port+"/health")

	load := newKafkaLoad(uniqueName("cd"), 8, 100, 50*time.Millisecond)
	var down time.Time
	load.run(t, []string{c.baseURL}, func(sent int64) {
		if sent == load.total()/4 {
			proxy.block()
			down = time.Now()
		}
	})
	if down.IsZero() {
		t.Fatal("the server was never cut off")
	}
	// While the server is away, /health says so: 503 for the reads, and
	// the exporter's failing inserts among the reasons.
	eventually(t, 30*time.Second, func() string {
		r := call(t, "GET", c.baseURL+"/health", nil)
		if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), `"source":"exporter/clickhouseevents"`) {
			return fmt.Sprintf("GET /health during the outage: %d %s", r.status, r.body)
		}
		return ""
	})
	if rest := 30*time.Second - time.Since(down); rest > 0 {
		time.Sleep(rest)
	}
	proxy.unblock()
	load.check(t, database, c.baseURL)
	// ... and ok again once every insert went through.
	eventually(t, 30*time.Second, func() string {
		r := call(t, "GET", c.baseURL+"/health", nil)
		if r.status != http.StatusOK || !strings.Contains(string(r.body), `"status":"ok"`) {
			return fmt.Sprintf("GET /health after the outage: %d %s", r.status, r.body)
		}
		return ""
	})
}

// TestKafkaBrokerRestartUnderLoad: the broker is stopped (SIGTERM) and
// started again mid-stream, with its data. Writes during the restart may be
// refused (503) but never acknowledged and lost; the consumers meet fetch
// errors and resume; ClickHouse ends holding exactly what was acknowledged.
func TestKafkaBrokerRestartUnderLoad(t *testing.T) {
	topic, group, database := uniqueName("e2e_brokerrestart"), uniqueName("e2e_group"), storagetest.ServerDatabase(t, "e2e_brokerrestart")
	port := freePort(t)
	c := startCollector(t, "collector-config.yaml",
		append(kafkaEnv(t, port, topic, group, database), "CONSUMER_FLUSH_INTERVAL_MS=20"), port)

	load := newKafkaLoad(uniqueName("br"), 8, 150, 40*time.Millisecond)
	load.tolerateRefusals = true
	var (
		restart  sync.WaitGroup
		restarts int
	)
	load.run(t, []string{c.baseURL}, func(sent int64) {
		if sent == load.total()/3 {
			restart.Go(func() {
				out, err := exec.Command(filepath.Join(repoRoot(t), "scripts", "services.sh"), "kafka-restart").CombinedOutput()
				if err != nil {
					t.Errorf("restart the broker: %v\n%s", err, out)
					return
				}
				restarts++
			})
		}
	})
	restart.Wait()
	if restarts != 1 {
		t.Fatal("the broker was not restarted")
	}
	t.Logf("%d writes refused while the broker restarted", load.refused.Load())
	load.check(t, database, c.baseURL)
}

// TestKafkaBrokerDownAnswers503: with the broker stopped, a write is answered
// 503 with Retry-After within twice pipeline_timeout (2 s here), with the
// id it was given; once the broker is back, the retry with that id is
// stored once, whether or not the refused write reached Kafka after all.
func TestKafkaBrokerDownAnswers503(t *testing.T) {
	database := storagetest.ServerDatabase(t, "e2e_brokerdown")
	port := freePort(t)
	c := startCollector(t, "collector-config.yaml", append(kafkaEnv(t, port, uniqueName("e2e_brokerdown"),
		uniqueName("e2e_group"), database), "CONSUMER_FLUSH_INTERVAL_MS=20", "PIPELINE_TIMEOUT=2s"), port)
	services := filepath.Join(repoRoot(t), "scripts", "services.sh")
	if r := call(t, "POST", c.baseURL+"/event/", `{"id":"before","conversation_id":"down","event_name":"n"}`); r.status != http.StatusAccepted {
		t.Fatalf("POST before the outage: %d %s", r.status, r.body)
	}
	if out, err := exec.Command(services, "kafka-stop").CombinedOutput(); err != nil {
		t.Fatalf("stop the broker: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		// The broker comes back whatever happens: the other tests need it.
		if out, err := exec.Command(services, "up").CombinedOutput(); err != nil {
			t.Errorf("start the broker again: %v\n%s", err, out)
		}
	})
	client := &http.Client{Timeout: 30 * time.Second}
	start := time.Now()
	r := callWith(t, client, "POST", c.baseURL+"/event/", `{"conversation_id":"down","event_name":"n","input":"it's refused"}`)
	took := time.Since(start)
	body := r.json(t)
	id, _ := body["id"].(string)
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || id == "" || took > 5*time.Second {
		t.Fatalf("a write with the broker down: %d %s (Retry-After %q) after %s; want 503 with Retry-After and the id within 4 s",
			r.status, r.body, r.header.Get("Retry-After"), took)
	}
	// /health says why, while the broker is away, and is ok once a write
	// goes again.
	if r := call(t, "GET", c.baseURL+"/health", nil); r.status != http.StatusOK || !strings.Contains(string(r.body), `"degraded"`) ||
		!strings.Contains(string(r.body), "receiver/events") {
		t.Errorf("/health with the broker down: %d %s", r.status, r.body)
	}
	if out, err := exec.Command(services, "up").CombinedOutput(); err != nil {
		t.Fatalf("start the broker again: %v\n%s", err, out)
	}
	retry := fmt.Sprintf(`{"id":%q,"conversation_id":"down","event_name":"n","input":"it's refused"}`, id)
	eventually(t, 60*time.Second, func() string {
		if r := call(t, "POST", c.baseURL+"/event/", retry); r.status != http.StatusAccepted {
			return fmt.Sprintf("retry: %d %s", r.status, r.body)
		}
		return ""
	})
	eventually(t, 60*time.Second, func() string {
		page, msg := conversationPage(t, c.baseURL, "down")
		if len(page) != 2 {
			return fmt.Sprintf("%d events in the conversation, want 2 (%s)", len(page), msg)
		}
		return ""
	})
	eventually(t, 30*time.Second, func() string {
		if r := call(t, "GET", c.baseURL+"/health", nil); strings.Contains(string(r.body), `"degraded"`) {
			return fmt.Sprintf("/health after the broker is back: %d %s", r.status, r.body)
		}
		return ""
	})
}

// kafkaLoad sends creates, partial updates and deletes from several
// workers, each with ids of its own, so that the operations of an id are
// sent (and acknowledged) in a known order; want is the state they imply.
type kafkaLoad struct {
	run_    string
	workers int
	perWork int
	pace    time.Duration
	sent    atomic.Int64
	mu      sync.Mutex
	want    map[string]*event.State
	// tolerateRefusals lets a write be refused (503, or no answer): the
	// event is then not in want, and its worker goes on with the next one.
	// An acknowledged operation must still be stored.
	tolerateRefusals bool
	refused          atomic.Int64
	unknown          map[string]bool // ids with a refused operation
}

// newKafkaLoad makes a load of workers x eventsPerWorker events; each
// worker pauses pace after each event.
func newKafkaLoad(run string, workers, eventsPerWorker int, pace time.Duration) *kafkaLoad {
	return &kafkaLoad{run_: run, workers: workers, perWork: eventsPerWorker, pace: pace, want: map[string]*event.State{}, unknown: map[string]bool{}}
}

// total is the number of creates the load sends.
func (l *kafkaLoad) total() int64 { return int64(l.workers * l.perWork) }

// run sends the load round-robin to urls; at is called after every event
// with the number of events sent so far, from one goroutine at a time (it
// must not block: the other workers wait for it).
func (l *kafkaLoad) run(t *testing.T, urls []string, at func(sent int64)) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		atMu  sync.Mutex
		seq   atomic.Uint64
		fails atomic.Int64
	)
	for w := range l.workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 3))
			for i := range l.perWork {
				id := fmt.Sprintf("%s-%d-%d", l.run_, w, i)
				conv := fmt.Sprintf("%s-c%d", l.run_, i%7)
				url := urls[(w+i)%len(urls)]
				latency := rng.IntN(1000)
				ops := []struct {
					method, path, body string
					op                 event.Operation
				}{{"POST", "/event/", fmt.Sprintf(`{"id":%q,"conversation_id":%q,"event_name":"kafka_e2e","latency":%d}`, id, conv, latency),
					event.Operation{Op: event.OpCreate, ID: id, Set: event.AllFields,
						Event: event.Event{ConversationID: conv, Name: "kafka_e2e", LatencyMs: float64(latency)}}}}
				if i%4 == 0 {
					ops = append(ops, struct {
						method, path, body string
						op                 event.Operation
					}{"PUT", "/event/" + id, `{"error":"it's broken"}`, event.Operation{Op: event.OpUpdate, ID: id,
						Set: event.Fields(0).With(event.FieldError), Event: event.Event{Error: "it's broken"}}})
				}
				if i%9 == 0 {
					ops = append(ops, struct {
						method, path, body string
						op                 event.Operation
					}{"DELETE", "/event/" + id, "", event.Operation{Op: event.OpDelete, ID: id}})
				}
				for _, o := range ops {
					status, err := tryCall(o.method, url+o.path, o.body)
					if err != nil || status != http.StatusAccepted {
						if l.tolerateRefusals && (err != nil || status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) {
							// Refused, or no answer: unknown whether it is
							// stored, so the id leaves the check unless an
							// earlier operation of it was acknowledged.
							l.refused.Add(1)
							l.mu.Lock()
							l.unknown[id] = true
							l.mu.Unlock()
							break
						}
						fails.Add(1)
						t.Errorf("%s %s: %d %v", o.method, o.path, status, err)
						return
					}
					op := o.op
					op.Version = seq.Add(1)
					l.mu.Lock()
					st := l.want[id]
					if st == nil {
						st = &event.State{ID: id}
						l.want[id] = st
					}
					st.Apply(&op)
					l.mu.Unlock()
				}
				n := l.sent.Add(1)
				atMu.Lock()
				at(n)
				atMu.Unlock()
				time.Sleep(l.pace)
			}
		})
	}
	wg.Wait()
	if fails.Load() > 0 {
		t.FailNow()
	}
}

// check waits until ClickHouse holds exactly the state the acknowledged
// operations imply (checkStoredState).
func (l *kafkaLoad) check(t *testing.T, database, baseURL string) {
	t.Helper()
	checkStoredState(t, database, baseURL, l.want, l.unknown)
}

// checkStoredState waits until ClickHouse holds exactly want: one net
// analytics row per visible event with its error flag, none for a deleted
// one, and none for an id never written; an id in unknown (a refused write
// that may or may not be stored) may have at most one. Reads through the API
// agree on a sample.
func checkStoredState(t *testing.T, database, baseURL string, want map[string]*event.State, unknown map[string]bool) {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{storagetest.ServerAddr}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	eventually(t, 120*time.Second, func() string {
		rows, err := conn.Query(context.Background(),
			"SELECT id, sum(sign), argMax(is_error, rev) FROM "+database+".events GROUP BY id")
		if err != nil {
			return err.Error()
		}
		defer rows.Close()
		got, gotErr := map[string]int64{}, map[string]uint8{}
		for rows.Next() {
			var (
				id    string
				n     int64
				isErr uint8
			)
			if err := rows.Scan(&id, &n, &isErr); err != nil {
				return err.Error()
			}
			got[id], gotErr[id] = n, isErr
		}
		for id := range unknown {
			if got[id] > 1 || got[id] < 0 {
				return fmt.Sprintf("%s: %d analytics rows net after a refused write", id, got[id])
			}
			delete(got, id)
		}
		for id, st := range want {
			if unknown[id] {
				continue
			}
			wantN := int64(0)
			if st.Visible() {
				wantN = 1
			}
			if got[id] != wantN {
				return fmt.Sprintf("%s: %d analytics rows net, want %d (of %d ids)", id, got[id], wantN, len(want))
			}
			if st.Visible() && (gotErr[id] == 1) != (st.Error != "") {
				return fmt.Sprintf("%s: is_error %d, want error %q", id, gotErr[id], st.Error)
			}
			delete(got, id)
		}
		for id, n := range got {
			if n != 0 {
				return fmt.Sprintf("%s: %d analytics rows of an id never written", id, n)
			}
		}
		return ""
	})
	i := 0
	for id, st := range want {
		if i++; i%17 != 0 || unknown[id] {
			continue
		}
		r := call(t, "GET", baseURL+"/event/"+id, nil)
		switch {
		case st.Visible() && (r.status != 200 || r.json(t)["error"] != st.Error):
			t.Fatalf("GET %s: %d %s, want error %q", id, r.status, r.body, st.Error)
		case !st.Visible() && r.status != 404:
			t.Fatalf("GET %s (deleted): %d", id, r.status)
		}
	}
}

// partitionEndOffsets returns the end offset of each partition of topic:
// how many records each received.
func partitionEndOffsets(t *testing.T, topic string) []int64 {
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers("127.0.0.1:9092"))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = append(meta.Topics, mt)
	metaResp, err := meta.RequestWith(ctx, client)
	if err != nil || len(metaResp.Topics) != 1 {
		t.Fatalf("metadata of %s: %v", topic, err)
	}
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for _, p := range metaResp.Topics[0].Partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition = p.Partition
		rp.Timestamp = -1 // the end
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, client)
	if err != nil || len(resp.Topics) != 1 {
		t.Fatalf("end offsets of %s: %v", topic, err)
	}
	offsets := make([]int64, len(resp.Topics[0].Partitions))
	for _, p := range resp.Topics[0].Partitions {
		offsets[p.Partition] = p.Offset
	}
	return offsets
}
