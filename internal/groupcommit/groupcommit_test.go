package groupcommit

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// slowFunc records the size of each call and holds it for a while, so that
// callers pile up behind a busy worker.
type slowFunc struct {
	mu    sync.Mutex
	calls []int
	delay time.Duration
	err   error
}

func (s *slowFunc) call(items []int, size int) error {
	time.Sleep(s.delay)
	sum := 0
	for _, n := range items {
		sum += n
	}
	if sum != size {
		return errors.New("size does not add up")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, size)
	return s.err
}

func identity(n int) int { return n }

// items returns how many items reached the function, in how many calls.
func (s *slowFunc) items() (items, calls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.calls {
		items += n
	}
	return items, len(s.calls)
}

// commitConcurrently runs callers commits of size at once (commit is a
// Committer's Commit or CommitInline) and returns their errors.
func commitConcurrently(t *testing.T, commit func(context.Context, int) error, callers, size int) []error {
	t.Helper()
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = commit(context.Background(), size)
		}()
	}
	wg.Wait()
	return errs
}

// TestGroupsConcurrentCallers: concurrent callers of either entry point
// share calls (CommitInline groups behind a busy worker like Commit).
func TestGroupsConcurrentCallers(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"Commit", "CommitInline"} {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			f := &slowFunc{delay: 20 * time.Millisecond}
			c := New(1, 1000, 0, identity, f.call)
			defer c.Shutdown()
			commit := c.Commit
			if entry == "CommitInline" {
				commit = c.CommitInline
			}
			const callers = 50
			for i, err := range commitConcurrently(t, commit, callers, 2) {
				if err != nil {
					t.Fatalf("caller %d: %v", i, err)
				}
			}
			total, calls := f.items()
			if total != 2*callers {
				t.Fatalf("%d items reached the function, want %d", total, 2*callers)
			}
			if calls >= callers {
				t.Fatalf("%d calls for %d concurrent callers: nothing was grouped", calls, callers)
			}
		})
	}
}

func TestRespectsMaxSize(t *testing.T) {
	t.Parallel()
	f := &slowFunc{delay: 10 * time.Millisecond}
	c := New(1, 10, 0, identity, f.call)
	defer c.Shutdown()
	commitConcurrently(t, c.Commit, 40, 3)
	// An item larger than the maximum goes alone.
	if err := c.Commit(context.Background(), 25); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.calls {
		if n > 10 && n != 25 {
			t.Fatalf("a call of %d items, the maximum is 10 (calls %v)", n, f.calls)
		}
	}
	if len(f.calls) < 40*3/10 {
		t.Fatalf("%d calls for 120 items of at most 10", len(f.calls))
	}
}

func TestErrorReachesEveryCaller(t *testing.T) {
	t.Parallel()
	refused := errors.New("refused")
	c := New(2, 100, 0, identity, (&slowFunc{delay: 5 * time.Millisecond, err: refused}).call)
	defer c.Shutdown()
	for i, err := range commitConcurrently(t, c.Commit, 20, 1) {
		if !errors.Is(err, refused) {
			t.Fatalf("caller %d: err = %v, want the function's error", i, err)
		}
	}
}

