package workers

import (
	"context"
	"errors"
	"fmt"
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
	// is NotReady (--worker-timeout); default 15s. Its tasks then go
	// Unknown with reason WorkerLost.
	Timeout time.Duration
	// RescheduleAfter is how long after its last heartbeat a lost worker's
	// tasks are placed elsewhere (--reschedule-after); default 30s. Tasks
	// with restartPolicy Never go Failed instead.
	RescheduleAfter time.Duration
	Logger          *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Metrics is told what the controller's queue does; nil means nothing.
	Metrics reconcile.Metrics
}

// HeartbeatInterval is the heartbeat period the manager gives workers for
// a worker timeout: a third of it, so a worker is judged lost only after
// about three heartbeats in a row went missing.
func HeartbeatInterval(timeout time.Duration) time.Duration { return timeout / 3 }

// Controller is the worker lifecycle controller.
type Controller struct {
	opts   Options
	st     *store.State
	log    *slog.Logger
	queue  *reconcile.Controller
	events *store.Recorder
	// started is when Start began watching: no worker is judged lost
	// before it has had a full Timeout under this controller's watch.
	started time.Time
}

// New returns the controller and registers its handler on the worker
// cache; call it before the caches start.
func New(opts Options) *Controller {
	if opts.Timeout == 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.RescheduleAfter == 0 {
		opts.RescheduleAfter = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Controller{opts: opts, st: opts.State, log: opts.Logger.With("controller", "workers")}
	c.events = c.st.Recorder("worker-lifecycle", c.log)
	c.queue = reconcile.New(reconcile.Func(c.Reconcile), reconcile.Options{Name: "workers", Workers: 2, Logger: opts.Logger, Metrics: opts.Metrics})
	c.st.WorkerCache.AddHandler(func(ev store.CacheEvent[*v1.Worker]) {
		c.queue.Enqueue(ev.New.Metadata.Name)
	})
	// The two caches follow the store apart: a task assigned just before
	// its worker was deleted can reach the task cache after the delete
	// reached the worker cache, and the worker's pass then missed it. A
	// task shown on a worker the worker cache does not hold queues that
	// worker, whose pass asks the store whether it was deleted.
	c.st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		if w := ev.New.Status.Worker; w != "" && ev.Type != v1.Deleted {
			if _, ok := c.st.WorkerCache.Get(w); !ok {
				c.queue.Enqueue(w)
			}
		}
	})
	return c
}

// Start runs the controller until ctx ends, first queueing every worker,
// and every worker a task is assigned to (one that was deleted while no
// controller ran included). Every worker gets a fresh grace period from
// the start: a manager that was down (or a new leader) has not been there
// to receive heartbeats, so a worker is judged only by its silence since
// then, as Nomad resets its heartbeat timers on a leader change.
func (c *Controller) Start(ctx context.Context) error {
	c.started = c.opts.Now()
	if c.st.WorkerCache.WaitForSync(ctx) != nil || c.st.TaskCache.WaitForSync(ctx) != nil {
		return nil
	}
	for _, w := range c.st.WorkerCache.List() {
		c.queue.Enqueue(w.Metadata.Name)
	}
	for _, t := range c.st.TaskCache.List() {
		if t.Status.Worker != "" {
			c.queue.Enqueue(t.Status.Worker)
		}
	}
	return c.queue.Start(ctx)
}

