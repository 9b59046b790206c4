package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// bench holds what the phases share.
type bench struct {
	cfg      config
	base     string
	client   *http.Client // the load: one keep-alive connection per worker
	probe    *http.Client // polls and checks, so they never queue behind the load
	l        *ledger
	progress io.Writer
	// ch is the collector's own ClickHouse database, when the tool can
	// reach it (not the embedded engine): end-to-end counts then read it
	// directly instead of going through the API.
	ch driver.Conn
	db string
}

func (b *bench) say(format string, args ...any) {
	if b.progress != nil {
		fmt.Fprintf(b.progress, format+"\n", args...)
	}
}

// insertSpec is the original benchmark's insert phase; ceiling (b) replays
// the same calls against a bare server.
func (b *bench) insertSpec(record bool) loadSpec {
	s := b.l.insert
	spec := loadSpec{
		name: "insert", count: s.count, concurrency: b.cfg.concurrency,
		build: func(i int) request {
			return request{method: http.MethodPost, path: "/event/", contentType: "application/json", body: s.spec(b.l.runID, i).createBody()}
		},
	}
	if record {
		spec.onAnswer = func(i int, a *answer) outcome {
			st := classify(a)
			s.recordCreate(i, a, st, parseID(a.body))
			if s.events[i].create == opAcked {
				return outcome{ok: 1}
			}
			return outcome{failed: 1}
		}
	}
	return spec
}

// targets draws n of the acknowledged inserts with a fixed seed. The update
// and delete phases draw independently, so that some updated events are
// then deleted (a delete must win over an earlier update).
func (b *bench) targets(seed uint64, n int) []int {
	return pick(rand.New(rand.NewPCG(seed, 0x5eed)), b.l.insert.acked(), n)
}

func (b *bench) updatePhase(ctx context.Context) phaseResult {
	s := b.l.insert
	ids := b.targets(1, b.cfg.updates)
	res := runLoad(ctx, b.client, b.base, loadSpec{
		name: "update", count: len(ids), concurrency: b.cfg.concurrency,
		build: func(k int) request {
			i := ids[k]
			return request{method: http.MethodPut, path: "/event/" + url.PathEscape(s.events[i].id), contentType: "application/json", body: updateBody(i)}
		},
		onAnswer: func(k int, a *answer) outcome {
			st := classify(a)
			s.events[ids[k]].update = st
			return outcome{ok: b2i(st == opAcked), failed: b2i(st != opAcked)}
		},
	}, b.progress)
	if len(ids) < b.cfg.updates {
		res.Note = fmt.Sprintf("capped at the %d acknowledged inserts (asked %d)", len(ids), b.cfg.updates)
	}
	return res
}

func (b *bench) deletePhase(ctx context.Context) (phaseResult, []int) {
	s := b.l.insert
	ids := b.targets(2, b.cfg.deletes)
	res := runLoad(ctx, b.client, b.base, loadSpec{
		name: "delete", count: len(ids), concurrency: b.cfg.concurrency,
		build: func(k int) request {
			return request{method: http.MethodDelete, path: "/event/" + url.PathEscape(s.events[ids[k]].id)}
		},
		onAnswer: func(k int, a *answer) outcome {
			st := classify(a)
			s.events[ids[k]].del = st
			return outcome{ok: b2i(st == opAcked), failed: b2i(st != opAcked)}
		},
	}, b.progress)
	if len(ids) < b.cfg.deletes {
		res.Note = fmt.Sprintf("capped at the %d acknowledged inserts (asked %d)", len(ids), b.cfg.deletes)
	}
	return res, ids
}

