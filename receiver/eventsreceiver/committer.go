package eventsreceiver // import "github.com/otelcol-events/otelcol-events/receiver/eventsreceiver"

import (
	"context"
	"fmt"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
	"github.com/otelcol-events/otelcol-events/internal/groupcommit"
)

// errShuttingDown answers requests that arrive while the receiver stops.
var errShuttingDown = groupcommit.ErrShutdown

// committer hands operations to the next consumer. With group commit, the
// operations of concurrent requests go together in one call (each request
// still answered only with that call's outcome): one persistent-queue write
// with one fsync, one set of Kafka messages, for many requests.
type committer struct {
	next    consumer.Logs
	obsrecv *receiverhelper.ObsReport
	buckets int
	// maxResourceBytes bounds the records of one resource (one Kafka
	// message): event.LogsBuilder.
	maxResourceBytes int
	timeout          time.Duration
	group            *groupcommit.Committer[[]*event.Operation]
}

// newCommitter returns a committer that groups requests as gc says (see
// groupcommit.New; gc.Workers == 0 disables grouping), bounds each pipeline
// call and each request's wait for one by timeout (0: no bound), and
// spreads records over buckets message keys, in resources of at most
// maxResourceBytes (event.LogsBuilder).
func newCommitter(next consumer.Logs, obsrecv *receiverhelper.ObsReport, gc GroupCommitConfig, buckets, maxResourceBytes int, timeout time.Duration) *committer {
	c := &committer{next: next, obsrecv: obsrecv, buckets: buckets, maxResourceBytes: maxResourceBytes, timeout: timeout}
	if gc.Workers > 0 {
		// The requests' contexts differ; the pipeline call outlives none of
		// them on purpose (their answers wait for it).
		c.group = groupcommit.New(gc.Workers, gc.MaxSize, gc.MinInterval, func(ops []*event.Operation) int { return len(ops) },
			func(groups [][]*event.Operation, size int) error {
				ctx, cancel := c.bound(context.Background())
				defer cancel()
				return c.consume(ctx, groups, size)
			})
	}
	return c
}

// bound applies the timeout to ctx.
func (c *committer) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// commit hands ops to the pipeline and returns its outcome. With a timeout,
// a request that waited that long for a call withdraws its operations
// (groupcommit.Commit), and a call that took that long ends with
// context.DeadlineExceeded: a persistent queue that is still full then has
// not stored them.
func (c *committer) commit(ctx context.Context, ops []*event.Operation) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	if c.timeout <= 0 {
		return c.commitNow(ctx, ops)
	}
	// Where the pipeline honours the context (a persistent queue), the wait
	// for a call and the call each end within the timeout, and the answer is
	// the call's outcome. An exporter queue with wait_for_result waits for
	// the outcome of an attempt a consumer has started whatever the context
	// (the kafka exporter's produce to a broker that is down): past twice
	// the timeout the request stops waiting. The call goes on and may still
	// deliver the operations, whose id the refusal names. The hand-off costs
	// about 3 µs per request (a call through a no-op pipeline: 1.5 µs with
	// the timeout before, 4.6 µs now), about 2% of a single event's CPU.
	done := make(chan error, 1)
	go func() { done <- c.commitNow(ctx, ops) }()
	giveUp := time.NewTimer(2 * c.timeout)
	defer giveUp.Stop()
	select {
	case err := <-done:
		return err
	case <-giveUp.C:
		return fmt.Errorf("the pipeline call did not end within twice the pipeline timeout: %w", context.DeadlineExceeded)
	}
}

func (c *committer) commitNow(ctx context.Context, ops []*event.Operation) error {
	if c.group == nil {
		return c.consume(ctx, [][]*event.Operation{ops}, len(ops))
	}
	// A request arriving while no other waits and a worker is free makes
	// its call itself: the hand-off to the worker and back would double its
	// share of scheduling.
	return c.group.CommitInline(ctx, ops)
}

// consume makes one pipeline call of every operation in groups.
func (c *committer) consume(ctx context.Context, groups [][]*event.Operation, size int) error {
	b := event.NewLogsBuilder(c.buckets, c.maxResourceBytes)
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
	if c.group != nil {
		c.group.Shutdown()
	}
}
