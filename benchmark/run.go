package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/otelcol-events/otelcol-events/internal/storage"
)

// runner sequences a run: ceilings, phases, verification.
type runner struct {
	cfg      config
	rep      *report
	progress io.Writer
	runID    string
	mon      *rssMonitor // nil when the collector's pid is unknown
	// metricsURL is the started collector's Prometheus endpoint in the Kafka
	// topology, where the consumer lag is read after each phase; "" else.
	metricsURL string
}

// recordLag reads the consumer lag after the phase named after.
func (r *runner) recordLag(ctx context.Context, after string) {
	if r.metricsURL == "" {
		return
	}
	l := readLag(ctx, r.metricsURL, after, 30*time.Second)
	r.say("  consumer lag %s", l)
	r.rep.ConsumerLag = append(r.rep.ConsumerLag, l)
}

func (r *runner) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.rep.Failures = append(r.rep.Failures, msg)
	fmt.Fprintln(r.progress, "benchmark: "+msg)
}

func (r *runner) say(format string, args ...any) {
	fmt.Fprintf(r.progress, format+"\n", args...)
}

// hostPort turns tcp://[user@]host:port into host:port.
func hostPort(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Host
	}
	return raw
}

func (r *runner) execute(ctx context.Context) {
	cfg := r.cfg
	startsServerCollector := cfg.collector != "" && (cfg.topology == "kafka" || !cfg.embedded)
	var chConn driver.Conn
	if cfg.clickhouse == "" {
		if cfg.ceilings {
			r.rep.NotMeasured = append(r.rep.NotMeasured, `ceiling (a) not measured: no ClickHouse server given (-clickhouse="")`)
		}
		if startsServerCollector {
			r.fail("the collector to start writes to a ClickHouse server: pass -clickhouse")
			return
		}
	} else if cfg.ceilings || cfg.database != "" || startsServerCollector {
		conn, err := openClickHouse(ctx, cfg.clickhouse)
		if err != nil {
			r.fail("%v (`make services` starts one; -clickhouse=\"\" runs without ceiling (a))", err)
			return
		}
		defer conn.Close()
		chConn = conn
	}

	base, pid, db := cfg.baseURL, cfg.collectorPID, cfg.database
	var proc *collectorProc
	if cfg.collector != "" {
		r.say("starting %s --config %s (%s topology)", cfg.collector, cfg.collectorConfig, cfg.topology)
		var err error
		proc, err = startCollector(ctx, startOptions{
			binary: cfg.collector, config: cfg.collectorConfig, topology: cfg.topology, embedded: cfg.embedded,
			chHostPort: hostPort(cfg.clickhouse), kafka: cfg.kafka, runID: r.runID, logFile: cfg.collectorLog,
		})
		if err != nil {
			if cfg.quick {
				r.fail("-quick starts its own collector and could not: %v", err)
			} else {
				r.fail("start the collector: %v", err)
			}
			return
		}
		defer func() {
			proc.stop()
			r.dropScratch(chConn, proc)
		}()
		base, pid, db = proc.baseURL, proc.pid(), proc.database
		if cfg.topology == "kafka" {
			r.metricsURL = proc.metricsURL
		}
		r.say("collector pid %d serving %s", pid, base)
	}
	r.rep.BaseURL, r.rep.Settings.Database = base, db
	if err := waitHealth(ctx, base, 10*time.Second); err != nil {
		r.fail("no collector answers at %s: %v (start one with `make run`, or pass -collector)", base, err)
		return
	}
	if pid > 0 {
		r.mon = startRSSMonitor(pid)
		// Registered after proc.stop, so it runs first: the process is
		// still there to be measured.
		defer func() { r.rep.Collector = r.mon.stop(proc != nil) }()
	}

	b := &bench{
		cfg: cfg, base: base, progress: r.progress,
		client: newClient(cfg.concurrency, time.Minute),
		probe:  newClient(64, 30*time.Second),
		l: &ledger{
			runID:  r.runID,
			insert: newStreamLedger(newStream(r.runID, "c", cfg.inserts, "a", "b", "c")),
			batch:  newStreamLedger(newStream(r.runID, "b", cfg.batchEvents, "batch")),
			fresh:  newStreamLedger(newStream(r.runID, "f", freshCount(cfg.freshRate, cfg.freshDuration), "fresh")),
		},
	}
	if db != "" && chConn != nil {
		b.ch, b.db = chConn, db
	}

	if cfg.ceilings {
		r.mon.part("ceilings (collector idle)")
		r.runCeilings(ctx, b, chConn)
	}
	r.runPhases(ctx, b)
	if cfg.verify && ctx.Err() == nil {
		r.say("== verification: waiting up to %s for the expected state", cfg.verifyTimeout)
		r.mon.part("verification")
		r.rep.Verification = newVerifier(b.probe, base, b.l, b.ch, b.db, cfg.sample).run(ctx, cfg.verifyTimeout, r.progress)
	}
	if ctx.Err() != nil {
		r.fail("the run was cut short: %v", context.Cause(ctx))
	}
	if proc != nil && proc.exited() {
		r.fail("the collector exited during the run:\n%s", proc.logs.tail(30))
	}
	if cfg.quick {
		r.checkQuick()
	}
}

