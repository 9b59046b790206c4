package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/otelcol-events/otelcol-events/internal/httpapi"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// verification is the final check that the collector holds exactly what
// the acknowledged operations imply.
type verification struct {
	Passed  bool          `json:"passed"`
	Seconds float64       `json:"seconds"`
	Summary string        `json:"summary"`
	Checks  []checkResult `json:"checks"`
}

type checkResult struct {
	Name   string `json:"name"`
	Passed bool   `json:"passed"`
	Detail string `json:"detail"`
	// Lost and Extra are set by the count checks: events the tool was told
	// are accepted but are missing, and events beyond what it sent
	// (duplicates).
	Lost  int `json:"lost,omitempty"`
	Extra int `json:"extra,omitempty"`
}

// eventJSON is the read API's event (one definition, in httpapi).
type eventJSON = httpapi.Event

// verifier runs the checks of a ledger against the collector's read API and,
// when the collector's database is reachable, against ClickHouse itself.
type verifier struct {
	client *http.Client
	base   string
	l      *ledger
	ch     driver.Conn // nil: no direct read (the embedded engine lives inside the collector)
	db     string
	conc   int
	checks []namedCheck
}

type namedCheck struct {
	name string
	run  func(ctx context.Context) checkResult
}

type ref struct {
	s *streamLedger
	i int
}

// newVerifier draws the samples once, so that every polling round checks
// the same events.
func newVerifier(client *http.Client, base string, l *ledger, ch driver.Conn, db string, sample int) *verifier {
	v := &verifier{client: client, base: base, l: l, ch: ch, db: db, conc: 8}
	rng := rand.New(rand.NewPCG(42, uint64(len(l.runID))))

	var visible, deleted []ref
	for _, s := range l.streams() {
		for i := range s.events {
			rec := &s.events[i]
			if rec.create != opAcked {
				continue
			}
			switch rec.del {
			case opNone, opRejected:
				visible = append(visible, ref{s, i})
			case opAcked:
				deleted = append(deleted, ref{s, i})
			}
		}
	}
	rng.Shuffle(len(visible), func(i, j int) { visible[i], visible[j] = visible[j], visible[i] })
	rng.Shuffle(len(deleted), func(i, j int) { deleted[i], deleted[j] = deleted[j], deleted[i] })
	visible = visible[:min(sample, len(visible))]
	deleted = deleted[:min(sample/2, len(deleted))]

	v.add("events.read_back", func(ctx context.Context) checkResult { return v.checkEvents(ctx, visible) })
	v.add("deletes.not_found", func(ctx context.Context) checkResult { return v.checkDeleted(ctx, deleted) })

	// The expected totals are computed once: the ledger no longer changes,
	// and a round must not spend the machine's CPU on the tool's own
	// bookkeeping while the collector catches up.
	var convs []convSample
	for _, s := range l.streams() {
		n := min(s.convs, max(5, sample/5))
		for _, c := range pick(rng, seq(s.convs), n) {
			lo, hi := s.expected(l.runID, s.conversationIndexes(c), anySpec)
			convs = append(convs, convSample{name: s.conversation(l.runID, c), lo: lo, hi: hi})
		}
	}
	v.add("conversations.counts", func(ctx context.Context) checkResult { return v.checkConversations(ctx, convs) })

	for _, s := range l.streams() {
		for _, name := range s.names {
			lo, hi := s.expected(l.runID, nil, func(sp spec) bool { return sp.Name == name && sp.Error != "" })
			v.add("analytics.errors "+shortName(l.runID, name), func(ctx context.Context) checkResult {
				return checkErrorCount(ctx, v.client, v.base, name, lo, hi)
			})
			if s.convs <= maxAnalyticsRows {
				lo, hi := s.expected(l.runID, nil, func(sp spec) bool { return sp.Name == name })
				v.add("analytics.count "+shortName(l.runID, name), func(ctx context.Context) checkResult {
					return checkNameCount(ctx, v.client, v.base, name, lo, hi)
				})
			}
		}
	}
	if ch != nil {
		want := expectedRows(l)
		v.add("clickhouse.rows", func(ctx context.Context) checkResult { return checkClickHouse(ctx, ch, db, l.runID, want) })
	}
	return v
}

// convSample is a sampled conversation and its expected number of events.
type convSample struct {
	name   string
	lo, hi int
}

func (v *verifier) add(name string, run func(ctx context.Context) checkResult) {
	v.checks = append(v.checks, namedCheck{name: name, run: run})
}

