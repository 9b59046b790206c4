package main

import (
	"context"
	"math"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// freshness settings that are not flags.
const (
	// freshSamplesPerSec bounds the events polled for visibility: polling
	// every event would add more read load than the writes being measured.
	freshSamplesPerSec = 20
	freshPoll          = 50 * time.Millisecond
	// freshGiveUp is when a sampled event counts as never visible.
	freshGiveUp = 30 * time.Second
)

// runFreshness sends the freshness stream open loop at a steady rate (a
// request every batch/rate seconds, whatever the answers' latency), and
// polls GET /event/{id} for a sample of the acknowledged events until they
// are visible.
func (b *bench) runFreshness(ctx context.Context) *freshnessResult {
	s := b.l.fresh
	batch := max(1, b.cfg.freshBatch)
	calls := (s.count + batch - 1) / batch
	every := max(1, int(b.cfg.freshRate)/freshSamplesPerSec)
	res := &freshnessResult{TargetRate: b.cfg.freshRate, BatchSize: batch, PollMs: float64(freshPoll.Milliseconds())}

	var (
		mu       sync.Mutex
		visible  []time.Duration
		never    int
		samples  int
		errs     = map[string]int{}
		acked    int
		failed   int
		lastAck  time.Time
		sendWG   sync.WaitGroup
		pollWG   sync.WaitGroup
		inFlight = make(chan struct{}, b.cfg.concurrency)
		interval = time.Duration(float64(batch) / b.cfg.freshRate * float64(time.Second))
		start    = time.Now()
		// Counters for the progress line only.
		pDone, pOK, pFailed atomic.Int64
	)
	stopProgress := startProgress(b.progress, "freshness", int64(calls), &pDone, &pOK, &pFailed)
	poll := func(id string, ackedAt time.Time) {
		defer pollWG.Done()
		for time.Since(ackedAt) < freshGiveUp && ctx.Err() == nil {
			time.Sleep(freshPoll)
			a := do(ctx, b.probe, b.base, request{method: http.MethodGet, path: "/event/" + url.PathEscape(id)})
			if a.err == nil && a.status == http.StatusOK {
				mu.Lock()
				visible = append(visible, a.done.Sub(ackedAt))
				mu.Unlock()
				return
			}
		}
		mu.Lock()
		never++
		mu.Unlock()
	}
	for k := 0; k < calls && ctx.Err() == nil; k++ {
		// Open loop: call k is due at its slot; when every sender is busy
		// the run falls behind and the achieved rate shows it.
		if wait := time.Until(start.Add(time.Duration(k) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		inFlight <- struct{}{}
		sendWG.Go(func() {
			defer func() { <-inFlight }()
			from, to := k*batch, min((k+1)*batch, s.count)
			var req request
			if batch == 1 {
				req = request{method: http.MethodPost, path: "/event/", contentType: "application/json", body: s.spec(b.l.runID, from).createBody()}
			} else {
				req = request{method: http.MethodPost, path: "/events/batch", contentType: "application/json", body: s.batchBody(b.l.runID, from, to)}
			}
			a := do(ctx, b.client, b.base, req)
			var o outcome
			if batch == 1 {
				st := classify(&a)
				s.recordCreate(from, &a, st, parseID(a.body))
				o = outcome{ok: b2i(st == opAcked), failed: b2i(st != opAcked)}
			} else {
				o = s.recordBatch(from, to, &a)
			}
			mu.Lock()
			acked, failed = acked+o.ok, failed+o.failed
			if a.err != nil || a.status != http.StatusAccepted {
				errs[errorKey(&a)]++
				if res.FirstError == "" {
					res.FirstError = describe(&a)
				}
			}
			if a.done.After(lastAck) {
				lastAck = a.done
			}
			mu.Unlock()
			pDone.Add(1)
			pOK.Add(int64(o.ok))
			pFailed.Add(int64(o.failed))
			for i := from; i < to; i++ {
				if i%every == 0 && s.events[i].create == opAcked {
					mu.Lock()
					samples++
					mu.Unlock()
					pollWG.Add(1)
					go poll(s.events[i].id, a.done)
				}
			}
		})
	}
	sendWG.Wait()
	stopProgress()
	pollWG.Wait()

	res.Sent, res.Acked, res.Failed, res.Samples, res.NeverVisible = s.count, acked, failed, samples, never
	res.Seconds = lastAck.Sub(start).Seconds()
	if res.Seconds > 0 {
		res.AchievedRate = float64(acked) / res.Seconds
	}
	if len(errs) > 0 {
		res.Errors = errs
	}
	res.Visible = summarize(visible)
	return res
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// freshCount is the number of events of the freshness stream.
func freshCount(rate float64, d time.Duration) int {
	return int(math.Round(rate * d.Seconds()))
}
