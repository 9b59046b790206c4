package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// collectorProc is a collector the tool started (-collector).
type collectorProc struct {
	cmd     *exec.Cmd
	baseURL string
	dataDir string
	logs    *tailBuffer
	done    chan struct{}
	// database is the collector's ClickHouse database when it writes to a
	// server the tool can read (Kafka topology, or -embedded=false).
	database string
	// topic is the Kafka topic of a collector in the Kafka topology.
	topic string
	env   []string
	// metricsURL is the collector's own Prometheus endpoint.
	metricsURL string
}

// startOptions says how to start the collector.
type startOptions struct {
	binary, config string
	topology       string // single or kafka
	embedded       bool   // single node: the embedded engine (chDB) rather than the -clickhouse server
	chHostPort     string // the ClickHouse server (host:port)
	kafka          string // brokers, Kafka topology
	runID          string
	logFile        string // also copy the collector's output there
}

// freePorts asks the kernel for n distinct free loopback ports. The
// listeners stay open until all are known: closed one by one, the kernel
// hands the same port out again. Another process may still take a port
// before the collector binds it; startCollector then tries again.
func freePorts(n int) ([]string, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	ports := make([]string, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		ports = append(ports, port)
	}
	return ports, nil
}

// chdbLibrary returns CHDB_LIB, or the path `make chdb` installs to.
func chdbLibrary() (string, error) {
	lib := os.Getenv("CHDB_LIB")
	if lib == "" {
		lib = filepath.Join(".cache", "chdb", "libchdb.so")
	}
	abs, err := filepath.Abs(lib)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(abs); err != nil {
		return "", fmt.Errorf("the embedded engine's libchdb.so is not at %s: run `make chdb` and set CHDB_LIB", abs)
	}
	return abs, nil
}

// kafkaTopic is the topic of a run's collector in the Kafka topology.
func kafkaTopic(runID string) string { return "bench-events-" + runID }

// startCollector runs the binary with the configuration, every port free
// and its data in a temporary directory, and waits for /health. A start
// that lost one of its ports to another process is tried again on new ones.
func startCollector(ctx context.Context, o startOptions) (*collectorProc, error) {
	for attempt := 1; ; attempt++ {
		p, err := startCollectorOnce(ctx, o)
		if err == nil {
			return p, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			if o.topology == "kafka" {
				dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				_ = dropTopic(dctx, o.kafka, kafkaTopic(o.runID)) // best effort: the run failed anyway
				cancel()
			}
			return nil, err
		}
	}
}

