package event // import "github.com/otelcol-events/otelcol-events/internal/event"

import (
	"sync/atomic"
	"time"
)

// Clock hands out operation versions: nanoseconds since the Unix epoch,
// strictly increasing within the process even when the wall clock stalls or
// steps back (a hybrid logical clock without the remote part).
type Clock struct {
	last atomic.Uint64
	now  func() time.Time
}

// NewClock returns a clock reading the system time.
func NewClock() *Clock { return &Clock{now: time.Now} }

// Next returns a version greater than every version returned before.
func (c *Clock) Next() uint64 {
	wall := uint64(c.now().UnixNano())
	for {
		last := c.last.Load()
		next := max(wall, last+1)
		if c.last.CompareAndSwap(last, next) {
			return next
		}
	}
}
