package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestPercentileNearestRank(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, ms(i))
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.50, ms(50)}, {0.95, ms(95)}, {0.99, ms(99)}, {1, ms(100)}, {0, ms(1)}} {
		if got := percentile(d, c.q); got != c.want {
			t.Errorf("percentile(1..100 ms, %g) = %s, want %s", c.q, got, c.want)
		}
	}
	if got := percentile([]time.Duration{ms(7)}, 0.99); got != ms(7) {
		t.Errorf("one value: got %s", got)
	}
	if got := percentile(nil, 0.5); got != 0 {
		t.Errorf("no value: got %s", got)
	}
}

func TestSummarizeSortsAndConverts(t *testing.T) {
	s := summarize([]time.Duration{ms(30), ms(10), ms(20), 1500 * time.Microsecond})
	want := latencySummary{P50: 10, P95: 30, P99: 30, Max: 30}
	if *s != want {
		t.Errorf("summarize = %+v, want %+v", *s, want)
	}
	if summarize(nil) != nil {
		t.Error("summarize(nil) should be nil: no latency is not a zero latency")
	}
}

func TestParseMemStatus(t *testing.T) {
	status := "Name:\totelcol-events\nVmPeak:\t 2000 kB\nVmHWM:\t  409600 kB\nVmRSS:\t  204800 kB\n" +
		"RssAnon:\t  150000 kB\nRssFile:\t   54800 kB\nRssShmem:\t       0 kB\nThreads:\t12\n"
	s, err := parseMemStatus([]byte(status))
	if want := (memSample{rss: 204800, hwm: 409600, anon: 150000, file: 54800}); err != nil || s != want {
		t.Fatalf("parseMemStatus = %+v, %v; want %+v", s, err, want)
	}
	// A kernel before 4.5 has no RssAnon/RssFile: the split stays unknown.
	s, err = parseMemStatus([]byte("VmHWM:\t 10 kB\nVmRSS:\t 5 kB\n"))
	if want := (memSample{rss: 5, hwm: 10}); err != nil || s != want {
		t.Errorf("parseMemStatus = %+v, %v; want %+v", s, err, want)
	}
	if _, err := parseMemStatus([]byte("Name:\tx\n")); err == nil {
		t.Error("a status without VmRSS should fail")
	}
	if _, err := parseMemStatus([]byte("VmHWM:\t 10 kB\nVmRSS:\t many kB\n")); err == nil {
		t.Error("a status with an unreadable VmRSS should fail")
	}
}

