// Package groupcommit hands the work of concurrent callers to one function
// together: while a call runs, the callers that arrive wait, and the next
// call takes all of them. Each caller gets the outcome of the call that
// carried its work. A lone caller is not delayed; a burst is grouped in
// proportion to its size.
package groupcommit // import "github.com/otelcol-events/otelcol-events/internal/groupcommit"

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrShutdown answers callers that arrive while the committer stops, and
// callers whose work no call took before it stopped.
var ErrShutdown = errors.New("shutting down")

// Func does one call for the items of several callers, of total size size.
type Func[T any] func(items []T, size int) error

// Committer groups the items of concurrent Commit calls.
type Committer[T any] struct {
	fn      Func[T]
	sizeOf  func(T) int
	maxSize int
	// interval is the least time between the starts of two calls of one
	// worker.
	interval time.Duration

	queue chan *request[T]
	// slots holds a token per call in progress, at most workers: a worker
	// takes one for each call, and so does a CommitInline caller making its
	// call itself.
	slots    chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	// stopped is closed once no call runs any more and none can start.
	stopped chan struct{}
	wg      sync.WaitGroup
}

type request[T any] struct {
	item T
	size int
	// state is requestWaiting until a worker takes the request for a call
	// or its caller withdraws it, whichever comes first.
	state atomic.Int32
	done  chan error
}

const (
	requestWaiting int32 = iota
	requestTaken
	requestWithdrawn
)

// take claims r for a call; false means its caller withdrew it.
func (r *request[T]) take() bool { return r.state.CompareAndSwap(requestWaiting, requestTaken) }

// New returns a committer with workers concurrent calls of fn, each taking
// items until their sizes (sizeOf) reach maxSize; an item larger than
// maxSize goes alone. workers must be positive. A worker starts a call no
// sooner than interval after the start of its previous one, taking the items
// that arrive meanwhile: under load each worker makes at most one call per
// interval, each as large as the load makes it, while an item arriving
// after a quiet interval goes at once. With interval 0 a call takes only
// the items already waiting.
func New[T any](workers, maxSize int, interval time.Duration, sizeOf func(T) int, fn Func[T]) *Committer[T] {
	c := &Committer[T]{
		fn:       fn,
		sizeOf:   sizeOf,
		maxSize:  maxSize,
		interval: interval,
		queue:    make(chan *request[T], workers*64),
		slots:    make(chan struct{}, workers),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	for range workers {
		c.wg.Add(1)
		go c.work()
	}
	return c
}

// Commit hands item to a call and returns that call's outcome. A caller
// whose context ends while its item waits for a call withdraws it and gets
// the context's error: no call takes the item afterwards. Once a call has
// taken the item, the caller waits for that call's outcome whatever its
// context, so an error always means the item did not go or its call failed.
func (c *Committer[T]) Commit(ctx context.Context, item T) error {
	req := &request[T]{item: item, size: c.sizeOf(item), done: make(chan error, 1)}
	select {
	case c.queue <- req:
	case <-c.stop:
		return ErrShutdown
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		if req.state.CompareAndSwap(requestWaiting, requestWithdrawn) {
			return ctx.Err()
		}
		// A call has the item: a worker answers every request it took.
		return <-req.done
	case <-c.stopped:
		// A request taken just before the workers stopped keeps its answer;
		// one that no worker took was never handed over.
		select {
		case err := <-req.done:
			return err
		default:
			return ErrShutdown
		}
	}
}

// CommitInline is Commit for a caller that may make the call itself: when
// the committer has no interval, no item waits for a worker and a call slot
// is free, item goes alone in a call on the caller's goroutine, as a free
// worker would have sent it, without the hand-off to the worker and back.
// Such a call is not cut short by ctx: the caller gets its outcome. Otherwise
// CommitInline is Commit.
func (c *Committer[T]) CommitInline(ctx context.Context, item T) error {
	if c.interval == 0 && len(c.queue) == 0 {
		select {
		case c.slots <- struct{}{}:
			return c.callInline(ctx, item)
		default:
		}
	}
	return c.Commit(ctx, item)
}

// callInline makes the call of a CommitInline caller holding a slot.
func (c *Committer[T]) callInline(ctx context.Context, item T) error {
	defer func() { <-c.slots }()
	select {
	case <-c.stop:
		return ErrShutdown
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.fn([]T{item}, c.sizeOf(item))
}

func (c *Committer[T]) work() {
	defer c.wg.Done()
	// pending is a request taken from the queue that did not fit the
	// previous call.
	var (
		pending   *request[T]
		lastStart time.Time
	)
	for {
		first := pending
		for first == nil {
			select {
			case r := <-c.queue:
				if r.take() {
					first = r
				}
			case <-c.stop:
				return
			}
		}
		var (
			batch []*request[T]
			size  int
		)
		c.slots <- struct{}{}
		batch, size, pending = c.collect(first, lastStart.Add(c.interval))
		lastStart = time.Now()
		items := make([]T, len(batch))
		for i, r := range batch {
			items[i] = r.item
		}
		err := c.fn(items, size)
		<-c.slots
		for _, r := range batch {
			r.done <- err
		}
	}
}

// collect takes the requests of one call after first: those waiting, and
// those arriving until notBefore, up to maxSize. It returns a request that
// did not fit, for the next call.
func (c *Committer[T]) collect(first *request[T], notBefore time.Time) (batch []*request[T], size int, next *request[T]) {
	batch, size = []*request[T]{first}, first.size
	var expired <-chan time.Time // nil when notBefore has passed: never ready
	if wait := time.Until(notBefore); wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		expired = timer.C
	}
	for size < c.maxSize {
		var r *request[T]
		select {
		case r = <-c.queue:
		default:
			if expired == nil {
				return batch, size, nil
			}
			select {
			case r = <-c.queue:
			case <-expired:
				return batch, size, nil
			case <-c.stop:
				return batch, size, nil
			}
		}
		if !r.take() {
			continue // withdrawn by its caller
		}
		if size+r.size > c.maxSize {
			return batch, size, r
		}
		batch = append(batch, r)
		size += r.size
	}
	return batch, size, nil
}

// Shutdown stops the workers once no caller can arrive any more; a call in
// progress (a worker's or a CommitInline caller's) completes first, and
// callers whose items no call took get ErrShutdown. It may be called more
// than once.
func (c *Committer[T]) Shutdown() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		// The slots stay taken: calls that callers make themselves end
		// first, and no other starts.
		for range cap(c.slots) {
			c.slots <- struct{}{}
		}
		close(c.stopped)
	})
}
