// Command benchmark measures an otelcol-events collector end to end, as the
// original project's benchmark did (phases insert, update and delete at a
// concurrency, configured by API_BASE_URL, CONCURRENCY, INSERT_COUNT,
// UPDATE_COUNT and DELETE_COUNT), and adds batch ingest, freshness (202 ->
// visible), the analytics queries, and a final check that the collector
// holds exactly what it acknowledged.
//
// Absolute figures on a shared machine are noise, so the same run measures
// ceilings on the same machine and reports every phase as a ratio of its
// ceiling: (a) a raw clickhouse-go batch insert of the same rows, (b) a bare
// net/http server decoding the same JSON, (c) the Kafka broker alone.
//
//	go run ./benchmark                      # against the collector at API_BASE_URL (http://localhost:8080)
//	go run ./benchmark -collector bin/otelcol-events -config config/single-node.yaml
//	go run ./benchmark -quick               # small run with its own collector: what `make test` runs
//
// The exit code is 1 when verification finds a lost or duplicated event or
// the run could not do what it was asked; the performance targets are
// printed as PASS/MISS but never fail the run (ratios are noisy).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is every setting of a run; it is the only state derived from flags
// and environment, and is passed by value.
type config struct {
	baseURL       string
	concurrency   int
	inserts       int
	updates       int
	deletes       int
	batchEvents   int
	batchSize     int
	freshRate     float64
	freshDuration time.Duration
	freshBatch    int
	queryCount    int
	sample        int
	ceilingBatch  int
	verifyTimeout time.Duration
	e2eTimeout    time.Duration
	timeout       time.Duration

	jsonOut, quick, ceilings, verify bool

	collector       string
	collectorConfig string
	collectorLog    string
	collectorPID    int
	topology        string
	embedded        bool
	clickhouse      string
	database        string
	kafka           string
}

// Targets of the issue.
const (
	freshRateGoal = 5000.0 // events/s
	freshP99Goal  = 2000.0 // ms
	rssGoalMB     = 400.0
)

// defaults for the full run and for -quick; env and flags override them.
type modeDefaults struct {
	concurrency, inserts, updates, deletes, batchSize int
	freshRate                                         float64
	freshDuration                                     time.Duration
	queryCount, sample                                int
	verifyTimeout, e2eTimeout, timeout                time.Duration
}

func fullDefaults() modeDefaults {
	return modeDefaults{
		concurrency: 100, inserts: 500_000, updates: 200_000, deletes: 200_000, batchSize: 500,
		freshRate: freshRateGoal, freshDuration: 20 * time.Second, queryCount: 200, sample: 500,
		verifyTimeout: 60 * time.Second, e2eTimeout: 5 * time.Minute, timeout: 2 * time.Hour,
	}
}

func quickDefaults() modeDefaults {
	return modeDefaults{
		concurrency: 20, inserts: 2000, updates: 500, deletes: 500, batchSize: 200,
		freshRate: 500, freshDuration: 3 * time.Second, queryCount: 20, sample: 200,
		verifyTimeout: 30 * time.Second, e2eTimeout: 30 * time.Second, timeout: 2 * time.Minute,
	}
}

