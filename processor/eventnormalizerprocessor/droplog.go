package eventnormalizerprocessor // import "github.com/otelcol-events/otelcol-events/processor/eventnormalizerprocessor"

import (
	"sync"
	"time"

	"go.uber.org/zap"
)

// dropLogInterval is the shortest time between two Warn lines about drops.
const dropLogInterval = 10 * time.Second

// dropLog turns the drop counts of many batches into at most one Warn line
// per interval: a stream of bad records cannot flood the log, and the
// counters keep the exact totals.
type dropLog struct {
	logger   *zap.Logger
	message  string
	interval time.Duration

	mu      sync.Mutex
	last    time.Time
	pending map[string]int
	example error
}

func newDropLog(logger *zap.Logger, message string) *dropLog {
	return &dropLog{logger: logger, message: message, interval: dropLogInterval, pending: map[string]int{}}
}

// add records the drops of one batch and writes them, with what is pending
// from earlier batches, when the last line is older than the interval.
func (d *dropLog) add(now time.Time, counts map[string]int, example error) {
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

// flush writes what is pending (at shutdown).
func (d *dropLog) flush() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writeLocked()
}

func (d *dropLog) writeLocked() {
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