// TestRSSMonitorParts watches this test's own process: memory touched
// after a part starts counts for that part, not for the one before.
func TestRSSMonitorParts(t *testing.T) {
	m := startRSSMonitor(os.Getpid())
	m.part("before")
	m.part("after")
	buf := make([]byte, 128<<20)
	for i := range buf {
		buf[i] = 1
	}
	m.sample()
	runtime.KeepAlive(buf)
	st := m.stop(false)
	if st.Note != "" || len(st.Parts) != 2 || st.Parts[0].Name != "before" || st.Parts[1].Name != "after" {
		t.Fatalf("parts = %+v (note %q)", st.Parts, st.Note)
	}
	if grew := st.Parts[1].PeakMB - st.Parts[0].PeakMB; grew < 100 {
		t.Errorf("128 MB touched in the second part: peaks %+v", st.Parts)
	}
	// The touched buffer is heap: the growth is anonymous memory.
	if grew := st.Parts[1].AnonMB - st.Parts[0].AnonMB; grew < 100 {
		t.Errorf("128 MB of heap touched in the second part: anonymous %+v", st.Parts)
	}
	for _, p := range st.Parts {
		if sum := p.AnonMB + p.FileMB; sum > p.PeakMB+1 || sum < p.PeakMB-1 {
			t.Errorf("part %s: anonymous %.1f + file-backed %.1f MB, resident %.1f MB", p.Name, p.AnonMB, p.FileMB, p.PeakMB)
		}
	}
	if st.PeakRSSMB < st.Parts[1].PeakMB {
		t.Errorf("run peak %.0f MB below a part's %.0f MB", st.PeakRSSMB, st.Parts[1].PeakMB)
	}
	var none *rssMonitor
	none.part("no pid") // a run without a pid marks parts on a nil monitor
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseConfigPrecedence(t *testing.T) {
	c, err := parseConfig(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "http://localhost:8080" || c.concurrency != 100 || c.inserts != 500_000 || c.updates != 200_000 ||
		c.deletes != 200_000 || c.batchEvents != 500_000 || !c.ceilings || !c.verify || c.collector != "" {
		t.Errorf("defaults = %+v", c)
	}

	// The original benchmark's variables.
	c, err = parseConfig(nil, env(map[string]string{"API_BASE_URL": "http://h:9/", "CONCURRENCY": "7", "INSERT_COUNT": "30",
		"UPDATE_COUNT": "20", "DELETE_COUNT": "10"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.baseURL != "http://h:9" || c.concurrency != 7 || c.inserts != 30 || c.updates != 20 || c.deletes != 10 || c.batchEvents != 30 {
		t.Errorf("env = %+v", c)
	}

	// A flag wins over the environment, the environment over -quick.
	c, err = parseConfig([]string{"-quick", "-concurrency", "3"}, env(map[string]string{"CONCURRENCY": "7", "INSERT_COUNT": "40"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.concurrency != 3 || c.inserts != 40 || c.updates != quickDefaults().updates || c.collector != "bin/otelcol-events" ||
		c.collectorConfig != "config/single-node.yaml" || c.freshDuration != quickDefaults().freshDuration {
		t.Errorf("quick = %+v", c)
	}

	c, err = parseConfig([]string{"-topology", "kafka", "-collector", "x"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.kafka != "127.0.0.1:9092" || c.collectorConfig != "collector-config.yaml" {
		t.Errorf("kafka = %+v", c)
	}

	for _, bad := range [][]string{{"-topology", "x"}, {"-concurrency", "0"}, {"extra"}} {
		if _, err := parseConfig(bad, env(nil), io.Discard); err == nil {
			t.Errorf("parseConfig(%q) should fail", bad)
		}
	}
	if _, err := parseConfig(nil, env(map[string]string{"INSERT_COUNT": "many"}), io.Discard); err == nil {
		t.Error("INSERT_COUNT=many should fail")
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		a    answer
		want opState
	}{
		{answer{status: 202}, opAcked},
		{answer{status: 400}, opRejected},
		{answer{status: 429}, opRejected},
		{answer{status: 503}, opRejected},
		{answer{status: 500}, opAmbiguous},
		{answer{err: errors.New("reset")}, opAmbiguous},
	} {
		if got := classify(&c.a); got != c.want {
			t.Errorf("classify(%d, %v) = %d, want %d", c.a.status, c.a.err, got, c.want)
		}
	}
}

func testStream(count int) *streamLedger {
	return newStreamLedger(newStream("run", "c", count, "a", "b"))
}

func TestRecordBatch(t *testing.T) {
	s := testStream(6)
	body := `{"accepted":2,"rejected":1,"results":[{"index":0,"status":202,"id":"x0"},{"index":1,"status":400},{"index":2,"status":202,"id":"x2"}]}`
	o := s.recordBatch(0, 3, &answer{status: 202, body: []byte(body)})
	if o != (outcome{ok: 2, failed: 1}) {
		t.Errorf("outcome = %+v", o)
	}
	if s.events[0].create != opAcked || s.events[0].id != "x0" || s.events[1].create != opRejected || s.events[2].id != "x2" {
		t.Errorf("events = %+v", s.events[:3])
	}
	// A 503 accepted nothing; a transport error may have accepted all.
	s.recordBatch(3, 4, &answer{status: 503})
	s.recordBatch(4, 6, &answer{err: errors.New("timeout")})
	if s.events[3].create != opRejected || s.events[4].create != opAmbiguous || s.events[5].create != opAmbiguous {
		t.Errorf("events = %+v", s.events[3:])
	}
}

func TestBoundsWidenOnAmbiguity(t *testing.T) {
	s := testStream(4)
	isErr := func(sp spec) bool { return sp.Error != "" }
	s.events[0] = eventRecord{id: "0", create: opAcked}                      // index 0 carries an error
	s.events[1] = eventRecord{id: "1", create: opAcked, update: opAmbiguous} // may have become an error
	s.events[2] = eventRecord{id: "2", create: opAcked, del: opAmbiguous}    // may be gone
	s.events[3] = eventRecord{create: opAmbiguous}                           // may exist
	lo, hi := s.expected("run", nil, anySpec)
	if lo != 2 || hi != 4 {
		t.Errorf("visible bounds = %d..%d, want 2..4", lo, hi)
	}
	lo, hi = s.expected("run", nil, isErr)
	if lo != 1 || hi != 2 {
		t.Errorf("error bounds = %d..%d, want 1..2", lo, hi)
	}
	s.events[2].del = opAcked
	if lo, hi := s.bounds("run", 2, anySpec); lo != 0 || hi != 0 {
		t.Errorf("an acknowledged delete must not count: %d..%d", lo, hi)
	}
}

func TestCompareEvent(t *testing.T) {
	s := testStream(10)
	sp := s.spec("run", 3)
	rec := &eventRecord{id: "e3", create: opAcked, update: opAcked, sentMs: 1000, ackMs: 1010}
	up := sp.updated(3)
	got := eventJSON{ID: "e3", ConversationID: sp.Conversation, EventName: sp.Name, Input: sp.Input, Output: sp.Output,
		Latency: up.Latency, Error: "timeout", Timestamp: time.UnixMilli(1005).UTC().Format(time.RFC3339Nano),
		Attributes: map[string]string{"model": sp.Model}}
	if d := compareEvent(&got, sp, 3, rec); d != "" {
		t.Errorf("an equal event differs: %s", d)
	}
	got.Input = "lost by a partial update"
	got.Timestamp = time.UnixMilli(2000).UTC().Format(time.RFC3339Nano)
	d := compareEvent(&got, sp, 3, rec)
	if !strings.Contains(d, "input=") || !strings.Contains(d, "outside the call") {
		t.Errorf("differences not reported: %s", d)
	}
}

func TestUpdateBodyIsAMergePatch(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(updateBody(7), &m); err != nil {
		t.Fatal(err)
	}
	if len(m) != 2 || m["error"] != "timeout" || m["latency"] != 5007.0 {
		t.Errorf("update body = %v", m)
	}
}

func TestStreamsStayInTheirConversations(t *testing.T) {
	b := newStream("r", "b", 50_000, "batch")
	if b.convs != maxAnalyticsRows {
		t.Errorf("a batch stream spans %d conversations, want at most %d", b.convs, maxAnalyticsRows)
	}
	c := newStream("r", "c", 50_000, "a")
	if !strings.HasPrefix(c.conversation("r", 17), c.conversationPrefix("r")) || strings.HasPrefix(c.conversation("r", 1), b.conversationPrefix("r")) {
		t.Error("conversation prefixes overlap between streams")
	}
}

func TestBareHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	body := newStream("r", "c", 1, "a").spec("r", 0).createBody()
	bareHandler(rec, httptest.NewRequest(http.MethodPost, "/event/", bytes.NewReader(body)))
	if rec.Code != http.StatusAccepted || parseID(rec.Body.Bytes()) == "" {
		t.Errorf("bare server answered %d %s", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	bareHandler(rec, httptest.NewRequest(http.MethodPost, "/event/", strings.NewReader(`{"event_name":"x"}`)))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("missing conversation_id answered %d", rec.Code)
	}
}

func TestBareHandlerBatch(t *testing.T) {
	s := newStream("r", "b", 10, "a")
	body := s.batchBody("r", 0, 3)
	body = append(body[:len(body)-1], []byte(`,{"event_name":"no conversation"}]`)...)
	rec := httptest.NewRecorder()
	bareHandler(rec, httptest.NewRequest(http.MethodPost, "/events/batch", bytes.NewReader(body)))
	var ba batchAnswer
	if err := json.Unmarshal(rec.Body.Bytes(), &ba); err != nil || rec.Code != http.StatusAccepted {
		t.Fatalf("bare server answered %d %s (%v)", rec.Code, rec.Body, err)
	}
	if ba.Accepted != 3 || ba.Rejected != 1 || len(ba.Results) != 4 || ba.Results[2].ID == "" || ba.Results[3].Status != http.StatusBadRequest {
		t.Errorf("answer = %+v", ba)
	}
	rec = httptest.NewRecorder()
	bareHandler(rec, httptest.NewRequest(http.MethodPost, "/events/batch", strings.NewReader(`{"event_name":"x"}`)))
	if rec.Code != http.StatusBadRequest {
		t.Errorf("an object instead of an array answered %d", rec.Code)
	}
}

func TestRunLoadCountsEventsAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/13") {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	res := runLoad(context.Background(), newClient(4, 5*time.Second), srv.URL, loadSpec{
		name: "t", count: 50, concurrency: 4,
		build: func(i int) request { return request{method: http.MethodGet, path: "/x/" + strconv.Itoa(i)} },
	}, nil)
	if res.Requests != 50 || res.Events != 49 || res.Failed != 1 || res.Errors["503"] != 1 || res.Latency == nil {
		t.Errorf("result = %+v", res)
	}
}

func sampleReport() *report {
	r := &report{RunID: "run", Topology: "single", Machine: machine{CPUs: 2}, Command: "go run ./benchmark -quick"}
	r.Ceilings = []phaseResult{
		{Name: ceilingHTTP, Events: 1000, Seconds: 0.1, Throughput: 10_000, Latency: &latencySummary{P50: 1, P95: 2, P99: 3}},
		{Name: ceilingClickHouse, Events: 1000, Seconds: 0.01, Throughput: 100_000},
		{Name: ceilingHTTPBatch, Events: 1000, Seconds: 0.04, Throughput: 25_000},
	}
	ins := phaseResult{Name: "insert", Events: 1000, Seconds: 0.125, Throughput: 8000, Latency: &latencySummary{P50: 5, P95: 9, P99: 12},
		Errors: map[string]int{"503": 2}, Failed: 2}
	withRatio(&ins, r.Ceilings, ceilingHTTP)
	e2e := phaseResult{Name: "batch.e2e", Events: 1000, Throughput: 40_000}
	withRatio(&e2e, r.Ceilings, ceilingClickHouse)
	r.Phases = []phaseResult{ins, e2e}
	r.Freshness = &freshnessResult{TargetRate: 5000, AchievedRate: 4990, Visible: &latencySummary{P99: 1500}}
	r.Collector = &collectorStats{PID: 1, HWMMB: 420, PeakRSSMB: 410, PeakAnonMB: 220, PeakFileMB: 190,
		Parts: []partRSS{{Name: "insert", PeakMB: 300, AnonMB: 150, FileMB: 150}, {Name: "batch", PeakMB: 410, AnonMB: 220, FileMB: 190}}}
	r.Verification = &verification{Passed: true, Summary: "all 3 checks passed", Checks: []checkResult{{Name: "events.read_back", Passed: true, Detail: "ok"}}}
	r.Targets = r.targets(5000, 2000, 400)
	return r
}

func TestTargets(t *testing.T) {
	want := map[string]string{
		"single-event POST": "PASS", // 80% >= 70%
		"batch ingest":      "MISS", // 40% < 50%
		"freshness":         "PASS", // 1.5 s at 4990/s
		"collector RSS":     "MISS", // 420 MB
		"zero lost":         "PASS",
	}
	for _, tg := range sampleReport().targets(5000, 2000, 400) {
		for prefix, status := range want {
			if strings.HasPrefix(tg.Name, prefix) && tg.Status != status {
				t.Errorf("%s: %s (%s), want %s", tg.Name, tg.Status, tg.Got, status)
			}
		}
	}
}

func TestReportText(t *testing.T) {
	var buf bytes.Buffer
	sampleReport().writeText(&buf)
	out := buf.String()
	for _, want := range []string{
		"CEILINGS", "ceiling.http (b)", "insert: 80% of ceiling.http (b); errors 503 x2",
		"batch.e2e: 40% of ceiling.clickhouse (a)", "VERIFICATION PASS", "PASS events.read_back",
		"MISS batch ingest end to end >= 50% of ceiling (a): 40% (40000 vs 100000 events/s); the bare server answered the same batches at 25% of (a)",
		"peak RSS 410 MB (VmHWM 420 MB)", "at the peak: 220 MB anonymous (heaps), 190 MB file-backed",
		"peak RSS (MB) by part of the run, (anonymous+file-backed): insert 300 (150+150), batch 410 (220+190)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}

func TestReportJSON(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleReport().writeJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Phases []struct {
			Name   string `json:"name"`
			Ratios []struct {
				Value float64 `json:"value"`
			} `json:"ratios"`
		} `json:"phases"`
		Targets []target `json:"targets"`
	}
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Phases) != 2 || back.Phases[0].Ratios[0].Value != 0.8 || len(back.Targets) != 5 {
		t.Errorf("JSON report = %s", buf.String())
	}
}
