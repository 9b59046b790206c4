package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// report is everything a run measured; -json prints it as is.
type report struct {
	RunID        string            `json:"run_id"`
	Started      time.Time         `json:"started"`
	Command      string            `json:"command"`
	BaseURL      string            `json:"base_url"`
	Topology     string            `json:"topology"`
	Quick        bool              `json:"quick"`
	Machine      machine           `json:"machine"`
	Settings     settings          `json:"settings"`
	Ceilings     []phaseResult     `json:"ceilings"`
	NotMeasured  []string          `json:"not_measured,omitempty"`
	Phases       []phaseResult     `json:"phases"`
	Freshness    *freshnessResult  `json:"freshness,omitempty"`
	ConsumerLag  []lagReading      `json:"consumer_lag,omitempty"`
	Queries      []phaseResult     `json:"queries,omitempty"`
	Collector    *collectorStats   `json:"collector,omitempty"`
	Verification *verification     `json:"verification,omitempty"`
	Targets      []target          `json:"targets"`
	Failures     []string          `json:"failures,omitempty"`
	Extra        map[string]string `json:"extra,omitempty"`
}

type machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	OS        string `json:"os"`
}

type settings struct {
	Concurrency   int     `json:"concurrency"`
	Inserts       int     `json:"inserts"`
	Updates       int     `json:"updates"`
	Deletes       int     `json:"deletes"`
	BatchEvents   int     `json:"batch_events"`
	BatchSize     int     `json:"batch_size"`
	FreshRate     float64 `json:"fresh_rate"`
	FreshSeconds  float64 `json:"fresh_seconds"`
	QueryCount    int     `json:"query_count"`
	VerifySample  int     `json:"verify_sample"`
	ClickHouse    string  `json:"clickhouse,omitempty"`
	Database      string  `json:"database,omitempty"`
	Kafka         string  `json:"kafka,omitempty"`
	StartedByTool bool    `json:"collector_started_by_tool"`
}

// phaseResult is one measured phase (or ceiling, or query).
type phaseResult struct {
	Name       string          `json:"name"`
	Requests   int             `json:"requests"`
	Events     int             `json:"events"` // accepted events (rows for ceiling a, messages for c)
	Failed     int             `json:"failed"`
	Errors     map[string]int  `json:"errors,omitempty"` // failed calls by HTTP status ("transport" without one)
	FirstError string          `json:"first_error,omitempty"`
	Seconds    float64         `json:"seconds"`
	Throughput float64         `json:"events_per_sec"`
	Latency    *latencySummary `json:"latency_ms,omitempty"`
	Ratios     []ratio         `json:"ratios,omitempty"`
	Note       string          `json:"note,omitempty"`
}

// ratio is a phase's throughput as a fraction of a ceiling's.
type ratio struct {
	Ceiling string  `json:"ceiling"`
	Value   float64 `json:"value"`
}

type freshnessResult struct {
	TargetRate   float64         `json:"target_rate"`
	AchievedRate float64         `json:"achieved_rate"`
	Seconds      float64         `json:"seconds"`
	BatchSize    int             `json:"events_per_request"`
	Sent         int             `json:"sent"`
	Acked        int             `json:"acked"`
	Failed       int             `json:"failed"`
	Errors       map[string]int  `json:"errors,omitempty"`
	FirstError   string          `json:"first_error,omitempty"`
	Samples      int             `json:"samples"`
	NeverVisible int             `json:"never_visible"`
	PollMs       float64         `json:"poll_interval_ms"`
	Visible      *latencySummary `json:"ack_to_visible_ms,omitempty"`
}

type collectorStats struct {
	PID           int       `json:"pid"`
	StartedByTool bool      `json:"started_by_tool"`
	PeakRSSMB     float64   `json:"peak_rss_mb"`  // highest VmRSS sampled during the run
	HWMMB         float64   `json:"vm_hwm_mb"`    // the kernel's peak resident set (VmHWM)
	PeakAnonMB    float64   `json:"peak_anon_mb"` // RssAnon of the sample with the highest VmRSS
	PeakFileMB    float64   `json:"peak_file_mb"` // RssFile of that sample
	EndRSSMB      float64   `json:"end_rss_mb"`
	Parts         []partRSS `json:"parts,omitempty"` // peak VmRSS sampled in each part of the run
	Note          string    `json:"note,omitempty"`
}

// target is one line of the targets: a ratio or bound with its
// measured value. Only verification decides the exit code: ratios are noisy
// on a shared machine.
type target struct {
	Name   string `json:"name"`
	Status string `json:"status"` // PASS, MISS or N/A
	Got    string `json:"got"`
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("encode the JSON report: %w", err)
	}
	return nil
}

