package main

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
)

// opState is what the tool knows about one operation it sent.
type opState uint8

const (
	opNone opState = iota
	// opAcked: the collector answered 202; the operation must take effect.
	opAcked
	// opRejected: a 4xx, or a 503 (docs/api.md: nothing of the request was
	// accepted); the operation must not take effect.
	opRejected
	// opAmbiguous: no answer (timeout, reset) or a 5xx that promises
	// nothing; the operation may or may not take effect, and the checks
	// widen their bounds accordingly instead of guessing.
	opAmbiguous
)

func classify(a *answer) opState {
	switch {
	case a.err != nil || a.status == 0:
		return opAmbiguous
	case a.status == http.StatusAccepted:
		return opAcked
	case a.status >= 400 && a.status < 500, a.status == http.StatusServiceUnavailable:
		return opRejected
	default:
		return opAmbiguous
	}
}

// eventRecord is what the tool sent for one event of a stream and what it
// was told. Each record is written by the one worker that owns its index,
// and phases run one after the other: no lock is needed.
type eventRecord struct {
	id                  string
	create, update, del opState
	// The server stamps the timestamp when the create arrives: it lies
	// between these two (Unix milliseconds).
	sentMs, ackMs int64
}

type streamLedger struct {
	stream
	events []eventRecord
}

// ledger is the tool's model of what the collector must hold at the end.
type ledger struct {
	runID  string
	insert *streamLedger
	batch  *streamLedger
	fresh  *streamLedger
}

func newStreamLedger(s stream) *streamLedger {
	return &streamLedger{stream: s, events: make([]eventRecord, s.count)}
}

func (l *ledger) streams() []*streamLedger {
	var out []*streamLedger
	for _, s := range []*streamLedger{l.insert, l.batch, l.fresh} {
		if s != nil && s.count > 0 {
			out = append(out, s)
		}
	}
	return out
}

// recordCreate stores the outcome of the create of event i.
func (s *streamLedger) recordCreate(i int, a *answer, state opState, id string) {
	rec := &s.events[i]
	rec.sentMs, rec.ackMs = a.sent.UnixMilli(), a.done.UnixMilli()
	if state == opAcked && id == "" {
		state = opAmbiguous // a 202 without an id cannot be checked
	}
	rec.create, rec.id = state, id
}

// parseID reads the {"id": ...} of a 202.
func parseID(body []byte) string {
	var v struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	return v.ID
}

// batchAnswer is the per-item answer of POST /events/batch.
// The bare server of ceiling (b) answers with it too.
type batchAnswer struct {
	Accepted int           `json:"accepted"`
	Rejected int           `json:"rejected"`
	Results  []batchResult `json:"results"`
}

// batchResult is the answer for one operation of a batch.
type batchResult struct {
	Index  int    `json:"index"`
	Status int    `json:"status"`
	ID     string `json:"id,omitempty"`
}

// recordBatch stores the outcome of a batch carrying the creates [from, to)
// and returns how many were accepted and not.
func (s *streamLedger) recordBatch(from, to int, a *answer) outcome {
	n := to - from
	whole := classify(a)
	var ba batchAnswer
	if whole == opAcked || (a.err == nil && a.status == http.StatusBadRequest) {
		// A 400 with results means every item was rejected one by one.
		if json.Unmarshal(a.body, &ba) != nil || len(ba.Results) != n {
			ba.Results = nil
			if whole == opAcked {
				whole = opAmbiguous // a 202 we cannot read
			}
		}
	}
	if ba.Results == nil {
		for i := from; i < to; i++ {
			s.recordCreate(i, a, whole, "")
		}
		if whole == opAcked {
			return outcome{ok: n}
		}
		return outcome{failed: n}
	}
	var o outcome
	for _, r := range ba.Results {
		if r.Index < 0 || r.Index >= n {
			continue
		}
		st := opRejected
		if r.Status == http.StatusAccepted {
			st = opAcked
			o.ok++
		} else {
			o.failed++
		}
		s.recordCreate(from+r.Index, a, st, r.ID)
	}
	return o
}

// acked returns the indexes of the events whose create was acknowledged.
func (s *streamLedger) acked() []int {
	var out []int
	for i := range s.events {
		if s.events[i].create == opAcked {
			out = append(out, i)
		}
	}
	return out
}

// pick returns up to n of xs in a random order drawn from rng (xs is left
// untouched).
func pick(rng *rand.Rand, xs []int, n int) []int {
	out := append([]int(nil), xs...)
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(n, len(out))]
}

// bounds says whether event i counts towards a total whose events satisfy
// pred: at least lo (it must) and at most hi (it may). An ambiguous
// operation makes lo and hi differ.
func (s *streamLedger) bounds(runID string, i int, pred func(spec) bool) (lo, hi int) {
	rec := &s.events[i]
	if rec.create != opAcked && rec.create != opAmbiguous {
		return 0, 0
	}
	mayVisible := rec.del != opAcked
	mustVisible := rec.create == opAcked && (rec.del == opNone || rec.del == opRejected)
	orig := s.spec(runID, i)
	// must: pred holds whatever state the event is in; may: in one of them.
	var must, may bool
	switch rec.update {
	case opAcked:
		must = pred(orig.updated(i))
		may = must
	case opAmbiguous:
		a, b := pred(orig), pred(orig.updated(i))
		must, may = a && b, a || b
	default:
		must = pred(orig)
		may = must
	}
	if mustVisible && must {
		lo = 1
	}
	if mayVisible && may {
		hi = 1
	}
	return lo, hi
}

// expected returns the bounds of the number of visible events of s, among
// the indexes idx (all when nil), that satisfy pred.
func (s *streamLedger) expected(runID string, idx []int, pred func(spec) bool) (lo, hi int) {
	add := func(i int) {
		l, h := s.bounds(runID, i, pred)
		lo, hi = lo+l, hi+h
	}
	if idx == nil {
		for i := range s.events {
			add(i)
		}
		return lo, hi
	}
	for _, i := range idx {
		add(i)
	}
	return lo, hi
}

// conversationIndexes returns the indexes of the events of conversation c.
func (s *streamLedger) conversationIndexes(c int) []int {
	var out []int
	for i := c; i < s.count; i += s.convs {
		out = append(out, i)
	}
	return out
}

func anySpec(spec) bool { return true }
