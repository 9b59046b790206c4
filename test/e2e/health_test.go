//go:build e2e

package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/otelcol-events/otelcol-events/internal/storage/storagetest"
)

// TestHealthReportsComponentErrors runs the ingest tier against a Kafka
// broker address where nothing listens: the kafka exporter and the events
// receiver (whose writes get 503) report a recoverable error status to the
// collector, and the eventsquery extension, a component status watcher,
// makes /health "degraded" with both (still 200:
// the API serves), and the read answers carry X-Data-Age. The shared broker
// is not touched.
func TestHealthReportsComponentErrors(t *testing.T) {
	port := freePort(t)
	env := kafkaEnv(t, port, uniqueName("e2e_health"), uniqueName("e2e_health_group"), storagetest.ServerDatabase(t, "e2e_health"))
	for i, kv := range env {
		if strings.HasPrefix(kv, "KAFKA_BROKERS=") {
			env[i] = "KAFKA_BROKERS=127.0.0.1:" + freePort(t) // nothing listens there
		}
	}
	env = append(env, "PIPELINE_TIMEOUT=1s")
	c := startCollector(t, "config/ingest-tier.yaml", env, port)

	// The write cannot reach a broker: 503, and the exporter's dial fails.
	if r := call(t, "POST", c.baseURL+"/event/", map[string]any{"conversation_id": "c", "event_name": "n"}); r.status != http.StatusServiceUnavailable {
		t.Fatalf("POST with no broker: %d %s, want 503", r.status, r.body)
	}
	type reason struct{ Source, Status, Message string }
	var health struct {
		Status     string
		ClickHouse string
		Reasons    []reason
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := call(t, "GET", c.baseURL+"/health", nil)
		if r.status != http.StatusOK {
			t.Fatalf("/health: %d %s, want 200 (degraded still serves)", r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &health); err != nil {
			t.Fatal(err)
		}
		if health.Status == "degraded" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health still %s after 30 s with no broker: %s", health.Status, r.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Two reasons: the kafka exporter's dial, and the events receiver whose
	// writes the pipeline refuses.
	if health.ClickHouse != "ok" || len(health.Reasons) != 2 {
		t.Fatalf("health %+v, want two reasons (the kafka exporter, the events receiver)", health)
	}
	t.Logf("degraded: %+v", health.Reasons)
	for i, source := range []string{"exporter/kafka", "receiver/events"} {
		if got := health.Reasons[i]; got.Source != source || got.Status != "RecoverableError" || got.Message == "" {
			t.Errorf("reason %+v, want %s RecoverableError with its error", got, source)
		}
	}
	// Nothing is stored: reads answer without a data age.
	r := call(t, "GET", c.baseURL+"/analytics/events?days=1", nil)
	if r.status != http.StatusOK || r.header.Get("X-Data-Age") != "" {
		t.Errorf("/analytics/events: %d X-Data-Age %q, want 200 without one (nothing stored)", r.status, r.header.Get("X-Data-Age"))
	}
}