// TestCanceledCallerWithdraws: a caller whose context ends while its item
// waits behind a busy call gets its context's error, and no call takes the
// item afterwards.
func TestCanceledCallerWithdraws(t *testing.T) {
	t.Parallel()
	busy, release := make(chan struct{}, 1), make(chan struct{})
	var mu sync.Mutex
	var got []int
	c := New(1, 10, 0, identity, func(items []int, _ int) error {
		select {
		case busy <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		defer mu.Unlock()
		got = append(got, items...)
		return nil
	})
	defer c.Shutdown()
	first := make(chan error, 1)
	go func() { first <- c.Commit(context.Background(), 1) }()
	<-busy // the worker is in the call of item 1
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Commit(ctx, 2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// A later call proves the worker went past the withdrawn item.
	if err := c.Commit(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []int{1, 3}; !slices.Equal(got, want) {
		t.Fatalf("items called %v, want %v: the withdrawn item must not go", got, want)
	}
}

// TestTakenItemKeepsItsOutcome: once a call has taken the item, the caller
// answers with that call's outcome even if its context ends meanwhile, so
// an error never hides an item that went.
func TestTakenItemKeepsItsOutcome(t *testing.T) {
	t.Parallel()
	for _, outcome := range []error{nil, errors.New("refused")} {
		started, release := make(chan struct{}), make(chan struct{})
		c := New(1, 10, 0, identity, func([]int, int) error {
			close(started)
			<-release
			return outcome
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- c.Commit(ctx, 1) }()
		<-started
		cancel()
		select {
		case err := <-done:
			t.Fatalf("Commit returned %v while its call was running", err)
		case <-time.After(20 * time.Millisecond):
		}
		close(release)
		if err := <-done; err != outcome {
			t.Errorf("err = %v, want the call's outcome %v", err, outcome)
		}
		c.Shutdown()
	}
}

func TestAfterShutdown(t *testing.T) {
	t.Parallel()
	c := New(1, 10, 0, identity, (&slowFunc{}).call)
	c.Shutdown()
	c.Shutdown()
	if err := c.Commit(context.Background(), 1); !errors.Is(err, ErrShutdown) {
		t.Fatalf("err = %v", err)
	}
}

func TestIntervalGroupsCallersArrivingMeanwhile(t *testing.T) {
	t.Parallel()
	f := &slowFunc{}
	const interval = 200 * time.Millisecond
	c := New(1, 1000, interval, identity, f.call)
	defer c.Shutdown()
	start := time.Now()
	// After a quiet time, the first item goes at once.
	if err := c.Commit(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d >= interval {
		t.Fatalf("a lone item waited %s", d)
	}
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * 20 * time.Millisecond) // spread over 80 ms
			if err := c.Commit(context.Background(), 1); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d < interval {
		t.Fatalf("the second call came %s after the first, before the interval", d)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) != 2 || f.calls[1] != 5 {
		t.Fatalf("calls %v: the items arriving within the interval were not grouped", f.calls)
	}
}

func TestIntervalEndsAtMaxSize(t *testing.T) {
	t.Parallel()
	f := &slowFunc{}
	c := New(1, 4, time.Hour, identity, f.call)
	defer c.Shutdown()
	if err := c.Commit(context.Background(), 1); err != nil { // the first call starts the hour
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		commitConcurrently(t, c.Commit, 4, 1)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a full call waited for the interval")
	}
}

func TestCommitInlineKeepsCallsWithinWorkers(t *testing.T) {
	t.Parallel()
	const workers = 2
	var inFlight, most atomic.Int32
	var mu sync.Mutex
	total := 0
	c := New(workers, 1000, 0, identity, func(_ []int, size int) error {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		mu.Lock()
		total += size
		mu.Unlock()
		return nil
	})
	defer c.Shutdown()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				commit := c.CommitInline
				if i%2 == 0 {
					commit = c.Commit
				}
				if err := commit(context.Background(), 1); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if total != 400 || most.Load() > workers {
		t.Fatalf("%d items, up to %d calls at once; want 400 items, at most %d calls", total, most.Load(), workers)
	}
}

func TestShutdownWaitsForInlineCall(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	c := New(1, 10, 0, identity, func([]int, int) error { close(entered); <-release; return nil })
	result := make(chan error, 1)
	go func() { result <- c.CommitInline(context.Background(), 1) }()
	<-entered
	stopped := make(chan struct{})
	go func() { c.Shutdown(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Shutdown returned during a call")
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	<-stopped
	if err := <-result; err != nil {
		t.Fatalf("the call in progress: %v", err)
	}
	if err := c.CommitInline(context.Background(), 1); !errors.Is(err, ErrShutdown) {
		t.Fatalf("after Shutdown: err = %v", err)
	}
}
