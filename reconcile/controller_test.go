package reconcile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// mustStart runs c.Start in a goroutine until the test ends and checks that
// it returned nil. The returned stop cancels Start and waits for it.
func mustStart(t *testing.T, c *Controller) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-errc:
				if err != nil {
					t.Errorf("Start = %v, want nil", err)
				}
			case <-time.After(failsafe):
				t.Errorf("Start did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// mustReceive waits for a value on ch.
func mustReceive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failsafe):
		t.Fatalf("never happened: %s", what)
		var zero T
		return zero
	}
}

func testLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestController_Outcomes runs one reconcile of key "k" per case, then a
// reconcile of "sentinel" on the only worker, which proves k's pass has
// been settled in the queue, and inspects what the Controller left behind.
func TestController_Outcomes(t *testing.T) {
	const base = 5 * time.Millisecond
	tests := []struct {
		name      string
		reconcile func() (Result, error)
		// wantAgainAfter is how long after the pass k is due again; zero
		// means k is dropped.
		wantAgainAfter time.Duration
		wantRequeues   int
		wantLog        []string
	}{
		{
			name:      "success",
			reconcile: func() (Result, error) { return Result{}, nil },
		},
		{
			name:           "requeue after",
			reconcile:      func() (Result, error) { return Result{RequeueAfter: time.Minute}, nil },
			wantAgainAfter: time.Minute,
		},
		{
			name:           "error retried with backoff",
			reconcile:      func() (Result, error) { return Result{}, errSpec },
			wantAgainAfter: base,
			wantRequeues:   1,
			wantLog:        []string{`msg="reconcile failed; retrying"`, "controller=test", "key=k", "requeues=1", "retryAfter=5ms", errSpec.Error()},
		},
		{
			name:           "error with a result still retried with backoff",
			reconcile:      func() (Result, error) { return Result{RequeueAfter: time.Hour}, errSpec },
			wantAgainAfter: base,
			wantRequeues:   1,
			wantLog:        []string{`msg="reconcile failed; retrying"`, "key=k"},
		},
		{
			name:      "terminal error dropped",
			reconcile: func() (Result, error) { return Result{}, TerminalError(errSpec) },
			wantLog:   []string{`msg="reconcile failed with a terminal error; dropping key"`, "controller=test", "key=k", errSpec.Error()},
		},
		{
			name:      "wrapped terminal error dropped",
			reconcile: func() (Result, error) { return Result{}, fmt.Errorf("sync k: %w", TerminalError(errSpec)) },
			wantLog:   []string{"dropping key", "key=k"},
		},
		{
			name:           "panic recovered and retried",
			reconcile:      func() (Result, error) { panic("kaboom") },
			wantAgainAfter: base,
			wantRequeues:   1,
			wantLog:        []string{`msg="reconcile panicked"`, "controller=test", "key=k", "panic=kaboom", "stack=", "reconciler panicked"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncBuffer
			clock := newFakeClock()
			calls := make(chan int, 10)
			sentinel := make(chan struct{}, 10)
			var n atomic.Int32
			c := New(Func(func(ctx context.Context, req Request) (Result, error) {
				if req.Key == "sentinel" {
					sentinel <- struct{}{}
					return Result{}, nil
				}
				calls <- int(n.Add(1))
				if n.Load() > 1 {
					return Result{}, nil
				}
				return tt.reconcile()
			}), Options{Name: "test", Workers: 1, BaseDelay: base, Logger: testLogger(&logs), Clock: clock})
			c.Enqueue("k")
			c.Enqueue("sentinel")
			if got := c.Len(); got != 2 {
				t.Fatalf("Len before Start = %d, want 2", got)
			}
			mustStart(t, c)

			mustReceive(t, calls, "first reconcile of k")
			mustReceive(t, sentinel, "reconcile of the sentinel")

			if got := c.queue.NumRequeues("k"); got != tt.wantRequeues {
				t.Errorf("NumRequeues(k) = %d, want %d", got, tt.wantRequeues)
			}
			at, held := waitingAt(c.queue, "k")
			switch {
			case tt.wantAgainAfter == 0 && held:
				t.Errorf("k is held back until %v, want it dropped", at)
			case tt.wantAgainAfter > 0 && !held:
				t.Errorf("k is not held back, want it due after %v", tt.wantAgainAfter)
			case tt.wantAgainAfter > 0 && !at.Equal(clock.Now().Add(tt.wantAgainAfter)):
				t.Errorf("k due at %v, want %v", at, clock.Now().Add(tt.wantAgainAfter))
			}
			if got := c.Len(); got != 0 {
				t.Errorf("Len = %d, want 0", got)
			}
			out := logs.String()
			for _, want := range tt.wantLog {
				if !strings.Contains(out, want) {
					t.Errorf("logs lack %q:\n%s", want, out)
				}
			}
			if len(tt.wantLog) == 0 && strings.Contains(out, "level=ERROR") {
				t.Errorf("unexpected error log:\n%s", out)
			}

			if tt.wantAgainAfter > 0 {
				clock.Step(tt.wantAgainAfter)
				if got := mustReceive(t, calls, "second reconcile of k"); got != 2 {
					t.Fatalf("reconcile #%d of k, want #2", got)
				}
			}
		})
	}
}