func shortName(runID, name string) string { return strings.TrimPrefix(name, runID+"_") }

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// run polls every check until all pass in the same round or the timeout
// passes: the pipeline is asynchronous, so the final state is reached some
// time after the last 202.
func (v *verifier) run(ctx context.Context, timeout time.Duration, progress io.Writer) *verification {
	start := time.Now()
	deadline := start.Add(timeout)
	lastSaid := start
	var res []checkResult
	for {
		res = res[:0]
		passed := true
		for _, c := range v.checks {
			r := c.run(ctx)
			r.Name = c.name
			res = append(res, r)
			passed = passed && r.Passed
		}
		if passed || time.Now().After(deadline) || ctx.Err() != nil {
			out := &verification{Passed: passed, Seconds: time.Since(start).Seconds(), Checks: res}
			out.Summary = summarizeChecks(res)
			return out
		}
		if progress != nil && time.Since(lastSaid) >= progressEvery {
			fmt.Fprintf(progress, "  %-12s %s; polling again\n", "verify", summarizeChecks(res))
			lastSaid = time.Now()
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

func summarizeChecks(res []checkResult) string {
	lost, extra, failed := 0, 0, 0
	for _, r := range res {
		// The checks are views of the same rows: the worst one says how
		// many events went missing or doubled.
		lost, extra = max(lost, r.Lost), max(extra, r.Extra)
		if !r.Passed {
			failed++
		}
	}
	if failed == 0 {
		return fmt.Sprintf("all %d checks passed: nothing lost, nothing duplicated", len(res))
	}
	// Past the timeout a missing event is lost or still in a backlog: the
	// tool cannot tell, and says both.
	return fmt.Sprintf("%d of %d checks failed: %d acknowledged events missing (lost, or still queued), %d extra (duplicates, or deletes not applied yet)",
		failed, len(res), lost, extra)
}

// parallel runs f over n items with the verifier's concurrency.
func (v *verifier) parallel(n int, f func(k int)) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, v.conc)
	for k := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			f(k)
		})
	}
	wg.Wait()
}

func (v *verifier) get(ctx context.Context, path string, out any) (int, error) {
	a := do(ctx, v.client, v.base, request{method: http.MethodGet, path: path})
	if a.err != nil {
		return a.status, a.err
	}
	if a.status == http.StatusOK && out != nil {
		if err := json.Unmarshal(a.body, out); err != nil {
			return a.status, fmt.Errorf("GET %s: decode: %w", path, err)
		}
	}
	return a.status, nil
}

// checkEvents reads sampled events back and compares them field by field.
func (v *verifier) checkEvents(ctx context.Context, refs []ref) checkResult {
	var mu sync.Mutex
	var bad []string
	missing := 0
	v.parallel(len(refs), func(k int) {
		r := refs[k]
		rec := &r.s.events[r.i]
		var got eventJSON
		status, err := v.get(ctx, "/event/"+url.PathEscape(rec.id), &got)
		var problem string
		switch {
		case err != nil:
			problem = err.Error()
		case status == http.StatusNotFound:
			problem = "not found"
		case status != http.StatusOK:
			problem = fmt.Sprintf("status %d", status)
		default:
			problem = compareEvent(&got, r.s.spec(v.l.runID, r.i), r.i, rec)
		}
		if problem != "" {
			mu.Lock()
			defer mu.Unlock()
			if status == http.StatusNotFound {
				missing++
			}
			bad = append(bad, rec.id+": "+problem)
		}
	})
	r := checkResult{Passed: len(bad) == 0, Lost: missing}
	if r.Passed {
		r.Detail = fmt.Sprintf("%d sampled events read back field by field", len(refs))
	} else {
		r.Detail = fmt.Sprintf("%d of %d sampled events wrong (%d not found); first: %s", len(bad), len(refs), missing, bad[0])
	}
	return r
}