// drain waits until the last acknowledged deletes are visible (404), so that
// the backlog of the single-event phases does not slow the batch phase
// down, and returns how long that took after the last 202.
func (b *bench) drain(ctx context.Context, deleted []int, timeout time.Duration) (time.Duration, error) {
	s := b.l.insert
	var tail []string
	for k := len(deleted) - 1; k >= 0 && len(tail) < 50; k-- {
		if rec := &s.events[deleted[k]]; rec.del == opAcked {
			tail = append(tail, rec.id)
		}
	}
	start, lastSaid := time.Now(), time.Now()
	for len(tail) > 0 {
		if time.Since(lastSaid) >= progressEvery {
			b.say("  %-12s %d of the last deletes not visible yet after %.0fs", "drain", len(tail), time.Since(start).Seconds())
			lastSaid = time.Now()
		}
		id := tail[len(tail)-1]
		a := do(ctx, b.probe, b.base, request{method: http.MethodGet, path: "/event/" + url.PathEscape(id)})
		if a.err == nil && a.status == http.StatusNotFound {
			tail = tail[:len(tail)-1]
			continue
		}
		if time.Since(start) > timeout || ctx.Err() != nil {
			return time.Since(start), fmt.Errorf("event %s still readable %s after its delete was acknowledged", id, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start), nil
}

// batchSpec is the batch phase's calls: the batch stream in POST
// /events/batch calls of -batch-size. With record the answers go to the
// ledger; without (a ceiling), the accepted results are only counted.
func (b *bench) batchSpec(record bool) loadSpec {
	s := b.l.batch
	size := max(1, b.cfg.batchSize)
	bounds := func(k int) (int, int) { return k * size, min((k+1)*size, s.count) }
	spec := loadSpec{
		name: "batch.http", count: (s.count + size - 1) / size, concurrency: b.cfg.concurrency,
		build: func(k int) request {
			from, to := bounds(k)
			return request{method: http.MethodPost, path: "/events/batch", contentType: "application/json", body: s.batchBody(b.l.runID, from, to)}
		},
		onAnswer: func(k int, a *answer) outcome {
			from, to := bounds(k)
			var ba batchAnswer
			if a.err != nil || a.status != http.StatusAccepted || json.Unmarshal(a.body, &ba) != nil {
				return outcome{failed: to - from}
			}
			return outcome{ok: ba.Accepted, failed: to - from - ba.Accepted}
		},
	}
	if record {
		spec.onAnswer = func(k int, a *answer) outcome {
			from, to := bounds(k)
			return s.recordBatch(from, to, a)
		}
	}
	return spec
}

// batchPhase sends the batch stream through POST /events/batch and then
// waits until every accepted event is visible: the second result is the
// end-to-end throughput (first call to last event visible).
func (b *bench) batchPhase(ctx context.Context) (phaseResult, phaseResult) {
	s := b.l.batch
	start := time.Now()
	res := runLoad(ctx, b.client, b.base, b.batchSpec(true), b.progress)
	res.Note = fmt.Sprintf("%d events per call; latency is per call", max(1, b.cfg.batchSize))

	e2e := phaseResult{Name: "batch.e2e", Events: res.Events}
	lo, _ := s.expected(b.l.runID, nil, anySpec)
	b.say("  batch.e2e    waiting until the %d accepted events are visible", lo)
	timeout := max(b.cfg.e2eTimeout, 2*time.Duration(res.Seconds*float64(time.Second)))
	visibleAt, got, err := b.waitVisible(ctx, s, lo, timeout)
	e2e.Seconds = visibleAt.Sub(start).Seconds()
	if err != nil {
		e2e.Note = fmt.Sprintf("only %d of %d events visible after %s: %v", got, lo, timeout, err)
		e2e.Events = got
	} else {
		e2e.Note = fmt.Sprintf("first call to last event visible (%.2fs after the last 202)", e2e.Seconds-res.Seconds)
	}
	e2e.Throughput = rate(e2e.Events, visibleAt.Sub(start))
	return res, e2e
}

// waitVisible polls the visible count of stream s until it reaches want.
func (b *bench) waitVisible(ctx context.Context, s *streamLedger, want int, timeout time.Duration) (time.Time, int, error) {
	deadline := time.Now().Add(timeout)
	lastSaid := time.Now()
	got := 0
	var err error
	for {
		got, err = b.countVisible(ctx, s)
		if err == nil && got >= want {
			return time.Now(), got, nil
		}
		if time.Since(lastSaid) >= progressEvery {
			b.say("  %-12s %d/%d events visible", "batch.e2e", got, want)
			lastSaid = time.Now()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			if err == nil {
				err = fmt.Errorf("timed out")
			}
			return time.Now(), got, err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// countVisible counts the visible events of stream s: straight from
// ClickHouse when the tool can reach the collector's database, else through
// the analytics API (exact: the stream spans at most 1000 conversations).
func (b *bench) countVisible(ctx context.Context, s *streamLedger) (int, error) {
	if b.ch != nil {
		var n int64
		err := b.ch.QueryRow(ctx, "SELECT toInt64(sum(sign)) FROM "+b.db+".events WHERE conversation LIKE ?",
			s.conversationPrefix(b.l.runID)+"%").Scan(&n)
		return int(n), err
	}
	total := 0
	for _, name := range s.names {
		n, err := apiNameCount(ctx, b.probe, b.base, name)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

// queryPhase times the read API: the original README's reads, on the data
// the run wrote (and whatever else the database holds).
func (b *bench) queryPhase(ctx context.Context) []phaseResult {
	s := b.l.insert
	var visible []int
	for _, i := range s.acked() {
		if s.events[i].del == opNone {
			visible = append(visible, i)
		}
	}
	rng := rand.New(rand.NewPCG(3, 0x5eed))
	name := url.QueryEscape(s.names[0])
	queries := []struct {
		name string
		path func() string
	}{
		{"query.event", func() string { return "/event/" + url.PathEscape(s.events[visible[rng.IntN(len(visible))]].id) }},
		{"query.conversation", func() string {
			return "/events/conversation/" + url.PathEscape(s.conversation(b.l.runID, rng.IntN(s.convs))) + "?limit=100"
		}},
		{"query.errors", func() string { return "/analytics/errors?days=7&event_name=" + name }},
		{"query.latency", func() string { return "/analytics/latency?limit=50" }},
		{"query.top_errors", func() string { return "/analytics/sessions/top-errors?limit=10" }},
	}
	if len(visible) == 0 {
		queries = queries[2:]
	}
	var out []phaseResult
	for _, q := range queries {
		// The paths are drawn up front: rng is not safe for the workers.
		paths := make([]string, b.cfg.queryCount)
		for i := range paths {
			paths[i] = q.path()
		}
		res := runLoad(ctx, b.probe, b.base, loadSpec{
			name: q.name, count: len(paths), concurrency: min(b.cfg.concurrency, queryConcurrency),
			build: func(i int) request { return request{method: http.MethodGet, path: paths[i]} },
			onAnswer: func(_ int, a *answer) outcome {
				if a.err == nil && a.status == http.StatusOK {
					return outcome{ok: 1}
				}
				return outcome{failed: 1}
			},
		}, b.progress)
		out = append(out, res)
	}
	return out
}

// queryConcurrency: the analytics reads are scans; a few at a time is what
// a dashboard does.
const queryConcurrency = 4
