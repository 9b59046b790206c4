//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOverloadSheds: the single node's batch capacity is measured with
// closed-loop clients, then batches are offered at three times that rate,
// open loop, as a load tool with many clients would. The surplus gets 429
// with Retry-After instead of a queue that grows (max_concurrent_batches,
// max_pending_operations); every request is answered within twice the
// pipeline timeout, the collector's memory stays bounded, and every
// acknowledged event is stored, once.
func TestOverloadSheds(t *testing.T) {
	const pipelineTimeout = 4 * time.Second
	port := freePort(t)
	c := startCollector(t, "config/single-node.yaml", singleNodeEnv(t, t.TempDir(), port), port)
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 512}}
	run := fmt.Sprintf("ov%d", time.Now().UnixNano())
	conv := run + "-conv"

	var (
		mu       sync.Mutex
		seq      int
		accepted = map[string]bool{}
		statuses = map[int]int{}
		slowest  time.Duration
		failures []string
	)
	// batch builds the next batch of 200 creates, with ids of its own.
	batch := func() (ids []string, body string) {
		mu.Lock()
		n := seq
		seq++
		mu.Unlock()
		var b strings.Builder
		ids = make([]string, 200)
		b.WriteByte('[')
		for i := range ids {
			ids[i] = fmt.Sprintf("%s-%07d", run, n*200+i)
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"op":"create","id":%q,"conversation_id":%q,"event_name":"load","latency":%d,"error":"e","input":"it's %d"}`,
				ids[i], conv, i, i)
		}
		b.WriteByte(']')
		return ids, b.String()
	}
	send := func(ids []string, body string) int {
		start := time.Now()
		req, _ := http.NewRequest("POST", c.baseURL+"/events/batch", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		took := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		slowest = max(slowest, took)
		if err != nil {
			failures = append(failures, err.Error())
			return 0
		}
		defer resp.Body.Close()
		statuses[resp.StatusCode]++
		switch resp.StatusCode {
		case http.StatusAccepted:
			for _, id := range ids {
				accepted[id] = true
			}
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			if resp.Header.Get("Retry-After") == "" {
				failures = append(failures, fmt.Sprintf("%d without Retry-After", resp.StatusCode))
			}
		default:
			failures = append(failures, fmt.Sprintf("status %d", resp.StatusCode))
		}
		return resp.StatusCode
	}
	post := func() int { return send(batch()) }

	// Capacity: 8 closed-loop clients for 3 s.
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	for range 8 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				post()
			}
		})
	}
	wg.Wait()
	capacity := float64(statuses[http.StatusAccepted]) / 3
	if capacity < 1 || len(failures) > 0 {
		t.Fatalf("capacity phase: %v, failures %v", statuses, failures)
	}
	peakIdle := rss(t, c)

	// Overload: three times that rate, open loop, for 5 s. The bodies are
	// built first, so that the client's own work leaves the rate to the
	// collector; each send goes at its time, late ones at once.
	offered := 3 * capacity
	before := statuses[http.StatusAccepted]
	type prepared struct {
		ids  []string
		body string
	}
	bodies := make([]prepared, int(offered*5))
	for i := range bodies {
		bodies[i].ids, bodies[i].body = batch()
	}
	interval := time.Duration(float64(time.Second) / offered)
	begin := time.Now()
	peak := peakIdle
	for i, b := range bodies {
		time.Sleep(time.Until(begin.Add(time.Duration(i) * interval)))
		wg.Go(func() { send(b.ids, b.body) })
		if i%50 == 0 {
			peak = max(peak, rss(t, c))
		}
	}
	sent := len(bodies)
	took := time.Since(begin)
	wg.Wait()
	mu.Lock()
	t.Logf("capacity %.0f batches/s of 200; offered %.0f/s (%d in %s): %v; slowest answer %s; RSS %d MiB before, peak %d MiB",
		capacity, float64(sent)/took.Seconds(), sent, took.Round(time.Millisecond), statuses, slowest, peakIdle>>20, peak>>20)
	shed := statuses[http.StatusTooManyRequests]
	mu.Unlock()
	if len(failures) > 0 {
		t.Fatalf("%d requests failed: %v", len(failures), failures[:min(5, len(failures))])
	}
	if rate := float64(sent) / took.Seconds(); rate < 2.5*capacity {
		t.Fatalf("offered %.0f batches/s, %.1fx the capacity: the client could not overload the collector", rate, rate/capacity)
	}
	if shed == 0 {
		t.Fatalf("nothing was shed at 3x capacity: %v", statuses)
	}
	if limit := 2*pipelineTimeout + 2*time.Second; slowest > limit {
		t.Errorf("a request waited %s for its answer, want at most %s", slowest, limit)
	}
	if statuses[http.StatusAccepted] == before {
		t.Fatal("nothing was accepted under overload")
	}
	if peak > 2<<30 {
		t.Errorf("the collector's RSS reached %d MiB under overload", peak>>20)
	}

	// Every acknowledged event is stored, once: the conversation's total.
	eventually(t, 60*time.Second, func() string {
		r := call(t, "GET", c.baseURL+"/analytics/sessions/top-errors?limit=1000", nil)
		var top struct {
			Data []struct {
				ConversationID string `json:"conversation_id"`
				Total          int    `json:"total"`
			} `json:"data"`
		}
		if err := json.Unmarshal(r.body, &top); err != nil {
			return fmt.Sprintf("%d %s", r.status, r.body)
		}
		for _, s := range top.Data {
			if s.ConversationID == conv {
				if s.Total != len(accepted) {
					return fmt.Sprintf("%d events stored, %d acknowledged", s.Total, len(accepted))
				}
				return ""
			}
		}
		return "conversation not listed yet"
	})
	i := 0
	for id := range accepted {
		if i++; i%499 != 0 {
			continue
		}
		if r := call(t, "GET", c.baseURL+"/event/"+id, nil); r.status != http.StatusOK {
			t.Fatalf("acknowledged %s: %d %s", id, r.status, r.body)
		}
	}
}

// rss returns the collector's resident set size in bytes.
func rss(t *testing.T, c *collector) int64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}