// Reconcile follows a worker's heartbeats: a worker silent for Timeout is
// NotReady and its tasks Unknown (WorkerLost); one silent for
// RescheduleAfter has its tasks placed elsewhere (policy Never: Failed).
// Each pass asks to look again when the next deadline passes. Silence is
// counted from the later of the last heartbeat and the controller's start,
// as Kubernetes' node lifecycle controller does: a controller that starts
// late (a new leader, or one back after the store lost its quorum and no
// heartbeat could be stored) gives every worker a full Timeout to be heard
// from before judging it.
//
// The tasks of a worker that does not exist (it was deleted) are placed
// elsewhere at once.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	w, ok := c.st.WorkerCache.Get(req.Key)
	if !ok {
		// The worker cache follows the store apart from the task cache
		// and may not show a worker yet whose tasks the task cache
		// shows (at a manager's start the two list at different
		// revisions): only the store says a worker was deleted. One
		// that is there reaches the cache, whose handler queues it.
		switch _, err := c.st.Workers.Get(ctx, req.Key); {
		case err == nil:
			return reconcile.Result{}, nil
		case !errors.Is(err, store.ErrNotFound):
			return reconcile.Result{}, err
		}
		cause := fmt.Sprintf("worker %s was deleted", req.Key)
		for _, t := range c.st.TaskCache.ByIndex(store.IndexWorker, req.Key) {
			if err := c.moveOff(ctx, t, req.Key, v1.ReasonWorkerDeleted, cause, c.opts.Now()); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{}, nil
	}
	now := c.opts.Now()
	last := c.silentSince(w)
	lostAt := last.Add(c.opts.Timeout)
	moveAt := last.Add(c.opts.RescheduleAfter)
	if now.Before(lostAt) {
		return reconcile.Result{RequeueAfter: lostAt.Sub(now) + 10*time.Millisecond}, nil
	}
	if w.Status.Phase == v1.WorkerReady {
		if err := c.markNotReady(ctx, req.Key, now); err != nil {
			return reconcile.Result{}, err
		}
	}
	tasks := c.st.TaskCache.ByIndex(store.IndexWorker, req.Key)
	if now.Before(moveAt) {
		heard := last
		if hb := w.Status.LastHeartbeatTime; hb != nil {
			heard = *hb
		}
		msg := fmt.Sprintf("worker %s has sent no heartbeat since %s; the task moves to another worker at %s unless it comes back",
			req.Key, heard.UTC().Format(time.RFC3339), moveAt.UTC().Format(time.RFC3339))
		for _, t := range tasks {
			if err := c.markUnknown(ctx, t, msg, now); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{RequeueAfter: moveAt.Sub(now) + 10*time.Millisecond}, nil
	}
	cause := fmt.Sprintf("worker %s was lost", req.Key)
	for _, t := range tasks {
		if err := c.moveOff(ctx, t, req.Key, v1.ReasonWorkerLost, cause, now); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

// silentSince is when the controller last heard of w: its last heartbeat,
// or the controller's start when that is later.
func (c *Controller) silentSince(w *v1.Worker) time.Time {
	if hb := w.Status.LastHeartbeatTime; hb != nil && hb.After(c.started) {
		return *hb
	}
	return c.started
}

func (c *Controller) markNotReady(ctx context.Context, name string, now time.Time) error {
	wrote := false
	_, err := c.st.Workers.GuaranteedUpdate(ctx, name, func(cur *v1.Worker) (*v1.Worker, error) {
		wrote = false
		if cur.Status.Phase != v1.WorkerReady || c.silentSince(cur).Add(c.opts.Timeout).After(now) {
			return nil, nil
		}
		cur.Status.Phase = v1.WorkerNotReady
		wrote = true
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if wrote {
		c.log.Warn("worker missed its heartbeats", "worker", name, "timeout", c.opts.Timeout)
		c.events.Eventf(ctx, v1.ObjectReference{Kind: v1.KindWorker, Name: name}, v1.EventWarning, "NodeNotReady",
			fmt.Sprintf("no heartbeat for %s", c.opts.Timeout))
	}
	return nil
}

// markUnknown says the task's worker is lost.
func (c *Controller) markUnknown(ctx context.Context, t *v1.Task, msg string, now time.Time) error {
	if t.Status.Phase.Terminal() || t.Status.Phase == v1.PhaseUnknown || t.Metadata.DeletionTimestamp != nil {
		return nil
	}
	uid, worker := t.Metadata.UID, t.Status.Worker
	wrote := false
	_, err := c.st.Tasks.GuaranteedUpdate(ctx, t.Metadata.Name, func(cur *v1.Task) (*v1.Task, error) {
		wrote = false
		if cur.Metadata.UID != uid || cur.Status.Worker != worker || cur.Status.Phase.Terminal() || cur.Status.Phase == v1.PhaseUnknown {
			return nil, nil
		}
		wrote = true
		cur.Status.Phase, cur.Status.Reason, cur.Status.Message = v1.PhaseUnknown, v1.ReasonWorkerLost, msg
		cur.Status.Conditions = v1.SetCondition(cur.Status.Conditions, v1.Condition{
			Type: v1.TaskReady, Status: v1.ConditionUnknown, Reason: v1.ReasonWorkerLost, Message: msg,
		}, now)
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err == nil && wrote {
		c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, v1.ReasonWorkerLost, msg)
	}
	return err
}

// moveOff places the task of a lost or deleted worker elsewhere, or fails
// it when its policy says never to run it again, with reason and a message
// that starts with cause ("worker NAME was lost").
func (c *Controller) moveOff(ctx context.Context, t *v1.Task, worker, reason, cause string, now time.Time) error {
	if t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
		return nil
	}
	if t.Spec.RestartPolicy == v1.RestartNever {
		msg := cause + ", and restartPolicy is Never"
		uid := t.Metadata.UID
		wrote := false
		_, err := c.st.Tasks.GuaranteedUpdate(ctx, t.Metadata.Name, func(cur *v1.Task) (*v1.Task, error) {
			wrote = false
			if cur.Metadata.UID != uid || cur.Status.Worker != worker || cur.Status.Phase.Terminal() {
				return nil, nil
			}
			wrote = true
			cur.Status.Phase, cur.Status.Reason, cur.Status.Message = v1.PhaseFailed, reason, msg
			cur.Status.Conditions = v1.SetCondition(cur.Status.Conditions, v1.Condition{
				Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: reason, Message: msg,
			}, now)
			return cur, nil
		})
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err == nil && wrote {
			c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, "Failed", msg)
		}
		return err
	}
	msg := cause + "; placing the task on another worker"
	moved, err := c.st.Unassign(ctx, t.Metadata.Name, t.Metadata.UID, worker, reason, msg, now)
	if moved {
		c.log.Info("moving a task off a worker", "task", t.Metadata.Name, "worker", worker, "reason", reason)
		c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, "Rescheduling", msg)
	}
	return err
}