// writeText renders the report for a human.
func (r *report) writeText(w io.Writer) {
	s := r.Settings
	fmt.Fprintf(w, "\notelcol-events benchmark  run %s  %s  %d CPUs  topology %s\n", r.RunID, r.Started.Format(time.RFC3339), r.Machine.CPUs, r.Topology)
	fmt.Fprintf(w, "target %s  concurrency %d  inserts %d  updates %d  deletes %d  batch %d events x %d  freshness %.0f/s for %.0fs\n",
		r.BaseURL, s.Concurrency, s.Inserts, s.Updates, s.Deletes, s.BatchEvents, s.BatchSize, s.FreshRate, s.FreshSeconds)
	fmt.Fprintf(w, "command: %s\n", r.Command)

	if len(r.Ceilings) > 0 || len(r.NotMeasured) > 0 {
		fmt.Fprintln(w, "\nCEILINGS (same machine, same run)")
		writePhases(w, r.Ceilings)
		for _, n := range r.NotMeasured {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	if len(r.Phases) > 0 {
		fmt.Fprintln(w, "\nPHASES")
		writePhases(w, r.Phases)
	}
	if f := r.Freshness; f != nil {
		fmt.Fprintln(w, "\nFRESHNESS (202 -> visible through GET /event/{id})")
		fmt.Fprintf(w, "  rate %.0f/s target, %.0f/s achieved over %.1fs (%d events per request); %d sent, %d acked, %d failed%s\n",
			f.TargetRate, f.AchievedRate, f.Seconds, f.BatchSize, f.Sent, f.Acked, f.Failed, errorSuffix(f.Errors, f.FirstError))
		fmt.Fprintf(w, "  %d samples polled every %.0f ms: %s; never visible: %d\n", f.Samples, f.PollMs, latencyText(f.Visible), f.NeverVisible)
	}
	if len(r.ConsumerLag) > 0 {
		fmt.Fprintf(w, "\nCONSUMER LAG (the kafka receiver's %s, all partitions)\n", lagMetric)
		for _, l := range r.ConsumerLag {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	if len(r.Queries) > 0 {
		fmt.Fprintln(w, "\nQUERIES")
		writePhases(w, r.Queries)
	}
	if c := r.Collector; c != nil {
		fmt.Fprintln(w, "\nCOLLECTOR")
		if c.Note != "" {
			fmt.Fprintf(w, "  %s\n", c.Note)
		} else {
			fmt.Fprintf(w, "  pid %d: peak RSS %.0f MB (VmHWM %.0f MB), %.0f MB at the end\n", c.PID, c.PeakRSSMB, c.HWMMB, c.EndRSSMB)
			fmt.Fprintf(w, "  at the peak: %.0f MB anonymous (heaps), %.0f MB file-backed (mapped code and files)\n", c.PeakAnonMB, c.PeakFileMB)
			if len(c.Parts) > 0 {
				parts := make([]string, len(c.Parts))
				for i, p := range c.Parts {
					parts[i] = fmt.Sprintf("%s %.0f (%.0f+%.0f)", p.Name, p.PeakMB, p.AnonMB, p.FileMB)
				}
				fmt.Fprintf(w, "  peak RSS (MB) by part of the run, (anonymous+file-backed): %s\n", strings.Join(parts, ", "))
			}
		}
	}
	if v := r.Verification; v != nil {
		fmt.Fprintf(w, "\nVERIFICATION %s after %.1fs: %s\n", passText(v.Passed), v.Seconds, v.Summary)
		for _, c := range v.Checks {
			fmt.Fprintf(w, "  %s %-28s %s\n", passText(c.Passed), c.Name, c.Detail)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\nTARGETS (ratios are informative; only verification sets the exit code)")
		for _, t := range r.Targets {
			fmt.Fprintf(w, "  %-4s %s: %s\n", t.Status, t.Name, t.Got)
		}
	}
	if len(r.Failures) > 0 {
		fmt.Fprintln(w, "\nFAILURES")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %s\n", f)
		}
	}
	fmt.Fprintln(w)
}

func writePhases(w io.Writer, phases []phaseResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "  phase\tevents\tseconds\tevents/s\tp50 ms\tp95 ms\tp99 ms\tfailed\t")
	for _, p := range phases {
		lat := "-\t-\t-"
		if l := p.Latency; l != nil {
			lat = fmt.Sprintf("%.1f\t%.1f\t%.1f", l.P50, l.P95, l.P99)
		}
		fmt.Fprintf(tw, "  %s\t%d\t%.2f\t%.0f\t%s\t%d\t\n", p.Name, p.Events, p.Seconds, p.Throughput, lat, p.Failed)
	}
	tw.Flush()
	for _, p := range phases {
		var notes []string
		for _, rt := range p.Ratios {
			notes = append(notes, fmt.Sprintf("%s of %s", percentText(rt.Value), rt.Ceiling))
		}
		if len(p.Errors) > 0 {
			notes = append(notes, "errors "+errorsText(p.Errors))
		}
		if p.FirstError != "" {
			notes = append(notes, "first error: "+p.FirstError)
		}
		if p.Note != "" {
			notes = append(notes, p.Note)
		}
		if len(notes) > 0 {
			fmt.Fprintf(w, "    %s: %s\n", p.Name, strings.Join(notes, "; "))
		}
	}
}

func percentText(v float64) string { return fmt.Sprintf("%.0f%%", 100*v) }

func passText(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// errorsText lists error counts by key in a stable order.
func errorsText(errs map[string]int) string {
	parts := make([]string, 0, len(errs))
	for _, k := range slices.Sorted(maps.Keys(errs)) {
		parts = append(parts, fmt.Sprintf("%s x%d", k, errs[k]))
	}
	return strings.Join(parts, ", ")
}

func errorSuffix(errs map[string]int, first string) string {
	if len(errs) == 0 {
		return ""
	}
	s := " (" + errorsText(errs)
	if first != "" {
		s += "; first: " + first
	}
	return s + ")"
}

func latencyText(l *latencySummary) string {
	if l == nil {
		return "no sample"
	}
	return fmt.Sprintf("p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms", l.P50, l.P95, l.P99, l.Max)
}

// withRatio sets the ratio of p's throughput to a ceiling when both are
// measured.
func withRatio(p *phaseResult, ceilings []phaseResult, name string) {
	for _, c := range ceilings {
		if c.Name == name && c.Throughput > 0 {
			p.Ratios = append(p.Ratios, ratio{Ceiling: name, Value: p.Throughput / c.Throughput})
		}
	}
}

func findPhase(phases []phaseResult, name string) *phaseResult {
	for i := range phases {
		if phases[i].Name == name {
			return &phases[i]
		}
	}
	return nil
}

// ratioTarget renders "phase >= min of ceiling" from the measured ratio.
func ratioTarget(name string, p *phaseResult, ceiling string, minRatio float64) target {
	t := target{Name: name, Status: "N/A", Got: "not measured"}
	if p == nil {
		return t
	}
	for _, rt := range p.Ratios {
		if rt.Ceiling == ceiling {
			t.Got = fmt.Sprintf("%s (%.0f vs %.0f events/s)", percentText(rt.Value), p.Throughput, p.Throughput/rt.Value)
			t.Status = statusOf(rt.Value >= minRatio)
		}
	}
	return t
}

func statusOf(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// targets evaluates the targets against what the run measured.
func (r *report) targets(freshRateGoal, freshP99Goal float64, rssGoalMB float64) []target {
	var ts []target
	minInsert, topo := 0.70, "single-node"
	if r.Topology == "kafka" {
		minInsert, topo = 0.50, "Kafka topology"
	}
	ts = append(ts, ratioTarget(fmt.Sprintf("single-event POST throughput >= %.0f%% of ceiling (b) [%s]", 100*minInsert, topo),
		findPhase(r.Phases, "insert"), ceilingHTTP, minInsert))
	batch := ratioTarget("batch ingest end to end >= 50% of ceiling (a)", findPhase(r.Phases, "batch.e2e"), ceilingClickHouse, 0.50)
	if a, bare := findPhase(r.Ceilings, ceilingClickHouse), findPhase(r.Ceilings, ceilingHTTPBatch); a != nil && bare != nil && a.Throughput > 0 {
		// What the machine allows: the same batches answered by a server
		// that only decodes them.
		batch.Got += fmt.Sprintf("; the bare server answered the same batches at %s of (a)", percentText(bare.Throughput/a.Throughput))
	}
	ts = append(ts, batch)

	fresh := target{Name: fmt.Sprintf("freshness p99 <= %.0f s at %.0f events/s", freshP99Goal/1000, freshRateGoal), Status: "N/A", Got: "not measured"}
	if f := r.Freshness; f != nil && f.Visible == nil && f.Samples > 0 {
		fresh.Status, fresh.Got = "MISS", fmt.Sprintf("none of the %d sampled events became visible within %s", f.Samples, freshGiveUp)
	}
	if f := r.Freshness; f != nil && f.Visible != nil {
		fresh.Got = fmt.Sprintf("p99 %.0f ms at %.0f events/s achieved (%.0f/s asked), %d never visible", f.Visible.P99, f.AchievedRate, f.TargetRate, f.NeverVisible)
		switch {
		case f.TargetRate < freshRateGoal:
			fresh.Got += fmt.Sprintf(" - the target is at %.0f/s (-fresh-rate)", freshRateGoal)
		case f.AchievedRate < 0.95*freshRateGoal:
			fresh.Status, fresh.Got = "MISS", fresh.Got+" - the rate was not reached"
		default:
			fresh.Status = statusOf(f.Visible.P99 <= freshP99Goal && f.NeverVisible == 0)
		}
	}
	ts = append(ts, fresh)

	rss := target{Name: fmt.Sprintf("collector RSS <= %.0f MB during the run", rssGoalMB), Status: "N/A", Got: "not measured (start the collector with -collector or give -collector-pid)"}
	if c := r.Collector; c != nil && c.Note == "" {
		peak := max(c.HWMMB, c.PeakRSSMB)
		rss.Got, rss.Status = fmt.Sprintf("%.0f MB (VmHWM)", peak), statusOf(peak <= rssGoalMB)
	}
	ts = append(ts, rss)

	lost := target{Name: "zero lost or duplicated events", Status: "N/A", Got: "not verified"}
	if v := r.Verification; v != nil {
		lost.Status, lost.Got = statusOf(v.Passed), v.Summary
	}
	return append(ts, lost)
}