func TestController_RequeueAfterSuccessResetsBackoff(t *testing.T) {
	clock := newFakeClock()
	calls := make(chan int, 10)
	var n atomic.Int32
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		i := int(n.Add(1))
		calls <- i
		switch i {
		case 1, 2:
			return Result{}, errSpec
		case 3:
			return Result{RequeueAfter: 30 * time.Second}, nil
		}
		return Result{}, nil
	}), Options{Name: "test", BaseDelay: time.Second, Logger: slog.New(slog.DiscardHandler), Clock: clock})
	mustStart(t, c)
	t0 := clock.Now()
	c.Enqueue("k")

	mustReceive(t, calls, "reconcile #1")
	mustWaitForTimer(t, clock, t0.Add(time.Second))
	clock.Step(time.Second)
	mustReceive(t, calls, "reconcile #2 (first retry)")
	mustWaitForTimer(t, clock, t0.Add(3*time.Second)) // backoff doubled
	clock.Step(2 * time.Second)
	mustReceive(t, calls, "reconcile #3 (second retry)")
	mustWaitForTimer(t, clock, t0.Add(33*time.Second))
	if got := c.queue.NumRequeues("k"); got != 0 {
		t.Fatalf("NumRequeues after success = %d, want 0", got)
	}
	clock.Step(30 * time.Second)
	mustReceive(t, calls, "reconcile #4 (RequeueAfter)")
}

func TestController_RetriesOnTheRealClock(t *testing.T) {
	calls := make(chan int, 10)
	var n atomic.Int32
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		i := int(n.Add(1))
		calls <- i
		if i < 3 {
			return Result{}, errSpec
		}
		return Result{}, nil
	}), Options{Name: "test", BaseDelay: time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	mustStart(t, c)
	c.Enqueue("k")
	for want := 1; want <= 3; want++ {
		if got := mustReceive(t, calls, fmt.Sprintf("reconcile #%d", want)); got != want {
			t.Fatalf("reconcile #%d, want #%d", got, want)
		}
	}
}

// TestController_NoConcurrentReconcileOfOneKey hammers a few keys from
// many goroutines while many workers reconcile them. Each key carries a
// generation bumped before every Enqueue; the reconciler records the
// generation it saw. No key may be reconciled by two workers at once, and
// every key must end up reconciled at its final generation: the
// level-based promise that no change is lost.
func TestController_NoConcurrentReconcileOfOneKey(t *testing.T) {
	for _, workers := range []int{8, PerKey} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { testNoConcurrentReconcile(t, workers) })
	}
}

