package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// lagReading is the storage tier's consumer lag after a phase, read from the
// kafka receiver's own metric (otelcol_kafka_receiver_offset_lag, summed
// over the partitions), and how long it took to reach 0.
type lagReading struct {
	After    string  `json:"after"`
	Lag      float64 `json:"lag"`
	Seconds  float64 `json:"seconds_to_zero"`
	Problem  string  `json:"problem,omitempty"`
	AtZero   bool    `json:"at_zero"`
	Readings int     `json:"readings"`
}

// lagMetric is the kafka receiver's per-partition lag gauge.
const lagMetric = "otelcol_kafka_receiver_offset_lag"

// readLag polls the collector's metrics until the summed lag is 0 or
// timeout passes.
func readLag(ctx context.Context, metricsURL, after string, timeout time.Duration) lagReading {
	r := lagReading{After: after}
	start := time.Now()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		lag, found, err := scrapeLag(ctx, client, metricsURL)
		r.Readings++
		switch {
		case err != nil:
			r.Problem = err.Error()
		case !found:
			r.Problem = "the kafka receiver reports no " + lagMetric
		default:
			r.Problem, r.Lag = "", lag
			if lag == 0 {
				r.AtZero, r.Seconds = true, time.Since(start).Seconds()
				return r
			}
		}
		if time.Since(start) > timeout || ctx.Err() != nil {
			r.Seconds = time.Since(start).Seconds()
			return r
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func scrapeLag(ctx context.Context, client *http.Client, url string) (float64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, false, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	var (
		sum   float64
		found bool
	)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, lagMetric+"{") {
			continue
		}
		fields := strings.Fields(line[strings.LastIndexByte(line, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric line %q: %w", line, err)
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

func (l lagReading) String() string {
	switch {
	case l.AtZero:
		return fmt.Sprintf("after %s: 0 (%.1fs after the phase)", l.After, l.Seconds)
	case l.Problem != "":
		return fmt.Sprintf("after %s: unknown (%s)", l.After, l.Problem)
	default:
		return fmt.Sprintf("after %s: %.0f records still %.0fs after the phase", l.After, l.Lag, l.Seconds)
	}
}