// parseConfig reads the flags, then the original benchmark's environment
// variables: a flag given explicitly wins over the environment, which wins
// over the mode's default.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("benchmark", flag.ContinueOnError)
	fs.SetOutput(stderr)
	d := fullDefaults()
	fs.StringVar(&c.baseURL, "url", "http://localhost:8080", "base URL of a running collector (env API_BASE_URL); ignored with -collector")
	fs.IntVar(&c.concurrency, "concurrency", d.concurrency, "calls in flight (env CONCURRENCY)")
	fs.IntVar(&c.inserts, "inserts", d.inserts, "single-event creates (env INSERT_COUNT)")
	fs.IntVar(&c.updates, "updates", d.updates, "updates of created events (env UPDATE_COUNT)")
	fs.IntVar(&c.deletes, "deletes", d.deletes, "deletes of created events (env DELETE_COUNT)")
	fs.IntVar(&c.batchEvents, "batch-events", 0, "creates sent through POST /events/batch (env BATCH_COUNT; default: as many as the inserts)")
	fs.IntVar(&c.batchSize, "batch-size", d.batchSize, "creates per batch call (env BATCH_SIZE)")
	fs.Float64Var(&c.freshRate, "fresh-rate", d.freshRate, "freshness phase: events per second, sent at a steady rate")
	fs.DurationVar(&c.freshDuration, "fresh-duration", d.freshDuration, "freshness phase: how long")
	fs.IntVar(&c.freshBatch, "fresh-batch", 50, "freshness phase: events per call (1 sends single POST /event/)")
	fs.IntVar(&c.queryCount, "queries", d.queryCount, "calls per read query (0 skips the query phase)")
	fs.IntVar(&c.sample, "sample", d.sample, "verification: events read back field by field")
	fs.IntVar(&c.ceilingBatch, "ceiling-batch", 10_000, "ceiling (a): rows per clickhouse-go insert")
	fs.DurationVar(&c.verifyTimeout, "verify-timeout", d.verifyTimeout, "verification: how long to wait for the expected state")
	fs.DurationVar(&c.e2eTimeout, "e2e-timeout", d.e2eTimeout, "batch phase: how long to wait until every accepted event is visible")
	fs.DurationVar(&c.timeout, "timeout", d.timeout, "bound of the whole run")
	fs.BoolVar(&c.jsonOut, "json", false, "print the report as JSON on stdout (the text goes to stderr)")
	fs.BoolVar(&c.quick, "quick", false, "small counts and its own collector: a smoke run of well under a minute")
	fs.BoolVar(&c.ceilings, "ceilings", true, "measure the ceilings (a), (b) and (c) in the same run")
	fs.BoolVar(&c.verify, "verify", true, "check at the end that nothing acknowledged was lost or duplicated")
	fs.StringVar(&c.collector, "collector", "", "start this collector binary (bin/otelcol-events) instead of using -url; -quick defaults it to bin/otelcol-events")
	fs.StringVar(&c.collectorConfig, "config", "", "configuration of the started collector (default config/single-node.yaml, or collector-config.yaml with -topology kafka)")
	fs.StringVar(&c.collectorLog, "collector-log", "", "write the started collector's output to this file")
	fs.IntVar(&c.collectorPID, "collector-pid", 0, "pid of a collector the tool did not start, to report its RSS")
	fs.StringVar(&c.topology, "topology", "single", "single (single-node configuration) or kafka (the Kafka topology): selects the targets and the started collector's setup")
	fs.BoolVar(&c.embedded, "embedded", true, "single node started by the tool: use the embedded engine (chDB, CHDB_LIB); false points it at -clickhouse")
	fs.StringVar(&c.clickhouse, "clickhouse", "tcp://127.0.0.1:9000", `ClickHouse server for ceiling (a) and direct row counts; "" skips them`)
	fs.StringVar(&c.database, "database", "", "the running collector's ClickHouse database on -clickhouse: verification then also counts rows there")
	fs.StringVar(&c.kafka, "kafka", "", "Kafka brokers for ceiling (c) (default 127.0.0.1:9092 with -topology kafka)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	if c.quick {
		q := quickDefaults()
		defaults := map[string]func(){
			"concurrency": func() { c.concurrency = q.concurrency }, "inserts": func() { c.inserts = q.inserts },
			"updates": func() { c.updates = q.updates }, "deletes": func() { c.deletes = q.deletes },
			"batch-size": func() { c.batchSize = q.batchSize },
			"fresh-rate": func() { c.freshRate = q.freshRate }, "fresh-duration": func() { c.freshDuration = q.freshDuration },
			"queries": func() { c.queryCount = q.queryCount }, "sample": func() { c.sample = q.sample },
			"verify-timeout": func() { c.verifyTimeout = q.verifyTimeout }, "e2e-timeout": func() { c.e2eTimeout = q.e2eTimeout },
			"timeout": func() { c.timeout = q.timeout },
		}
		for name, apply := range defaults {
			if !set[name] {
				apply()
			}
		}
		if c.collector == "" {
			c.collector = "bin/otelcol-events"
		}
	}
	envInts := []struct {
		env, flag string
		dst       *int
	}{
		{"CONCURRENCY", "concurrency", &c.concurrency}, {"INSERT_COUNT", "inserts", &c.inserts},
		{"UPDATE_COUNT", "updates", &c.updates}, {"DELETE_COUNT", "deletes", &c.deletes},
		{"BATCH_COUNT", "batch-events", &c.batchEvents}, {"BATCH_SIZE", "batch-size", &c.batchSize},
	}
	for _, e := range envInts {
		v := getenv(e.env)
		if v == "" || set[e.flag] {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return c, fmt.Errorf("%s=%q: want a number >= 0", e.env, v)
		}
		*e.dst = n
	}
	if !set["batch-events"] && getenv("BATCH_COUNT") == "" {
		// The batch phase sends as many events as the insert phase: the
		// same rows as ceiling (a), comparable with the single calls.
		c.batchEvents = c.inserts
	}
	if v := getenv("API_BASE_URL"); v != "" && !set["url"] {
		c.baseURL = v
	}
	c.baseURL = strings.TrimRight(c.baseURL, "/")
	if c.topology != "single" && c.topology != "kafka" {
		return c, fmt.Errorf("-topology %q: want single or kafka", c.topology)
	}
	if c.topology == "kafka" && c.kafka == "" {
		c.kafka = "127.0.0.1:9092"
	}
	if c.collector != "" && c.collectorConfig == "" {
		c.collectorConfig = "config/single-node.yaml"
		if c.topology == "kafka" {
			c.collectorConfig = "collector-config.yaml"
		}
	}
	switch {
	case c.concurrency < 1:
		return c, fmt.Errorf("concurrency %d: want >= 1", c.concurrency)
	case c.batchSize < 1:
		return c, fmt.Errorf("batch size %d: want >= 1", c.batchSize)
	case c.freshRate < 0 || c.freshBatch < 1:
		return c, fmt.Errorf("-fresh-rate %g / -fresh-batch %d: want a rate >= 0 and a batch >= 1", c.freshRate, c.freshBatch)
	}
	return c, nil
}

