package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/store"
)

// WorkerAPI is how the scheduler reaches a worker's API.
type WorkerAPI interface {
	// AssignTask pushes t (new, or a newer spec) to the worker. A refusal
	// wraps ErrInsufficientStorage or ErrWorkerNotReady.
	AssignTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, t *v1.Task) error
	// StopTask stops and forgets the task's container; a task the worker
	// does not hold is not an error.
	StopTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, uid string) error
}

// Options configures the scheduler.
type Options struct {
	State   *store.State
	Workers WorkerAPI
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PushTimeout bounds one push to a worker; default 10s.
	PushTimeout time.Duration
	// StopTimeout bounds one graceful stop on a worker; default 30s (it
	// must exceed the worker's grace period).
	StopTimeout time.Duration
	// Concurrency is the number of tasks handled at once; default 16.
	Concurrency int
}

// Controller is the scheduler controller.
type Controller struct {
	opts   Options
	st     *store.State
	log    *slog.Logger
	queue  *reconcile.Controller
	events *store.Recorder

	mu   sync.Mutex
	last string // the worker of the last placement, for round-robin
}

// New returns the scheduler and registers its handlers on the State's
// caches; call it before the caches start.
func New(opts Options) *Controller {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PushTimeout == 0 {
		opts.PushTimeout = 10 * time.Second
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = 30 * time.Second
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 16
	}
	c := &Controller{opts: opts, st: opts.State, log: opts.Logger.With("controller", "scheduler")}
	c.events = c.st.Recorder("scheduler", c.log)
	c.queue = reconcile.New(reconcile.Func(c.Reconcile), reconcile.Options{
		Name: "scheduler", Workers: opts.Concurrency, Logger: opts.Logger,
	})
	c.st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		if ev.Type != v1.Deleted {
			c.queue.Enqueue(ev.New.Metadata.Name)
		}
	})
	c.st.WorkerCache.AddHandler(func(ev store.CacheEvent[*v1.Worker]) {
		if ev.Type == v1.Deleted || workerChanged(ev.Old, ev.New) {
			c.enqueueWaiting()
		}
	})
	// Registration writes credentials before the worker, but the two
	// caches follow the store on their own: a worker seen first cannot be
	// pushed to until its credentials arrive, so they count as a change.
	c.st.CredentialCache.AddHandler(func(ev store.CacheEvent[*v1.Credential]) {
		if ev.Type != v1.Deleted {
			c.enqueueWaiting()
		}
	})
	return c
}

// workerChanged reports whether a worker change can make a waiting task
// placeable or change where it goes.
func workerChanged(old, cur *v1.Worker) bool {
	if old == nil {
		return true
	}
	return old.Status.Phase != cur.Status.Phase ||
		old.Spec.Unschedulable != cur.Spec.Unschedulable ||
		old.Spec.Address != cur.Spec.Address ||
		!equalLabels(old.Metadata.Labels, cur.Metadata.Labels) ||
		old.Status.Stats.DiskFree != cur.Status.Stats.DiskFree ||
		old.Status.Stats.MemoryTotal != cur.Status.Stats.MemoryTotal ||
		old.Status.Stats.CPUs != cur.Status.Stats.CPUs
}

func equalLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// enqueueWaiting queues every task that waits for a worker.
func (c *Controller) enqueueWaiting() {
	for _, t := range c.st.TaskCache.ByIndex(store.IndexUnassigned, "") {
		c.queue.Enqueue(t.Metadata.Name)
	}
}

// Start runs the controller until ctx ends. It first queues every task, so
// a scheduler that starts late (a new leader) catches up on all of them.
func (c *Controller) Start(ctx context.Context) error {
	if err := c.st.TaskCache.WaitForSync(ctx); err != nil {
		return nil
	}
	for _, t := range c.st.TaskCache.List() {
		c.queue.Enqueue(t.Metadata.Name)
	}
	return c.queue.Start(ctx)
}

