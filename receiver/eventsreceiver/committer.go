package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"context"
	"errors"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// errShuttingDown answers requests that arrive while the receiver stops.
var errShuttingDown = errors.New("the receiver is shutting down")

// committer hands operations to the next consumer. With group commit, the
// operations of concurrent requests go together in one call (each request
// still answered only with that call's outcome): one persistent-queue write
// with one fsync, one set of Kafka messages, for many requests. A worker
// takes whatever is waiting when it becomes free, so a lone request is not
// delayed and a burst is grouped in proportion to its size.
type committer struct {
	next    consumer.Logs
	obsrecv *receiverhelper.ObsReport
	maxSize int

	queue    chan *commitRequest
	stop     chan struct{}
	stopOnce sync.Once
	// stopped is closed once no worker runs any more.
	stopped chan struct{}
	wg      sync.WaitGroup
}

type commitRequest struct {
	ops  []*event.Operation
	done chan error
}

// newCommitter returns a committer with workers concurrent pipeline calls of
// up to maxSize operations; workers == 0 disables grouping.
func newCommitter(next consumer.Logs, obsrecv *receiverhelper.ObsReport, workers, maxSize int) *committer {
	c := &committer{next: next, obsrecv: obsrecv, maxSize: maxSize}
	if workers > 0 {
		c.queue = make(chan *commitRequest, workers*64)
		c.stop = make(chan struct{})
		c.stopped = make(chan struct{})
		for range workers {
			c.wg.Add(1)
			go c.work()
		}
	}
	return c
}

// commit hands ops to the pipeline and returns its outcome. A request whose
// context ends while its operations wait may still be committed: like any
// operation cut off before its answer, it may go either way.
func (c *committer) commit(ctx context.Context, ops []*event.Operation) error {
	if c.queue == nil {
		return c.consume(ctx, [][]*event.Operation{ops}, len(ops))
	}
	req := &commitRequest{ops: ops, done: make(chan error, 1)}
	select {
	case c.queue <- req:
	case <-c.stop:
		return errShuttingDown
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-c.stopped:
		// A request committed just before the workers stopped keeps its
		// answer; one that no worker took was never handed over.
		select {
		case err := <-req.done:
			return err
		default:
			return errShuttingDown
		}
	}
}

func (c *committer) work() {
	defer c.wg.Done()
	for {
		var first *commitRequest
		select {
		case first = <-c.queue:
		case <-c.stop:
			return
		}
		batch := []*commitRequest{first}
		size := len(first.ops)
	drain:
		for size < c.maxSize {
			select {
			case r := <-c.queue:
				batch = append(batch, r)
				size += len(r.ops)
			default:
				break drain
			}
		}
		groups := make([][]*event.Operation, len(batch))
		for i, r := range batch {
			groups[i] = r.ops
		}
		// The requests' contexts differ; the pipeline call outlives none of
		// them on purpose (their answers wait for it).
		err := c.consume(context.Background(), groups, size)
		for _, r := range batch {
			r.done <- err
		}
	}
}

// consume makes one pipeline call of every operation in groups.
func (c *committer) consume(ctx context.Context, groups [][]*event.Operation, size int) error {
	b := event.NewLogsBuilder()
	now := time.Now()
	for _, ops := range groups {
		for _, op := range ops {
			b.Append(op, now)
		}
	}
	ctx = c.obsrecv.StartLogsOp(ctx)
	err := c.next.ConsumeLogs(ctx, b.Logs())
	c.obsrecv.EndLogsOp(ctx, "events", size, err)
	return err
}

// shutdown stops the workers once no request can arrive any more (after the
// HTTP server has stopped); requests no worker took get errShuttingDown. It
// may be called more than once.
func (c *committer) shutdown() {
	if c.queue == nil {
		return
	}
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		close(c.stopped)
	})
}