func main() {
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchmark:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeoutCause(ctx, cfg.timeout, fmt.Errorf("the run exceeded -timeout %s", cfg.timeout))
	code := run(ctx, cfg, commandLine(os.Args[1:], os.Getenv), os.Stdout, os.Stderr)
	cancel()
	stop()
	os.Exit(code)
}

// commandLine is the run's command as BENCHMARKS.md quotes it.
func commandLine(args []string, getenv func(string) string) string {
	var parts []string
	for _, k := range []string{"API_BASE_URL", "CONCURRENCY", "INSERT_COUNT", "UPDATE_COUNT", "DELETE_COUNT", "BATCH_COUNT", "BATCH_SIZE", "CHDB_LIB"} {
		if v := getenv(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	parts = append(parts, "go run ./benchmark")
	return strings.Join(append(parts, args...), " ")
}

// run does the whole benchmark and returns the exit code.
func run(ctx context.Context, cfg config, command string, stdout, stderr io.Writer) int {
	human := stdout
	if cfg.jsonOut {
		human = stderr
	}
	runID := newRunID(time.Now())
	rep := &report{
		RunID: runID, Started: time.Now().UTC(), Command: command, Topology: cfg.topology, Quick: cfg.quick,
		Machine: machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH},
		Settings: settings{
			Concurrency: cfg.concurrency, Inserts: cfg.inserts, Updates: cfg.updates, Deletes: cfg.deletes,
			BatchEvents: cfg.batchEvents, BatchSize: cfg.batchSize, FreshRate: cfg.freshRate,
			FreshSeconds: cfg.freshDuration.Seconds(), QueryCount: cfg.queryCount, VerifySample: cfg.sample,
			ClickHouse: cfg.clickhouse, Kafka: cfg.kafka, StartedByTool: cfg.collector != "",
		},
	}
	r := &runner{cfg: cfg, rep: rep, progress: stderr, runID: runID}
	r.execute(ctx)
	if len(rep.Phases) > 0 {
		rep.Targets = rep.targets(freshRateGoal, freshP99Goal, rssGoalMB)
	}

	rep.writeText(human)
	if cfg.jsonOut {
		if err := rep.writeJSON(stdout); err != nil {
			fmt.Fprintln(stderr, "benchmark:", err)
			return 1
		}
	}
	if len(rep.Failures) > 0 || (rep.Verification != nil && !rep.Verification.Passed) {
		return 1
	}
	return 0
}
