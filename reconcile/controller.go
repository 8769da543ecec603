package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Options configures a Controller. The zero value is usable.
type Options struct {
	// Name identifies the controller in logs, for example "scheduler".
	Name string
	// Workers is the number of goroutines calling Reconcile. Zero means
	// 1; PerKey means one goroutine for each key being reconciled, as
	// many as there are keys ready (kubelet's pod workers): a slow pass
	// for one key never holds up another. One key is never reconciled by
	// two at once.
	Workers int
	// BaseDelay is the delay before the first retry of a key after an
	// error; it doubles with each further error. Zero or negative means
	// DefaultBaseDelay (5ms).
	BaseDelay time.Duration
	// MaxDelay caps the per-key retry delay. Zero or negative means
	// DefaultMaxDelay (5m).
	MaxDelay time.Duration
	// Logger receives a line per failed reconcile. Nil means
	// slog.Default().
	Logger *slog.Logger
	// Clock is the time source of retries and RequeueAfter. Nil means the
	// wall clock; tests may inject a fake.
	Clock Clock
	// Metrics is told of the queue's adds, depth and retries and of every
	// Reconcile's duration and outcome; nil means none.
	Metrics Metrics
}

// PerKey, as Options.Workers, runs each key's Reconcile in a goroutine of
// its own: one that is done with its last key if there is one (it waits a
// second for another, then ends), else a new one.
const PerKey = -1

// Controller runs a Reconciler over a Queue of keys: Workers goroutines
// take keys from the queue, call Reconcile, and requeue as the result
// says. Build one with New, feed it with Enqueue and EnqueueAfter (before or
// after Start), and run it with Start.
type Controller struct {
	name    string
	r       Reconciler
	workers int
	log     *slog.Logger
	queue   *Queue
	metrics Metrics
	clock   Clock
	started atomic.Bool
}

// New returns a Controller that reconciles with r. It starts nothing: call
// Start. Keys enqueued before Start wait for it.
func New(r Reconciler, opts Options) *Controller {
	if opts.Workers <= 0 && opts.Workers != PerKey {
		opts.Workers = 1
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = noMetrics{}
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	return &Controller{
		name:    opts.Name,
		r:       r,
		workers: opts.Workers,
		log:     opts.Logger.With("controller", opts.Name),
		metrics: opts.Metrics,
		clock:   opts.Clock,
		queue: NewQueue(QueueOptions{
			BaseDelay: opts.BaseDelay,
			MaxDelay:  opts.MaxDelay,
			Clock:     opts.Clock,
			Metrics:   opts.Metrics,
		}),
	}
}

// Name returns the controller's name from Options.
func (c *Controller) Name() string { return c.name }

// Enqueue asks for key to be reconciled. A key already waiting is
// reconciled once however often it is enqueued; a key being reconciled is
// reconciled once more afterwards. Enqueue does nothing after Start has
// returned.
func (c *Controller) Enqueue(key string) { c.queue.Add(key) }

// EnqueueAfter asks for key to be reconciled once d has passed; a key
// already held back keeps the earlier of its deadlines. A d of zero or less
// is Enqueue.
func (c *Controller) EnqueueAfter(key string, d time.Duration) { c.queue.AddAfter(key, d) }

// Len returns the number of keys ready to be reconciled now, not counting
// keys being reconciled or held back for later.
func (c *Controller) Len() int { return c.queue.Len() }

// Start runs the workers until ctx ends, then shuts the queue down and
// returns after every worker goroutine, every in-flight Reconcile call and
// the queue's timer goroutine have returned. Keys still waiting are
// dropped. Start returns nil when ctx ends, an error wrapping
// ErrAlreadyStarted if the Controller was started before, and an error
// wrapping ErrNilReconciler if New was given a nil Reconciler.
func (c *Controller) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return fmt.Errorf("start controller %q: %w", c.name, ErrAlreadyStarted)
	}
	if c.r == nil {
		c.queue.ShutDown()
		return fmt.Errorf("start controller %q: %w", c.name, ErrNilReconciler)
	}
	c.log.Info("controller starting", "workers", c.workers)
	var wg sync.WaitGroup
	if c.workers == PerKey {
		// A key goes to a goroutine that is done with its last key and
		// waits for another, or else to a new one: a goroutine's stack
		// grows to what a reconcile needs once, not for every key.
		idle := make(chan string)
		wg.Go(func() {
			for {
				key, shutdown := c.queue.Get()
				if shutdown {
					return
				}
				select {
				case idle <- key:
				default:
					wg.Go(func() { c.perKey(ctx, key, idle) })
				}
			}
		})
	}
	for range c.workers {
		wg.Go(func() {
			for c.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	c.log.Info("controller stopping; waiting for workers")
	c.queue.ShutDown()
	wg.Wait()
	c.log.Info("controller stopped")
	return nil
}

// perKeyLinger is how long a PerKey goroutine waits for another key
// before it ends.
const perKeyLinger = time.Second

// perKey reconciles key, then the keys handed to it on idle, until none
// comes for perKeyLinger or ctx ends.
func (c *Controller) perKey(ctx context.Context, key string, idle <-chan string) {
	linger := time.NewTimer(perKeyLinger)
	defer linger.Stop()
	for {
		c.process(ctx, key)
		linger.Reset(perKeyLinger)
		select {
		case key = <-idle:
		case <-linger.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// processNext reconciles one key and settles it in the queue. It returns
// false when the queue has shut down.
func (c *Controller) processNext(ctx context.Context) bool {
	key, shutdown := c.queue.Get()
	if shutdown {
		return false
	}
	c.process(ctx, key)
	return true
}

// process reconciles one key taken from the queue and requeues it as the
// outcome says.
func (c *Controller) process(ctx context.Context, key string) {
	defer c.queue.Done(key)

	began := c.clock.Now()
	res, err := c.reconcile(ctx, key)
	c.metrics.Reconciled(c.clock.Now().Sub(began), outcome(res, err))
	switch {
	case err != nil && IsTerminal(err):
		c.queue.Forget(key)
		c.log.Error("reconcile failed with a terminal error; dropping key", "key", key, "error", err)
	case err != nil:
		delay, requeues := c.queue.addRateLimited(key)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			c.log.Debug("reconcile interrupted by shutdown", "key", key, "error", err)
			break
		}
		c.log.Error("reconcile failed; retrying", "key", key, "error", err,
			"requeues", requeues, "retryAfter", delay)
	default:
		c.queue.Forget(key)
		if res.RequeueAfter > 0 {
			c.queue.AddAfter(key, res.RequeueAfter)
		}
	}
}

// outcome names a Reconcile's outcome for Metrics.
func outcome(res Result, err error) string {
	switch {
	case err != nil && IsTerminal(err):
		return OutcomeTerminal
	case err != nil:
		return OutcomeError
	case res.RequeueAfter > 0:
		return OutcomeRequeue
	}
	return OutcomeSuccess
}

// reconcile calls the Reconciler, turning a panic into an error wrapping
// ErrPanic so that one bad key cannot kill the process.
func (c *Controller) reconcile(ctx context.Context, key string) (res Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			c.log.Error("reconcile panicked", "key", key, "panic", p, "stack", string(debug.Stack()))
			res = Result{}
			err = fmt.Errorf("reconcile %q: %w: %v", key, ErrPanic, p)
		}
	}()
	return c.r.Reconcile(ctx, Request{Key: key})
}