func testNoConcurrentReconcile(t *testing.T, workers int) {
	const (
		keys      = 4
		enqueuers = 8
		rounds    = 200
	)
	var (
		generation [keys]atomic.Int64
		seen       [keys]atomic.Int64
		inFlight   [keys]atomic.Int32
		violations atomic.Int32
		reconciled = make(chan struct{}, 1)
	)
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		i := int(req.Key[0] - 'a')
		if inFlight[i].Add(1) != 1 {
			violations.Add(1)
		}
		g := generation[i].Load()
		runtime.Gosched()
		if g > seen[i].Load() {
			seen[i].Store(g) // only one worker holds key i: no lost update
		}
		inFlight[i].Add(-1)
		select {
		case reconciled <- struct{}{}:
		default:
		}
		return Result{}, nil
	}), Options{Name: "test", Workers: workers, Logger: slog.New(slog.DiscardHandler)})
	mustStart(t, c)

	var wg sync.WaitGroup
	for e := range enqueuers {
		wg.Go(func() {
			for r := range rounds {
				i := (e + r) % keys
				generation[i].Add(1)
				c.Enqueue(string(rune('a' + i)))
			}
		})
	}
	wg.Wait()

	converged := func() bool {
		for i := range keys {
			if seen[i].Load() != generation[i].Load() {
				return false
			}
		}
		return true
	}
	for !converged() {
		mustReceive(t, reconciled, "every key reconciled at its final generation")
	}
	if got := violations.Load(); got != 0 {
		t.Fatalf("%d reconciles overlapped another of the same key", got)
	}
}

// TestController_PerKeyNoHeadOfLineBlocking: with a goroutine per key, keys
// whose passes block (a slow stop, a pull) do not hold up another key, however
// many there are.
func TestController_PerKeyNoHeadOfLineBlocking(t *testing.T) {
	const blocked = 50
	release := make(chan struct{})
	entered := make(chan string, blocked+1)
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		entered <- req.Key
		if req.Key != "free" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return Result{}, nil
	}), Options{Name: "test", Workers: PerKey, Logger: slog.New(slog.DiscardHandler)})
	mustStart(t, c)
	defer close(release)
	for i := range blocked {
		c.Enqueue(fmt.Sprintf("slow-%d", i))
	}
	for range blocked {
		mustReceive(t, entered, "every slow key entered at once")
	}
	c.Enqueue("free")
	if got := mustReceive(t, entered, "the free key reconciled while the slow ones block"); got != "free" {
		t.Fatalf("reconciled %q, want free", got)
	}
}

// goroutineID is the number runtime.Stack gives the calling goroutine.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
	return id
}

// TestController_PerKeyReusesGoroutines: with PerKey, a key that comes
// while a goroutine is done with its last key and waits goes to that
// goroutine, rather than to a new one whose stack must grow again.
func TestController_PerKeyReusesGoroutines(t *testing.T) {
	const keys = 20
	ran := make(chan string, 1)
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		ran <- goroutineID()
		return Result{}, nil
	}), Options{Name: "test", Workers: PerKey, Logger: slog.New(slog.DiscardHandler)})
	mustStart(t, c)
	seen := map[string]bool{}
	for i := range keys {
		c.Enqueue(fmt.Sprintf("key-%d", i))
		seen[mustReceive(t, ran, "the key reconciled")] = true
		// Let the goroutine finish the key and wait for the next, well
		// within perKeyLinger.
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%d keys, one after another, ran on %d goroutine(s)", keys, len(seen))
	if len(seen) > keys/4 {
		t.Fatalf("%d keys, one after another, ran on %d goroutines; want them to reuse a few", keys, len(seen))
	}
}

func TestController_StartWaitsForInFlightReconcile(t *testing.T) {
	for _, workers := range []int{2, PerKey} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { testStartWaitsForInFlight(t, workers) })
	}
}