// Reconcile converges one task: place it, push its spec, or finish its
// deletion.
func (c *Controller) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	t, ok := c.st.TaskCache.Get(req.Key)
	if !ok {
		return reconcile.Result{}, nil
	}
	switch {
	case t.Metadata.DeletionTimestamp != nil:
		return reconcile.Result{}, c.finishDelete(ctx, t)
	case t.Status.Phase.Terminal():
		return reconcile.Result{}, nil
	case t.Status.Worker == "":
		return c.schedule(ctx, t)
	case t.Metadata.Generation > t.Status.AssignedGeneration():
		return reconcile.Result{}, c.pushSpec(ctx, t)
	}
	return reconcile.Result{}, nil
}

// candidates lists every worker with what its tasks already take.
func (c *Controller) candidates() []Candidate {
	workers := c.st.WorkerCache.List()
	out := make([]Candidate, 0, len(workers))
	for _, w := range workers {
		var u Usage
		for _, t := range c.st.TaskCache.ByIndex(store.IndexWorker, w.Metadata.Name) {
			if t.Status.Phase.Terminal() {
				continue
			}
			r := t.Spec.Resources
			u.MilliCPU += r.MilliCPU()
			u.Memory += r.MemoryBytes()
			u.Disk += r.DiskBytes()
		}
		out = append(out, Candidate{Worker: w, Used: u})
	}
	return out
}

// schedule places t on the first worker in round-robin order that accepts
// it.
func (c *Controller) schedule(ctx context.Context, t *v1.Task) (reconcile.Result, error) {
	cands := c.candidates()
	c.mu.Lock()
	p := Place(t, cands, c.last)
	if len(p.Order) > 0 {
		// Claim the first candidate now so concurrent placements rotate.
		c.last = p.Order[0].Metadata.Name
	}
	c.mu.Unlock()

	for _, w := range p.Order {
		err := c.push(ctx, w, t)
		if err == nil {
			if err := c.markScheduled(ctx, t, w); err != nil {
				return reconcile.Result{}, err
			}
			c.events.Eventf(ctx, store.TaskRef(t), v1.EventNormal, "Scheduled", "assigned to worker "+w.Metadata.Name)
			return reconcile.Result{}, nil
		}
		why := "unreachable"
		switch {
		case errors.Is(err, ErrInsufficientStorage):
			why = reasonDisk
		case errors.Is(err, ErrWorkerNotReady):
			why = reasonNotReady
		}
		c.log.Info("worker refused task", "task", t.Metadata.Name, "worker", w.Metadata.Name, "err", err)
		p.Rejected["refused: "+why]++
	}
	msg := Message(p.Total, p.Rejected)
	if t.Status.Reason != v1.ReasonUnschedulable || t.Status.Message != msg {
		c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, "FailedScheduling", msg)
	}
	err := c.updateStatus(ctx, t, func(st *v1.TaskStatus, now time.Time) {
		st.Phase = v1.PhasePending
		st.Reason = v1.ReasonUnschedulable
		st.Message = msg
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionFalse, Reason: v1.ReasonUnschedulable, Message: msg,
		}, now)
	})
	if err != nil {
		return reconcile.Result{}, err
	}
	// Worker changes queue waiting tasks at once; this is the safety net
	// for a worker that refused for a reason that passes by itself.
	return reconcile.Result{RequeueAfter: 30 * time.Second}, nil
}

