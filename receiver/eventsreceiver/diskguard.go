package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// MinFreeSpaceConfig refuses writes while the file system of a directory
// (the persistent queue's, the embedded engine's) has less free space than
// a bound.
//
// Why: the sending queue (exporterhelper's persistent queue over
// file_storage) records in its file that it hands an item to the exporter,
// and when that write fails on a full disk it skips the item: an
// acknowledged write is lost (persistent_queue.go, getNextItem, v0.165.0).
// Refusing new writes while some space is left keeps the room the queue and
// the engine need to drain what they hold.
type MinFreeSpaceConfig struct {
	// Directory is a path on the file system to watch; "" turns the guard
	// off.
	Directory string `mapstructure:"directory"`
	// Bytes is the free space below which writes get 503.
	Bytes uint64 `mapstructure:"bytes"`

	// prevent unkeyed literal initialization
	_ struct{}
}

// diskCheckInterval bounds how often the free space is read: a statfs
// costs about a microsecond, a request far less.
const diskCheckInterval = 100 * time.Millisecond

// diskGuard caches the last reading of the free space: within an interval a
// write costs two atomic loads, and one request at a time reads it again.
type diskGuard struct {
	cfg MinFreeSpaceConfig
	// free reads the free bytes of a directory's file system.
	free func(dir string) (uint64, error)
	now  func() time.Time

	next    atomic.Int64          // Unix ns of the next reading
	refusal atomic.Pointer[error] // why writes are refused; nil or *nil while there is room
	reading sync.Mutex
}

// check returns an error while the free space is below the bound.
func (g *diskGuard) check() error {
	if g == nil {
		return nil
	}
	now := g.now().UnixNano()
	if now < g.next.Load() || !g.reading.TryLock() {
		return g.last()
	}
	defer g.reading.Unlock()
	g.next.Store(now + int64(diskCheckInterval))
	var refusal error
	// A file system that cannot be read is no reason to refuse writes: the
	// queue reports its own failures.
	if free, err := g.free(g.cfg.Directory); err == nil && free < g.cfg.Bytes {
		refusal = fmt.Errorf("%d bytes free on the file system of %s, less than min_free_space (%d)",
			free, g.cfg.Directory, g.cfg.Bytes)
	}
	g.refusal.Store(&refusal)
	return refusal
}

func (g *diskGuard) last() error {
	if p := g.refusal.Load(); p != nil {
		return *p
	}
	return nil
}
