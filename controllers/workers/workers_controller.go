package workers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/store"
)

// Options configures the controller.
type Options struct {
	State *store.State
	// Timeout is how long a worker may go without a heartbeat before it
	// is NotReady (--worker-timeout); default 15s.
	Timeout time.Duration
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Controller is the worker lifecycle controller.
type Controller struct {
	opts  Options
	st    *store.State
	log   *slog.Logger
	queue *reconcile.Controller
}

// New returns the controller and registers its handler on the worker
// cache; call it before the caches start.
func New(opts Options) *Controller {
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{opts: opts, st: opts.State, log: opts.Logger.With("controller", "workers")}
	c.queue = reconcile.New(reconcile.Func(c.Reconcile), reconcile.Options{Name: "workers", Workers: 2, Logger: opts.Logger})
	c.st.WorkerCache.AddHandler(func(ev store.CacheEvent[*v1.Worker]) {
		if ev.Type != v1.Deleted {
			c.queue.Enqueue(ev.New.Metadata.Name)
		}
	})
	return c
}

// Start runs the controller until ctx ends, first queueing every worker.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.st.WorkerCache.WaitForSync(ctx); err != nil {
		return nil
	}
	for _, w := range c.st.WorkerCache.List() {
		c.queue.Enqueue(w.Metadata.Name)
	}
	return c.queue.Start(ctx)
}

// Reconcile marks a silent worker NotReady, or looks again when its
// heartbeat would expire.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	w, ok := c.st.WorkerCache.Get(req.Key)
	if !ok || w.Status.Phase != v1.WorkerReady {
		return reconcile.Result{}, nil
	}
	now := c.opts.Now()
	var last time.Time
	if w.Status.LastHeartbeatTime != nil {
		last = *w.Status.LastHeartbeatTime
	}
	if left := last.Add(c.opts.Timeout).Sub(now); left > 0 {
		return reconcile.Result{RequeueAfter: left + 10*time.Millisecond}, nil
	}
	_, err := c.st.Workers.GuaranteedUpdate(ctx, req.Key, func(cur *v1.Worker) (*v1.Worker, error) {
		if cur.Status.Phase != v1.WorkerReady || cur.Status.LastHeartbeatTime == nil ||
			cur.Status.LastHeartbeatTime.Add(c.opts.Timeout).After(now) {
			return nil, nil
		}
		cur.Status.Phase = v1.WorkerNotReady
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return reconcile.Result{}, nil
	}
	if err == nil {
		c.log.Warn("worker missed its heartbeats", "worker", req.Key, "timeout", c.opts.Timeout, "lastHeartbeat", last)
	}
	return reconcile.Result{}, err
}