// dropScratch removes the database and topic a collector started by the tool
// wrote to: each run makes its own, and a shared server must not fill up
// with them.
func (r *runner) dropScratch(chConn driver.Conn, proc *collectorProc) {
	// The topic first and on a context of its own: a slow drop of the
	// tables must not leave the topic behind.
	if proc.topic != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := dropTopic(ctx, r.cfg.kafka, proc.topic); err != nil {
			r.say("could not delete the scratch topic %s: %v", proc.topic, err)
		}
		cancel()
	}
	if proc.database != "" && chConn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := storage.DropServerDatabase(ctx, chConn, proc.database); err != nil {
			r.say("could not drop the scratch database %s (the server may still finish the drop): %v", proc.database, err)
		}
		cancel()
	}
}

func waitHealth(ctx context.Context, base string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		a := do(ctx, client, base, request{method: http.MethodGet, path: "/health"})
		if a.err == nil && a.status == http.StatusOK {
			return nil
		}
		last = a.err
		if last == nil {
			last = fmt.Errorf("GET /health: %d %s", a.status, strings.TrimSpace(string(a.body)))
		}
		time.Sleep(200 * time.Millisecond)
	}
	return last
}

func (r *runner) runCeilings(ctx context.Context, b *bench, chConn driver.Conn) {
	cfg := r.cfg
	if cfg.inserts > 0 || cfg.batchEvents > 0 {
		r.ceilingHTTP(ctx, b)
	}
	if chConn != nil && cfg.batchEvents > 0 {
		r.say("== ceiling (a): clickhouse-go batch insert of %d rows into %s", cfg.batchEvents, cfg.clickhouse)
		res, err := ceilingClickHouseInsert(ctx, chConn, r.runID, b.l.batch.stream, cfg.ceilingBatch)
		if err != nil {
			r.fail("%v", err)
		} else {
			r.rep.Ceilings = append(r.rep.Ceilings, res)
		}
	}

	if cfg.kafka != "" && cfg.inserts > 0 {
		r.say("== ceiling (c): Kafka at %s, %d messages produced (acks all) at concurrency %d, then consumed", cfg.kafka, cfg.inserts, cfg.concurrency)
		produce, consume, err := ceilingKafka(ctx, cfg.kafka, r.runID, b.l.insert.stream, cfg.concurrency)
		if err != nil {
			r.fail("%v", err)
		} else {
			r.rep.Ceilings = append(r.rep.Ceilings, produce, consume)
		}
	} else if cfg.kafka == "" {
		r.rep.NotMeasured = append(r.rep.NotMeasured, "ceiling (c) not measured: single-node topology (pass -kafka or -topology kafka)")
	}
}

// ceilingHTTP is ceiling (b): the insert phase's calls against a bare
// server, then the batch phase's.
func (r *runner) ceilingHTTP(ctx context.Context, b *bench) {
	cfg := r.cfg
	bareBase, stop, err := startBareServer()
	if err != nil {
		r.fail("%v", err)
		return
	}
	defer stop()
	client := newClient(cfg.concurrency, time.Minute)
	if cfg.inserts > 0 {
		r.say("== ceiling (b): bare net/http server, %d calls at concurrency %d", cfg.inserts, cfg.concurrency)
		res := runLoad(ctx, client, bareBase, b.insertSpec(false), r.progress)
		res.Name = ceilingHTTP
		res.Note = "same calls and bodies as the insert phase, answered by a bare server in this process"
		r.rep.Ceilings = append(r.rep.Ceilings, res)
	}
	if cfg.batchEvents > 0 {
		r.say("== ceiling (b), batches: the same server, %d events in calls of %d", cfg.batchEvents, max(1, cfg.batchSize))
		res := runLoad(ctx, client, bareBase, b.batchSpec(false), r.progress)
		res.Name = ceilingHTTPBatch
		res.Note = "same calls and bodies as the batch phase, answered by the bare server: what any HTTP ingest of these batches can reach here"
		r.rep.Ceilings = append(r.rep.Ceilings, res)
	}
}