// compareEvent returns "" when got is the expected state of event i, or
// what differs.
func compareEvent(got *eventJSON, sp spec, i int, rec *eventRecord) string {
	var diffs []string
	check := func(field string, g, w any) {
		if g != w {
			diffs = append(diffs, fmt.Sprintf("%s=%v want %v", field, g, w))
		}
	}
	if rec.update == opAcked {
		sp = sp.updated(i)
	}
	check("id", got.ID, rec.id)
	check("conversation_id", got.ConversationID, sp.Conversation)
	check("event_name", got.EventName, sp.Name)
	check("input", got.Input, sp.Input)
	check("output", got.Output, sp.Output)
	if rec.update != opAmbiguous {
		check("latency", got.Latency, sp.Latency)
		check("error", got.Error, sp.Error)
	}
	check("attributes", fmt.Sprint(got.Attributes), fmt.Sprint(map[string]string{"model": sp.Model}))
	ts, err := time.Parse(time.RFC3339Nano, got.Timestamp)
	switch {
	case err != nil:
		diffs = append(diffs, "timestamp: "+err.Error())
	case ts.UnixMilli() < rec.sentMs-1 || ts.UnixMilli() > rec.ackMs+1:
		// The server stamps the arrival time: it must lie within the call.
		diffs = append(diffs, fmt.Sprintf("timestamp=%s outside the call [%s, %s]", got.Timestamp,
			time.UnixMilli(rec.sentMs).UTC().Format(time.RFC3339Nano), time.UnixMilli(rec.ackMs).UTC().Format(time.RFC3339Nano)))
	}
	return strings.Join(diffs, ", ")
}

// checkDeleted expects 404 for sampled deleted events.
func (v *verifier) checkDeleted(ctx context.Context, refs []ref) checkResult {
	var mu sync.Mutex
	var bad []string
	v.parallel(len(refs), func(k int) {
		rec := &refs[k].s.events[refs[k].i]
		status, err := v.get(ctx, "/event/"+url.PathEscape(rec.id), nil)
		if err != nil || status != http.StatusNotFound {
			mu.Lock()
			defer mu.Unlock()
			bad = append(bad, fmt.Sprintf("%s: status %d %v", rec.id, status, err))
		}
	})
	r := checkResult{Passed: len(bad) == 0, Extra: len(bad)}
	if r.Passed {
		r.Detail = fmt.Sprintf("%d sampled deleted events answer 404", len(refs))
	} else {
		r.Detail = fmt.Sprintf("%d of %d deleted events still readable; first: %s", len(bad), len(refs), bad[0])
	}
	return r
}

type conversationPage struct {
	Events     []eventJSON `json:"events"`
	NextCursor *string     `json:"next_cursor"`
}

// checkConversations pages through sampled conversations and compares their
// event counts with the ledger: fewer is a loss, more (or an id listed
// twice) a duplicate.
func (v *verifier) checkConversations(ctx context.Context, convs []convSample) checkResult {
	var mu sync.Mutex
	var bad []string
	lost, extra := 0, 0
	v.parallel(len(convs), func(k int) {
		c := convs[k]
		ids, err := v.listConversation(ctx, c.name)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			bad = append(bad, c.name+": "+err.Error())
			return
		}
		seen := map[string]bool{}
		dups := 0
		for _, id := range ids {
			if seen[id] {
				dups++
			}
			seen[id] = true
		}
		switch {
		case dups > 0:
			extra += dups
			bad = append(bad, fmt.Sprintf("%s: %d ids listed twice", c.name, dups))
		case len(ids) < c.lo:
			lost += c.lo - len(ids)
			bad = append(bad, fmt.Sprintf("%s: %d events, want %s", c.name, len(ids), rangeText(c.lo, c.hi)))
		case len(ids) > c.hi:
			extra += len(ids) - c.hi
			bad = append(bad, fmt.Sprintf("%s: %d events, want %s", c.name, len(ids), rangeText(c.lo, c.hi)))
		}
	})
	r := checkResult{Passed: len(bad) == 0, Lost: lost, Extra: extra}
	if r.Passed {
		r.Detail = fmt.Sprintf("%d sampled conversations hold exactly the expected events", len(convs))
	} else {
		r.Detail = fmt.Sprintf("%d of %d conversations wrong; first: %s", len(bad), len(convs), bad[0])
	}
	return r
}

func (v *verifier) listConversation(ctx context.Context, conv string) ([]string, error) {
	var ids []string
	cursor := ""
	for range 10_000 { // bound: a page holds 1000 events
		path := "/events/conversation/" + url.PathEscape(conv) + "?limit=1000"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page conversationPage
		status, err := v.get(ctx, path, &page)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("status %d", status)
		}
		for _, e := range page.Events {
			ids = append(ids, e.ID)
		}
		if page.NextCursor == nil {
			return ids, nil
		}
		cursor = *page.NextCursor
	}
	return nil, fmt.Errorf("more than 10000 pages")
}

func rangeText(lo, hi int) string {
	if lo == hi {
		return fmt.Sprint(lo)
	}
	return fmt.Sprintf("%d..%d", lo, hi)
}
