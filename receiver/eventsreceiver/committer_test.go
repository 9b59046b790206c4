package eventsreceiver

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/receiver/receiverhelper"

	"github.com/otelcol-events/otelcol-events/internal/event"
)

// slowSink records each call and holds it for a while, so that requests pile
// up behind a busy worker.
type slowSink struct {
	mu    sync.Mutex
	calls []int
	delay time.Duration
	err   error
}

func (s *slowSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *slowSink) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, ld.LogRecordCount())
	return s.err
}

func newTestCommitter(t *testing.T, next consumer.Logs, workers, maxSize int, timeout time.Duration) *committer {
	t.Helper()
	obs, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: componentID(), Transport: "http", ReceiverCreateSettings: receiverSettings(),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := newCommitter(next, obs, GroupCommitConfig{Workers: workers, MaxSize: maxSize}, event.DefaultPartitionBuckets, event.DefaultMaxResourceBytes, timeout)
	t.Cleanup(c.shutdown)
	return c
}

func deleteOps(prefix string, n int) []*event.Operation {
	ops := make([]*event.Operation, n)
	for i := range ops {
		ops[i] = &event.Operation{Op: event.OpDelete, ID: fmt.Sprintf("%s-%d", prefix, i), Version: uint64(i + 1)}
	}
	return ops
}

func TestGroupCommitGroupsConcurrentRequests(t *testing.T) {
	t.Parallel()
	sink := &slowSink{delay: 20 * time.Millisecond}
	c := newTestCommitter(t, sink, 1, 1000, 0)
	const requests = 50
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.commit(context.Background(), deleteOps(fmt.Sprint(i), 2)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	total := 0
	for _, n := range sink.calls {
		total += n
	}
	if total != 2*requests {
		t.Fatalf("%d operations reached the pipeline, want %d", total, 2*requests)
	}
	if len(sink.calls) >= requests {
		t.Fatalf("%d pipeline calls for %d concurrent requests: nothing was grouped", len(sink.calls), requests)
	}
}

func TestGroupCommitAfterShutdown(t *testing.T) {
	t.Parallel()
	c := newTestCommitter(t, consumertest.NewNop(), 1, 10, 0)
	c.shutdown()
	if err := c.commit(context.Background(), deleteOps("x", 1)); !errors.Is(err, errShuttingDown) {
		t.Fatalf("err = %v", err)
	}
}

// stuckSink is a pipeline that cannot take anything, as a full persistent
// queue with block_on_overflow: each call waits until its context ends.
type stuckSink struct{ calls atomic.Int32 }

func (s *stuckSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *stuckSink) ConsumeLogs(ctx context.Context, _ plog.Logs) error {
	s.calls.Add(1)
	<-ctx.Done()
	return ctx.Err()
}

// deafSink is a pipeline call that does not end with its context, as an
// exporter queue with wait_for_result waiting for an attempt a consumer has
// started; it ends when released.
type deafSink struct{ release chan struct{} }

func (s *deafSink) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func (s *deafSink) ConsumeLogs(context.Context, plog.Logs) error {
	<-s.release
	return nil
}

// TestPipelineTimeoutWithoutTheCall: a request whose pipeline call does not
// end with its context still returns at the timeout.
func TestPipelineTimeoutWithoutTheCall(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{0, 1} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			t.Parallel()
			sink := &deafSink{release: make(chan struct{})}
			defer close(sink.release) // the calls end before goleak looks
			c := newTestCommitter(t, sink, workers, 1, 50*time.Millisecond)
			errc := make(chan error, 1)
			go func() { errc <- c.commit(context.Background(), deleteOps("x", 1)) }()
			select {
			case err := <-errc:
				if !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("err = %v, want the pipeline timeout", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the request waited for a call that does not end")
			}
		})
	}
}

// TestPipelineTimeout: with a timeout, requests behind a stuck pipeline
// end with context.DeadlineExceeded within about two timeouts (a wait for
// a call, then the call), grouped or not.
func TestPipelineTimeout(t *testing.T) {
	t.Parallel()
	for _, workers := range []int{0, 1} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			t.Parallel()
			sink := &stuckSink{}
			const timeout = 50 * time.Millisecond
			c := newTestCommitter(t, sink, workers, 1, timeout)
			const requests = 5
			errs := make(chan error, requests)
			start := time.Now()
			for i := range requests {
				go func() { errs <- c.commit(context.Background(), deleteOps(fmt.Sprint(i), 1)) }()
			}
			for range requests {
				select {
				case err := <-errs:
					if !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("err = %v, want the pipeline timeout", err)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("a request behind a stuck pipeline did not return")
				}
			}
			if elapsed := time.Since(start); elapsed < timeout {
				t.Errorf("requests returned after %s, before the timeout", elapsed)
			}
			if n := sink.calls.Load(); n == 0 {
				t.Error("no pipeline call was made")
			}
		})
	}
}
