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

	queue    chan *request[T]
	stop     chan struct{}
	stopOnce sync.Once
	// stopped is closed once no worker runs any more.
	stopped chan struct{}
	wg      sync.WaitGroup
}

type request[T any] struct {
	item T
	size int
	done chan error
}

// New returns a committer with workers concurrent calls of fn, each taking
// items until their sizes (sizeOf) reach maxSize; an item larger than
// maxSize goes alone. workers must be positive.
func New[T any](workers, maxSize int, sizeOf func(T) int, fn Func[T]) *Committer[T] {
	c := &Committer[T]{
		fn:      fn,
		sizeOf:  sizeOf,
		maxSize: maxSize,
		queue:   make(chan *request[T], workers*64),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
	}
	for range workers {
		c.wg.Add(1)
		go c.work()
	}
	return c
}

// Commit hands item to a call and returns that call's outcome. A caller
// whose context ends while its item waits gets the context's error, but the
// item may still be taken by a call: like any operation cut off before its
// answer, it may go either way.
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
		return ctx.Err()
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

func (c *Committer[T]) work() {
	defer c.wg.Done()
	// pending is a request taken from the queue that did not fit the
	// previous call.
	var pending *request[T]
	for {
		first := pending
		pending = nil
		if first == nil {
			select {
			case first = <-c.queue:
			case <-c.stop:
				return
			}
		}
		batch := []*request[T]{first}
		size := first.size
	drain:
		for size < c.maxSize {
			select {
			case r := <-c.queue:
				if size+r.size > c.maxSize {
					pending = r
					break drain
				}
				batch = append(batch, r)
				size += r.size
			default:
				break drain
			}
		}
		items := make([]T, len(batch))
		for i, r := range batch {
			items[i] = r.item
		}
		err := c.fn(items, size)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// Shutdown stops the workers once no caller can arrive any more; a call in
// progress completes first, and callers whose items no call took get
// ErrShutdown. It may be called more than once.
func (c *Committer[T]) Shutdown() {
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		close(c.stopped)
	})
}
