package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// request is one HTTP call of a phase.
type request struct {
	method      string
	path        string // appended to the base URL
	contentType string
	body        []byte
}

// answer is what one call returned.
type answer struct {
	status int // 0 when the call failed before an HTTP answer
	body   []byte
	err    error
	sent   time.Time
	done   time.Time
}

// outcome counts the events of one call that were accepted or not: a batch
// call carries many.
type outcome struct{ ok, failed int }

// loadSpec describes a closed-loop phase of HTTP calls.
type loadSpec struct {
	name        string
	count       int
	concurrency int
	build       func(i int) request
	// onAnswer sees every answer, from the worker that made the call: calls
	// for distinct indexes run concurrently, never two for the same index.
	// nil counts one event, accepted on a 2xx.
	onAnswer func(i int, a *answer) outcome
}

// newClient returns a keep-alive client whose idle pool holds a connection
// per worker: without it, net/http closes and re-dials connections beyond
// its default of 2 per host, and the phase measures TCP handshakes.
func newClient(conns int, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		Proxy:               nil, // a benchmark of loopback traffic must not go through an environment proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// do makes one call and reads the whole answer, so that the connection goes
// back to the pool.
func do(ctx context.Context, client *http.Client, base string, r request) answer {
	a := answer{sent: time.Now()}
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, base+r.path, body)
	if err != nil {
		a.err, a.done = err, time.Now()
		return a
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	resp, err := client.Do(req)
	if err != nil {
		a.err, a.done = err, time.Now()
		return a
	}
	a.body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	a.status, a.err, a.done = resp.StatusCode, err, time.Now()
	return a
}

// errorKey names the failure of a call in the per-status error counts.
func errorKey(a *answer) string {
	switch {
	case a.status == 0 && a.err != nil:
		return "transport"
	case a.err != nil:
		return "read"
	default:
		return strconv.Itoa(a.status)
	}
}

func defaultOutcome(_ int, a *answer) outcome {
	if a.err == nil && a.status/100 == 2 {
		return outcome{ok: 1}
	}
	return outcome{failed: 1}
}

// callResult is what one call of a closed loop reports.
type callResult struct {
	outcome
	latency time.Duration
	errKey  string // "" when the call succeeded
	errText string
}

// workerStats is kept per worker and merged at the end: no lock on the hot
// path of the load generator.
type workerStats struct {
	latencies []time.Duration
	errors    map[string]int
	firstErr  string
}

// runLoad runs a closed-loop phase of HTTP calls and returns its figures.
func runLoad(ctx context.Context, client *http.Client, base string, spec loadSpec, progress io.Writer) phaseResult {
	onAnswer := spec.onAnswer
	if onAnswer == nil {
		onAnswer = defaultOutcome
	}
	return closedLoop(ctx, spec.name, spec.count, spec.concurrency, progress, func(i int) callResult {
		a := do(ctx, client, base, spec.build(i))
		r := callResult{outcome: onAnswer(i, &a), latency: a.done.Sub(a.sent)}
		if a.err != nil || a.status/100 != 2 {
			r.errKey, r.errText = errorKey(&a), describe(&a)
		}
		return r
	})
}

// closedLoop makes count calls with at most concurrency in flight, each
// worker taking the next index as soon as its call returns (the original
// benchmark's model). Progress goes to progress every few seconds.
func closedLoop(ctx context.Context, name string, count, concurrency int, progress io.Writer, call func(i int) callResult) phaseResult {
	conc := max(1, min(concurrency, count))
	var next, done, ok, failed atomic.Int64
	stats := make([]workerStats, conc)
	stop := startProgress(progress, name, int64(count), &done, &ok, &failed)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			st := &stats[w]
			st.errors = map[string]int{}
			st.latencies = make([]time.Duration, 0, count/conc+1)
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= count {
					return
				}
				r := call(i)
				st.latencies = append(st.latencies, r.latency)
				if r.errKey != "" {
					st.errors[r.errKey]++
					if st.firstErr == "" {
						st.firstErr = r.errText
					}
				}
				ok.Add(int64(r.ok))
				failed.Add(int64(r.failed))
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()

	res := phaseResult{Name: name, Requests: int(done.Load()), Events: int(ok.Load()), Failed: int(failed.Load()),
		Seconds: elapsed.Seconds(), Errors: map[string]int{}}
	var all []time.Duration
	for _, st := range stats {
		all = append(all, st.latencies...)
		for k, v := range st.errors {
			res.Errors[k] += v
		}
		if res.FirstError == "" {
			res.FirstError = st.firstErr
		}
	}
	if len(res.Errors) == 0 {
		res.Errors = nil
	}
	res.Latency = summarize(all)
	res.Throughput = rate(res.Events, elapsed)
	if ctx.Err() != nil && res.Requests < count {
		res.Note = fmt.Sprintf("stopped after %d of %d calls: %v", res.Requests, count, context.Cause(ctx))
	}
	return res
}

// describe renders a failed call for the report: status and the start of
// the body, or the transport error.
func describe(a *answer) string {
	if a.status == 0 {
		return a.err.Error()
	}
	body := string(a.body)
	if len(body) > 200 {
		body = body[:200] + "..."
	}
	return fmt.Sprintf("%d %s", a.status, body)
}

func rate(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// progressEvery is how often a running phase prints a progress line: often
// enough to see a long phase move, rarely enough not to flood a log.
const progressEvery = 5 * time.Second

// startProgress prints a line per progressEvery while a phase runs and
// returns the function that stops it.
func startProgress(w io.Writer, name string, total int64, done, ok, failed *atomic.Int64) func() {
	if w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		start := time.Now()
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case now := <-t.C:
				d := done.Load()
				fmt.Fprintf(w, "  %-12s %d/%d calls (%.0f%%)  %.0f events/s  %d failed\n", name, d, total,
					100*float64(d)/float64(max(total, 1)), rate(int(ok.Load()), now.Sub(start)), failed.Load())
			}
		}
	})
	return func() { close(quit); wg.Wait() }
}

// latencySummary is in milliseconds.
type latencySummary struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// summarize sorts d in place and returns its percentiles.
func summarize(d []time.Duration) *latencySummary {
	if len(d) == 0 {
		return nil
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x.Microseconds()) / 1000 }
	return &latencySummary{
		P50: ms(percentile(d, 0.50)), P95: ms(percentile(d, 0.95)), P99: ms(percentile(d, 0.99)), Max: ms(d[len(d)-1]),
	}
}

// percentile returns the nearest-rank q-quantile of sorted values: the
// smallest value with at least q of the values at or below it.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	// The epsilon keeps q*n from rounding up past an exact rank (0.95*100).
	rank := int(math.Ceil(q*float64(len(sorted)) - 1e-9))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}