func (c *Controller) push(ctx context.Context, w *v1.Worker, t *v1.Task) error {
	cred, ok := c.st.CredentialCache.Get(w.Metadata.Name)
	if !ok {
		return fmt.Errorf("worker %q has no credentials", w.Metadata.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.PushTimeout)
	defer cancel()
	return c.opts.Workers.AssignTask(ctx, w, cred, t)
}

// markScheduled records that w accepted t at t's generation, in the
// Scheduled condition's ObservedGeneration. The status's own
// observedGeneration is the worker's to report: the generation of the
// container it runs.
func (c *Controller) markScheduled(ctx context.Context, t *v1.Task, w *v1.Worker) error {
	name := w.Metadata.Name
	host := hostOf(w.Spec.Address)
	return c.updateStatus(ctx, t, func(st *v1.TaskStatus, now time.Time) {
		if st.Worker != "" && st.Worker != name {
			return
		}
		st.Worker = name
		st.HostIP = host
		if st.Phase == v1.PhasePending || st.Phase == "" {
			st.Phase = v1.PhaseScheduled
			st.Reason = ""
			st.Message = ""
		}
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned",
			Message:            fmt.Sprintf("assigned to worker %s", name),
			ObservedGeneration: max(t.Metadata.Generation, st.AssignedGeneration()),
		}, now)
	})
}

// pushSpec sends a spec the assigned worker has not seen yet.
func (c *Controller) pushSpec(ctx context.Context, t *v1.Task) error {
	w, ok := c.st.WorkerCache.Get(t.Status.Worker)
	if !ok || w.Status.Phase != v1.WorkerReady {
		return nil // pushed when the worker is back; its resync also reads it
	}
	if err := c.push(ctx, w, t); err != nil {
		return fmt.Errorf("push generation %d of task %q to worker %s: %w", t.Metadata.Generation, t.Metadata.Name, w.Metadata.Name, err)
	}
	return c.markScheduled(ctx, t, w)
}

// finishDelete stops the task on its worker and then removes the object.
// A worker that is gone or not ready is told on its next heartbeat instead.
func (c *Controller) finishDelete(ctx context.Context, t *v1.Task) error {
	if w, ok := c.st.WorkerCache.Get(t.Status.Worker); ok && w.Status.Phase == v1.WorkerReady {
		if cred, ok := c.st.CredentialCache.Get(w.Metadata.Name); ok {
			c.events.Eventf(ctx, store.TaskRef(t), v1.EventNormal, "Killing", "stopping the container on worker "+w.Metadata.Name)
			sctx, cancel := context.WithTimeout(ctx, c.opts.StopTimeout)
			err := c.opts.Workers.StopTask(sctx, w, cred, t.Metadata.UID)
			cancel()
			if err != nil {
				return fmt.Errorf("stop task %q on worker %s: %w", t.Metadata.Name, w.Metadata.Name, err)
			}
		}
	}
	err := c.st.Tasks.Delete(ctx, t.Metadata.Name, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

// updateStatus changes t's status in the store when fn changes it. It
// keeps to the same incarnation (uid) of the task, and returns once the
// cache has seen the write, so the next look at the task sees it too.
func (c *Controller) updateStatus(ctx context.Context, t *v1.Task, fn func(st *v1.TaskStatus, now time.Time)) error {
	uid := t.Metadata.UID
	out, err := c.st.Tasks.GuaranteedUpdate(ctx, t.Metadata.Name, func(cur *v1.Task) (*v1.Task, error) {
		if cur.Metadata.UID != uid {
			return nil, nil
		}
		before := cur.Status.DeepCopy()
		fn(&cur.Status, c.opts.Now().UTC())
		if statusEqual(before, &cur.Status) {
			return nil, nil
		}
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return c.st.TaskCache.WaitFor(ctx, out)
}

// hostOf returns the host part of a worker address.
func hostOf(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 {
		return strings.Trim(addr[:i], "[]")
	}
	return addr
}

// statusEqual compares two statuses, ignoring condition transition times.
func statusEqual(a, b *v1.TaskStatus) bool {
	if a.Phase != b.Phase || a.Reason != b.Reason || a.Message != b.Message || a.Worker != b.Worker ||
		a.HostIP != b.HostIP || a.ObservedGeneration != b.ObservedGeneration || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	return slices.EqualFunc(a.Conditions, b.Conditions, func(x, y v1.Condition) bool {
		return x.Type == y.Type && x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message &&
			x.ObservedGeneration == y.ObservedGeneration
	})
}