func testStartWaitsForInFlight(t *testing.T, workers int) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var finished atomic.Bool
	c := New(Func(func(ctx context.Context, req Request) (Result, error) {
		close(entered)
		<-ctx.Done()
		<-release
		finished.Store(true)
		return Result{}, ctx.Err()
	}), Options{Name: "test", Workers: workers, Logger: slog.New(slog.DiscardHandler)})

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()
	c.Enqueue("k")
	mustReceive(t, entered, "reconcile of k")

	select {
	case err := <-errc:
		t.Fatalf("Start returned %v before its context ended", err)
	default:
	}
	cancel()
	// Start must not return while Reconcile is blocked. This window can
	// only catch a broken Start; it never fails a correct one.
	select {
	case err := <-errc:
		t.Fatalf("Start returned %v while Reconcile was in flight", err)
	case <-time.After(20 * time.Millisecond):
	}
	close(release)
	if err := mustReceive(t, errc, "Start returns"); err != nil {
		t.Fatalf("Start = %v, want nil", err)
	}
	if !finished.Load() {
		t.Fatal("Start returned before Reconcile did")
	}
	if !c.queue.ShuttingDown() {
		t.Fatal("queue not shut down after Start returned")
	}
	if c.queue.timerStarted {
		// The canceled reconcile was retried with AddRateLimited only if
		// the queue was still open, which it must not have been.
		select {
		case <-c.queue.timerDone:
		default:
			t.Fatal("timer goroutine still running after Start returned")
		}
	}
	c.Enqueue("k")
	if got := c.Len(); got != 0 {
		t.Fatalf("Len after Start returned = %d, want 0", got)
	}
}

func TestController_StartErrors(t *testing.T) {
	noop := Func(func(context.Context, Request) (Result, error) { return Result{}, nil })
	tests := []struct {
		name    string
		prepare func(t *testing.T) *Controller
		want    error
	}{
		{
			name: "while running",
			prepare: func(t *testing.T) *Controller {
				c := New(noop, Options{Name: "twice", Logger: slog.New(slog.DiscardHandler)})
				mustStart(t, c)
				mustEventually(t, "Start has begun", c.started.Load)
				return c
			},
			want: ErrAlreadyStarted,
		},
		{
			name: "after it returned",
			prepare: func(t *testing.T) *Controller {
				c := New(noop, Options{Name: "twice", Logger: slog.New(slog.DiscardHandler)})
				ctx, cancel := context.WithCancel(t.Context())
				cancel()
				if err := c.Start(ctx); err != nil {
					t.Fatalf("first Start = %v, want nil", err)
				}
				return c
			},
			want: ErrAlreadyStarted,
		},
		{
			name: "nil reconciler",
			prepare: func(t *testing.T) *Controller {
				return New(nil, Options{Name: "twice", Logger: slog.New(slog.DiscardHandler)})
			},
			want: ErrNilReconciler,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.prepare(t)
			err := c.Start(t.Context())
			if !errors.Is(err, tt.want) {
				t.Fatalf("Start = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), `"twice"`) {
				t.Fatalf("Start error %q does not name the controller", err)
			}
		})
	}
}

func TestNew_Defaults(t *testing.T) {
	c := New(Func(func(context.Context, Request) (Result, error) { return Result{}, nil }), Options{Name: "d"})
	t.Cleanup(c.queue.ShutDown)
	if c.workers != 1 || c.Name() != "d" || c.log == nil {
		t.Fatalf("New defaults: workers %d, name %q, logger %v", c.workers, c.Name(), c.log)
	}
	if c.queue.baseDelay != DefaultBaseDelay || c.queue.maxDelay != DefaultMaxDelay {
		t.Fatalf("queue delays %v/%v, want %v/%v", c.queue.baseDelay, c.queue.maxDelay, DefaultBaseDelay, DefaultMaxDelay)
	}
}

func BenchmarkControllerThroughput(b *testing.B) {
	keys := make([]string, b.N)
	for i := range keys {
		keys[i] = fmt.Sprintf("key-%d", i)
	}
	var n atomic.Int64
	all := make(chan struct{})
	total := int64(b.N)
	c := New(Func(func(context.Context, Request) (Result, error) {
		if n.Add(1) == total {
			close(all)
		}
		return Result{}, nil
	}), Options{Name: "bench", Workers: 4, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(b.Context())
	errc := make(chan error, 1)
	go func() { errc <- c.Start(ctx) }()

	b.ReportAllocs()
	b.ResetTimer()
	for _, key := range keys {
		c.Enqueue(key)
	}
	<-all
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "keys/s")
	cancel()
	if err := <-errc; err != nil {
		b.Fatalf("Start = %v", err)
	}
}
