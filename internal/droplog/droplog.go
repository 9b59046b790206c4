// Package droplog writes the drop counts of many batches as at most one Warn
// line per interval, for the components that drop what cannot become an
// event.
package droplog // import "github.com/otelcol-events/otelcol-events/internal/droplog"

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// Interval is the shortest time between two Warn lines about drops.
const Interval = 10 * time.Second

// Log turns the drop counts of many batches into at most one Warn line
// per interval: a stream of bad records cannot flood the log, and the
// counters keep the exact totals.
type Log struct {
	logger   *zap.Logger
	message  string
	interval time.Duration

	mu      sync.Mutex
	last    time.Time
	pending map[string]int
	example error
}

// New returns a Log that writes message with the counts.
func New(logger *zap.Logger, message string) *Log {
	return &Log{logger: logger, message: message, interval: Interval, pending: map[string]int{}}
}

// Add records the drops of one batch and writes them, with what is pending
// from earlier batches, when the last line is older than the interval.
func (d *Log) Add(now time.Time, counts map[string]int, example error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for reason, n := range counts {
		d.pending[reason] += n
	}
	if d.example == nil {
		d.example = example
	}
	if !d.last.IsZero() && now.Sub(d.last) < d.interval {
		return
	}
	d.writeLocked()
	d.last = now
}

// Flush writes what is pending (at shutdown).
func (d *Log) Flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writeLocked()
}

func (d *Log) writeLocked() {
	if len(d.pending) == 0 {
		return
	}
	total := 0
	for _, n := range d.pending {
		total += n
	}
	d.logger.Warn(d.message,
		zap.Int("dropped", total),
		zap.Any("reasons", d.pending),
		zap.NamedError("example", d.example))
	d.pending = map[string]int{}
	d.example = nil
}
