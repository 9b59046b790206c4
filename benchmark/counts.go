package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// countCheck compares a total with the ledger's bounds.
func countCheck(what string, got, lo, hi int) checkResult {
	r := checkResult{Passed: got >= lo && got <= hi}
	if got < lo {
		r.Lost = lo - got
	}
	if got > hi {
		r.Extra = got - hi
	}
	r.Detail = fmt.Sprintf("%s: %d, want %s", what, got, rangeText(lo, hi))
	return r
}

// checkErrorCount compares /analytics/errors, summed over the days of the
// run, with the visible events of name that carry an error: every event of
// the stream is counted, not a sample.
func checkErrorCount(ctx context.Context, client *http.Client, base, name string, lo, hi int) checkResult {
	got, err := apiErrorCount(ctx, client, base, name)
	if err != nil {
		return checkResult{Detail: err.Error()}
	}
	return countCheck("visible events with an error", got, lo, hi)
}

// checkNameCount compares the event counts of /analytics/latency with every
// visible event of name.
func checkNameCount(ctx context.Context, client *http.Client, base, name string, lo, hi int) checkResult {
	got, err := apiNameCount(ctx, client, base, name)
	if err != nil {
		return checkResult{Detail: err.Error()}
	}
	return countCheck("visible events", got, lo, hi)
}

// apiErrorCount sums /analytics/errors over the last two days: a run that
// crosses midnight UTC still counts every event.
func apiErrorCount(ctx context.Context, client *http.Client, base, name string) (int, error) {
	var out struct {
		Data []struct {
			Errors int `json:"errors"`
		} `json:"data"`
	}
	a := do(ctx, client, base, request{method: http.MethodGet, path: "/analytics/errors?days=2&event_name=" + url.QueryEscape(name)})
	if err := decodeOK(&a, &out); err != nil {
		return 0, fmt.Errorf("analytics/errors: %w", err)
	}
	n := 0
	for _, d := range out.Data {
		n += d.Errors
	}
	return n, nil
}

// apiNameCount sums the per-conversation counts of /analytics/latency for
// one event name: exact when the name spans at most 1000 conversations.
func apiNameCount(ctx context.Context, client *http.Client, base, name string) (int, error) {
	var out struct {
		Data []struct {
			Count int `json:"count"`
		} `json:"data"`
	}
	a := do(ctx, client, base, request{method: http.MethodGet,
		path: fmt.Sprintf("/analytics/latency?limit=%d&event_name=%s", maxAnalyticsRows, url.QueryEscape(name))})
	if err := decodeOK(&a, &out); err != nil {
		return 0, fmt.Errorf("analytics/latency: %w", err)
	}
	n := 0
	for _, d := range out.Data {
		n += d.Count
	}
	return n, nil
}

func decodeOK(a *answer, out any) error {
	if a.err != nil {
		return a.err
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("status %d: %s", a.status, strings.TrimSpace(string(a.body)))
	}
	return json.Unmarshal(a.body, out)
}

// rowBounds are the expected totals of the run in ClickHouse, as [lo, hi].
type rowBounds struct {
	visible, errors, ids, deleted [2]int
}

func expectedRows(l *ledger) rowBounds {
	var b rowBounds
	add := func(dst *[2]int, lo, hi int) { dst[0], dst[1] = dst[0]+lo, dst[1]+hi }
	for _, s := range l.streams() {
		lo, hi := s.expected(l.runID, nil, anySpec)
		add(&b.visible, lo, hi)
		lo, hi = s.expected(l.runID, nil, func(sp spec) bool { return sp.Error != "" })
		add(&b.errors, lo, hi)
		for i := range s.events {
			rec := &s.events[i]
			add(&b.ids, b2i(rec.create == opAcked), b2i(rec.create == opAcked || rec.create == opAmbiguous))
			add(&b.deleted, b2i(rec.del == opAcked), b2i(rec.del == opAcked || rec.del == opAmbiguous))
		}
	}
	return b
}

// checkClickHouse counts the run's rows in the collector's database: the
// analytics table (sum(sign) is the visible count, one id summing to more
// than 1 is a duplicate) and the state table (one row set per id created,
// the deleted ones flagged).
func checkClickHouse(ctx context.Context, conn driver.Conn, db, runID string, want rowBounds) checkResult {
	prefix := runID + "-%"
	var visible, visibleErrors int64
	err := conn.QueryRow(ctx, "SELECT toInt64(sum(sign)), toInt64(sumIf(sign, is_error = 1)) FROM "+db+
		".events WHERE conversation LIKE ?", prefix).Scan(&visible, &visibleErrors)
	if err != nil {
		return checkResult{Detail: "count events: " + err.Error()}
	}
	var dupIDs, negIDs, oneIDs uint64
	err = conn.QueryRow(ctx, "SELECT countIf(s > 1), countIf(s < 0), countIf(s = 1) FROM (SELECT id, sum(sign) AS s FROM "+db+
		".events WHERE conversation LIKE ? GROUP BY id)", prefix).Scan(&dupIDs, &negIDs, &oneIDs)
	if err != nil {
		return checkResult{Detail: "count events per id: " + err.Error()}
	}
	// A delete that reached storage before its create (records of one
	// partition are in flight together, so operations of an id may be
	// applied in any order) leaves a tombstone without the create's fields:
	// no conversation_id. It is counted with the run's ids, as the
	// collector's database holds this run only.
	var ids, deleted uint64
	err = conn.QueryRow(ctx, "SELECT count(), sum(d) FROM (SELECT id, toUInt64(argMax(deleted, revision)) AS d FROM "+db+
		".event_state WHERE conversation_id LIKE ? OR (deleted = 1 AND conversation_id = '') GROUP BY id)", prefix).Scan(&ids, &deleted)
	if err != nil {
		return checkResult{Detail: "count event_state: " + err.Error()}
	}
	parts := []checkResult{
		countCheck("visible rows (sum(sign))", int(visible), want.visible[0], want.visible[1]),
		countCheck("visible errors", int(visibleErrors), want.errors[0], want.errors[1]),
		countCheck("ids with sum(sign) = 1", int(oneIDs), want.visible[0], want.visible[1]),
		countCheck("ids created (event_state)", int(ids), want.ids[0], want.ids[1]),
		countCheck("ids deleted (event_state)", int(deleted), want.deleted[0], want.deleted[1]),
		countCheck("ids with sum(sign) > 1", int(dupIDs), 0, 0),
		countCheck("ids with sum(sign) < 0", int(negIDs), 0, 0),
	}
	r := checkResult{Passed: true}
	var details []string
	for _, p := range parts {
		r.Passed = r.Passed && p.Passed
		r.Lost, r.Extra = max(r.Lost, p.Lost), max(r.Extra, p.Extra)
		details = append(details, p.Detail)
	}
	r.Detail = strings.Join(details, "; ")
	return r
}