func (r *runner) runPhases(ctx context.Context, b *bench) {
	cfg, rep := r.cfg, r.rep
	ratios := func(p *phaseResult, names ...string) {
		for _, n := range names {
			withRatio(p, rep.Ceilings, n)
		}
	}

	// A phase asked to do nothing (e.g. UPDATE_COUNT=0) is left out of the
	// report rather than shown as zero events per second.
	if cfg.inserts > 0 {
		r.say("== insert: %d POST /event/ at concurrency %d", cfg.inserts, cfg.concurrency)
		r.mon.part("insert")
		ins := runLoad(ctx, b.client, b.base, b.insertSpec(true), r.progress)
		ratios(&ins, ceilingHTTP, ceilingKafkaProduce)
		rep.Phases = append(rep.Phases, ins)
	}
	if cfg.updates > 0 && cfg.inserts > 0 {
		r.say("== update: %d PUT /event/{id}", cfg.updates)
		r.mon.part("update")
		upd := b.updatePhase(ctx)
		ratios(&upd, ceilingHTTP)
		rep.Phases = append(rep.Phases, upd)
	}
	if cfg.deletes > 0 && cfg.inserts > 0 {
		r.say("== delete: %d DELETE /event/{id}", cfg.deletes)
		r.mon.part("delete")
		del, deleted := b.deletePhase(ctx)
		ratios(&del, ceilingHTTP)
		r.say("  waiting until the last deletes are visible (the single-event backlog drains)")
		if d, err := b.drain(ctx, deleted, cfg.e2eTimeout); err != nil {
			r.fail("drain after the delete phase: %v", err)
		} else if len(deleted) > 0 {
			del.Note = strings.TrimPrefix(del.Note+fmt.Sprintf("; the last deletes were visible %.2fs after the last 202", d.Seconds()), "; ")
		}
		rep.Phases = append(rep.Phases, del)
	}
	if cfg.inserts > 0 {
		r.recordLag(ctx, "insert, update, delete")
	}
	if cfg.batchEvents > 0 {
		r.say("== batch: %d events in POST /events/batch calls of %d", cfg.batchEvents, cfg.batchSize)
		r.mon.part("batch")
		bh, be := b.batchPhase(ctx)
		ratios(&bh, ceilingClickHouse, ceilingHTTPBatch)
		ratios(&be, ceilingClickHouse, ceilingHTTPBatch)
		rep.Phases = append(rep.Phases, bh, be)
		r.recordLag(ctx, "batch")
	}

	if b.l.fresh.count > 0 {
		r.say("== freshness: %.0f events/s for %s, %d per call", cfg.freshRate, cfg.freshDuration, cfg.freshBatch)
		r.mon.part("freshness")
		rep.Freshness = b.runFreshness(ctx)
		r.recordLag(ctx, "freshness")
	}
	if cfg.queryCount > 0 {
		r.say("== queries: %d calls each", cfg.queryCount)
		r.mon.part("queries")
		rep.Queries = b.queryPhase(ctx)
	}
}

// checkQuick turns what a healthy collector never does at -quick's small
// load into failures: -quick exists to catch a benchmark (or a collector)
// that rotted.
func (r *runner) checkQuick() {
	for _, p := range append(append([]phaseResult{}, r.rep.Ceilings...), r.rep.Phases...) {
		if p.Failed > 0 || len(p.Errors) > 0 {
			r.fail("-quick: %s had %d failed events (%s; first: %s)", p.Name, p.Failed, errorsText(p.Errors), p.FirstError)
		}
		if p.Events == 0 && p.Requests > 0 {
			r.fail("-quick: %s accepted nothing", p.Name)
		}
	}
	if f := r.rep.Freshness; f != nil && (f.Failed > 0 || f.NeverVisible > 0 || f.Visible == nil) {
		r.fail("-quick: freshness had %d failed events and %d never-visible samples", f.Failed, f.NeverVisible)
	}
	for _, q := range r.rep.Queries {
		if q.Failed > 0 {
			r.fail("-quick: %s had %d failed calls (first: %s)", q.Name, q.Failed, q.FirstError)
		}
	}
}