func startCollectorOnce(ctx context.Context, o startOptions) (*collectorProc, error) {
	bin, err := filepath.Abs(o.binary)
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return nil, fmt.Errorf("collector binary %s not found: run `make build` or pass -collector", bin)
	}
	cfg, err := filepath.Abs(o.config)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg); err != nil {
		return nil, fmt.Errorf("collector config %s not found: pass -config", cfg)
	}
	env := map[string]string{"API_HOST": "127.0.0.1"}
	portVars := []string{"API_PORT", "QUERY_PORT", "OTLP_GRPC_PORT", "OTLP_HTTP_PORT", "HEALTH_PORT", "METRICS_PORT"}
	ports, err := freePorts(len(portVars))
	if err != nil {
		return nil, err
	}
	for i, k := range portVars {
		env[k] = ports[i]
	}
	p := &collectorProc{logs: &tailBuffer{max: 256 << 10}, done: make(chan struct{})}
	chHost, chPort, _ := net.SplitHostPort(o.chHostPort)
	switch o.topology {
	case "kafka":
		p.database = "bench_" + o.runID
		env["KAFKA_BROKERS"] = o.kafka
		p.topic = kafkaTopic(o.runID)
		env["KAFKA_TOPIC"] = p.topic
		if err := ensureTopic(ctx, o.kafka, p.topic); err != nil {
			return nil, fmt.Errorf("no usable Kafka at %s: %w", o.kafka, err)
		}
		env["KAFKA_GROUP_ID"] = "bench-group-" + o.runID
		env["CLICKHOUSE_HOST"], env["CLICKHOUSE_PORT"] = chHost, chPort
		env["CLICKHOUSE_DATABASE"] = p.database
	default:
		if p.dataDir, err = os.MkdirTemp("", "otelcol-events-bench-"); err != nil {
			return nil, fmt.Errorf("create the data directory: %w", err)
		}
		env["DATA_DIR"] = p.dataDir
		if o.embedded {
			lib, err := chdbLibrary()
			if err != nil {
				p.cleanup()
				return nil, err
			}
			env["CHDB_LIB"] = lib
		} else {
			p.database = "bench_" + o.runID
			env["CLICKHOUSE_ENDPOINT"] = "tcp://" + o.chHostPort
			env["CLICKHOUSE_DATABASE"] = p.database
		}
	}
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	p.baseURL = "http://127.0.0.1:" + env["API_PORT"]
	p.metricsURL = "http://127.0.0.1:" + env["METRICS_PORT"] + "/metrics"

	p.cmd = exec.Command(bin, "--config", cfg)
	p.cmd.Env = append(os.Environ(), p.env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if o.logFile != "" {
		f, err := os.Create(o.logFile)
		if err != nil {
			p.cleanup()
			return nil, fmt.Errorf("collector log: %w", err)
		}
		p.logs.copy = f
	}
	if err := p.cmd.Start(); err != nil {
		p.cleanup()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	if err := p.waitHealthy(ctx, 90*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

func (p *collectorProc) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) && ctx.Err() == nil {
		select {
		case <-p.done:
			return fmt.Errorf("the collector exited during start-up:\n%s", p.logs.tail(30))
		default:
		}
		if resp, err := client.Get(p.baseURL + "/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("the collector did not answer %s/health within %s:\n%s", p.baseURL, timeout, p.logs.tail(30))
}

func (p *collectorProc) pid() int { return p.cmd.Process.Pid }

// stop ends the collector (SIGTERM, then SIGKILL after 30 s) and removes its
// data.
func (p *collectorProc) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.cleanup()
}

func (p *collectorProc) cleanup() {
	if p.dataDir != "" {
		_ = os.RemoveAll(p.dataDir)
	}
	if p.logs.copy != nil {
		_ = p.logs.copy.Close()
	}
}

// exited reports whether the collector died during the run.
func (p *collectorProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tailBuffer keeps the last max bytes of the collector's output (the
// collector logs every start-up step; a run must not grow without bound).
type tailBuffer struct {
	mu   sync.Mutex
	b    []byte
	max  int
	copy *os.File
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.copy != nil {
		_, _ = t.copy.Write(p)
	}
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) tail(lines int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	parts := strings.Split(strings.TrimRight(string(t.b), "\n"), "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// memSample is one reading of /proc/<pid>/status, in kB. The resident set
// is its anonymous part (heaps: Go's and the engine's) plus its file-backed
// part (mapped files: the binary's and libchdb.so's code, the persistent
// queue's file), which the kernel can drop and read back.
type memSample struct {
	rss, hwm, anon, file int64
}

// memStatus reads the collector's memory from /proc/<pid>/status.
func memStatus(pid int) (memSample, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memSample{}, fmt.Errorf("read the collector's memory: %w", err)
	}
	return parseMemStatus(data)
}

// parseMemStatus needs VmRSS and VmHWM; RssAnon and RssFile (Linux 4.5+)
// stay 0 when the kernel does not report them.
func parseMemStatus(data []byte) (memSample, error) {
	var s memSample
	fields := map[string]*int64{"VmRSS": &s.rss, "VmHWM": &s.hwm, "RssAnon": &s.anon, "RssFile": &s.file}
	sc := bufio.NewScanner(bytes.NewReader(data))
	found := 0
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		dst := fields[key]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(val), " kB"), 10, 64)
		if err != nil {
			return memSample{}, fmt.Errorf("parse %s %q: %w", key, val, err)
		}
		*dst = n
		if key == "VmRSS" || key == "VmHWM" {
			found++
		}
	}
	if found != 2 {
		return memSample{}, fmt.Errorf("no VmRSS/VmHWM in /proc status")
	}
	return s, nil
}

// rssMonitor samples the collector's resident set while the run goes on:
// VmHWM is the kernel's own peak, the samples show it was not a blip at
// start-up, the peak of each part of the run says which part set it, and
// the split of the peak sample says how much of it is heap.
type rssMonitor struct {
	pid   int
	mu    sync.Mutex
	peak  memSample
	parts []partRSS // in run order; the last one is the current part
	quit  chan struct{}
	wg    sync.WaitGroup
}

// partRSS is the highest VmRSS sampled during one part of the run, and the
// anonymous and file-backed parts of that sample.
type partRSS struct {
	Name   string  `json:"name"`
	PeakMB float64 `json:"peak_rss_mb"`
	AnonMB float64 `json:"anon_mb"`
	FileMB float64 `json:"file_mb"`
	peak   memSample
}

func startRSSMonitor(pid int) *rssMonitor {
	m := &rssMonitor{pid: pid, quit: make(chan struct{})}
	m.wg.Go(func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample()
			select {
			case <-m.quit:
				return
			case <-t.C:
			}
		}
	})
	return m
}

func (m *rssMonitor) sample() {
	s, err := memStatus(m.pid)
	if err != nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record(s)
}

// record keeps s where it is the highest resident set so far: of the run
// and of the current part.
func (m *rssMonitor) record(s memSample) {
	if s.rss > m.peak.rss {
		m.peak = s
	}
	if n := len(m.parts); n > 0 && s.rss > m.parts[n-1].peak.rss {
		m.parts[n-1].peak = s
	}
}

// part starts a new part of the run (a ceiling, a phase, verification):
// samples from now on count towards it. A sample taken at the switch counts
// for both, so a peak straddling two parts is not missed.
func (m *rssMonitor) part(name string) {
	if m == nil {
		return
	}
	m.sample()
	m.mu.Lock()
	m.parts = append(m.parts, partRSS{Name: name})
	m.mu.Unlock()
	m.sample()
}

// stop ends the sampling and returns the figures for the report.
func (m *rssMonitor) stop(startedByTool bool) *collectorStats {
	close(m.quit)
	m.wg.Wait()
	st := &collectorStats{PID: m.pid, StartedByTool: startedByTool}
	end, err := memStatus(m.pid)
	if err != nil {
		st.Note = err.Error()
		return st
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.record(end)
	const mb = 1024
	st.PeakRSSMB, st.HWMMB, st.EndRSSMB = float64(m.peak.rss)/mb, float64(end.hwm)/mb, float64(end.rss)/mb
	st.PeakAnonMB, st.PeakFileMB = float64(m.peak.anon)/mb, float64(m.peak.file)/mb
	for _, p := range m.parts {
		p.PeakMB, p.AnonMB, p.FileMB = float64(p.peak.rss)/mb, float64(p.peak.anon)/mb, float64(p.peak.file)/mb
		st.Parts = append(st.Parts, p)
	}
	return st
}
