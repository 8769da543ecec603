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

// Requeue delays of tasks that wait: for a worker change that could make
// one fit the caches queue it at once, so these are safety nets.
const (
	// requeueUnschedulable is the look again at a task no worker fits.
	requeueUnschedulable = 30 * time.Second
	// requeueRefused is the look again at a task that workers refused:
	// a refusal can pass by itself (a worker not ready yet).
	requeueRefused = 5 * time.Second
	// requeueUnknownPush is the next push of a task whose last push to
	// its worker ended without an answer.
	requeueUnknownPush = 5 * time.Second
)

// Reasons of the events and conditions the scheduler records.
const (
	reasonAssigned     = "Assigned"
	reasonRescheduling = "Rescheduling"
	reasonFailedPush   = "FailedPush"
)

// WorkerAPI is how the scheduler reaches a worker's API.
type WorkerAPI interface {
	// AssignTask pushes t (new, or a newer spec) to the worker. A push the
	// worker did not take returns an error wrapping ErrInsufficientStorage,
	// ErrWorkerNotReady or ErrPushRejected; one that never reached it,
	// ErrNotDelivered. Any other error leaves it unknown whether the
	// worker took the task. With answer, a worker that takes t as a task
	// new to it answers with its first status (first), as its first report
	// would carry it; nil when the answer carries none.
	AssignTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, t *v1.Task, answer bool) (first *v1.TaskReport, err error)
	// StopTask stops and forgets the task's container; a task the worker
	// does not hold is not an error.
	StopTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, uid string) error
}

// Options configures the scheduler.
type Options struct {
	State   *store.State
	Workers WorkerAPI
	Logger  *slog.Logger
	// FirstStatus records the first status a worker answered a push with
	// (t is the task as assigned to it), as the manager records the
	// worker's reports: apiserver.Server.RecordFirstStatus. Nil drops it
	// until the worker's next heartbeat, which carries it again.
	FirstStatus func(ctx context.Context, worker string, t *v1.Task, first v1.TaskReport)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// PushTimeout bounds one push to a worker; default 10s.
	PushTimeout time.Duration
	// StopTimeout bounds one graceful stop on a worker; default 30s (it
	// must exceed the worker's grace period).
	StopTimeout time.Duration
	// Concurrency is the number of tasks handled at once; default
	// DefaultConcurrency.
	Concurrency int
	// Metrics is told what the scheduler's queue does; nil means nothing.
	Metrics reconcile.Metrics
}

// DefaultConcurrency is how many tasks the scheduler handles at once. A
// placement spends most of its time waiting: for the store to commit the
// assignment, for the worker to answer the push, for the cache to show
// the write. With 16 at once, thousands of queued tasks waited while the
// manager sat idle between those waits; 64 keeps it busy and lets more
// writes share a commit (docs/scale.md has the figures). 128 and 256 did
// no better.
const DefaultConcurrency = 64

// Controller is the scheduler controller.
type Controller struct {
	opts   Options
	st     *store.State
	log    *slog.Logger
	queue  *reconcile.Controller
	events *store.Recorder
	track  *tracker

	mu sync.Mutex
	// delivered holds, per task, the push its worker accepted, so that the
	// looks at the task its own writes cause do not push it again while
	// the worker has not reported yet.
	delivered map[string]delivery
}

// delivery is a push a worker accepted: that incarnation of the task, at
// that generation, written at revision rev.
type delivery struct {
	uid, worker string
	generation  int64
	rev         int64
}

// sameAs reports whether d is the delivery of t as it is now.
func (d delivery) sameAs(t *v1.Task) bool {
	return d.uid == t.Metadata.UID && d.worker == t.Status.Worker && d.generation == t.Metadata.Generation
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
		opts.Concurrency = DefaultConcurrency
	}
	c := &Controller{
		opts: opts, st: opts.State, log: opts.Logger.With("controller", "scheduler"),
		track: newTracker(), delivered: map[string]delivery{},
	}
	c.events = c.st.Recorder("scheduler", c.log)
	c.queue = reconcile.New(reconcile.Func(c.Reconcile), reconcile.Options{
		Name: "scheduler", Workers: opts.Concurrency, Logger: opts.Logger, Metrics: opts.Metrics,
	})
	c.st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		name := ev.New.Metadata.Name
		var t *v1.Task
		if ev.Type != v1.Deleted {
			t = ev.New
			c.queue.Enqueue(name)
		}
		c.enqueue(c.track.taskChanged(name, t))
		c.mu.Lock()
		if d, ok := c.delivered[name]; ok && (t == nil || revisionOf(t) > d.rev && (t.Status.Phase != v1.PhasePending || !d.sameAs(t))) {
			delete(c.delivered, name) // reported on, moved or gone since
		}
		c.mu.Unlock()
	})
	c.st.WorkerCache.AddHandler(func(ev store.CacheEvent[*v1.Worker]) {
		if ev.Type == v1.Deleted {
			c.track.workerDeleted(ev.New.Metadata.Name)
			return
		}
		c.enqueue(c.track.workerChanged(ev.Old, ev.New))
	})
	// Registration writes credentials before the worker, but the two
	// caches follow the store on their own: a worker seen first cannot be
	// pushed to until its credentials arrive, so they count as a change.
	c.st.CredentialCache.AddHandler(func(ev store.CacheEvent[*v1.Credential]) {
		if ev.Type != v1.Deleted {
			c.enqueue(c.track.fitNow(ev.New.Metadata.Name))
		}
	})
	return c
}

func (c *Controller) enqueue(names []string) {
	for _, n := range names {
		c.queue.Enqueue(n)
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

// Reconcile converges one task: place it, hand it to its worker, push a
// new spec (or move the task when the new spec does not fit its worker),
// or finish its deletion.
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
		return c.schedule(ctx, t, "", c.track.place(t, nil), map[string]string{})
	case t.Metadata.Generation > t.Status.AssignedGeneration():
		return c.specChanged(ctx, t)
	case t.Status.Phase == v1.PhasePending:
		return c.deliver(ctx, t)
	}
	return reconcile.Result{}, nil
}

// schedule records t on the worker of placement p (taking it from worker
// from, "" when it has none) and then pushes it there: the assignment is
// in the store before any worker can hold the task, so no other placement
// can give it to a second worker. A worker that refuses the push has the
// task taken back and the next worker is tried; refused collects who
// refused and why. A push that ends without an answer leaves the task
// where it is: the worker may hold it, and takes it from the manager's
// list if it does not, so placing it elsewhere could run it twice.
func (c *Controller) schedule(ctx context.Context, t *v1.Task, from string, p Placement, refused map[string]string) (reconcile.Result, error) {
	name := t.Metadata.Name
	for {
		if p.Worker == nil {
			return c.unplaced(ctx, t, from, p, len(refused) > 0)
		}
		w := p.Worker
		out, err := c.assign(ctx, t, from, w)
		if err != nil {
			// The write may still have landed: the reservation stays until
			// the cache shows the task, or the retry places it again.
			return reconcile.Result{}, err
		}
		if out == nil {
			// Not recorded: the task changed meanwhile, and that change
			// queues it again.
			c.enqueue(c.track.release(name))
			return reconcile.Result{}, nil
		}
		t, from = out, w.Metadata.Name
		first, err := c.push(ctx, w, t)
		if err == nil {
			c.accepted(ctx, t, w, first)
			return reconcile.Result{}, c.st.TaskCache.WaitFor(ctx, t)
		}
		why := refusal(err)
		if why == "" {
			c.unknownPush(ctx, t, w, err)
			return reconcile.Result{RequeueAfter: requeueUnknownPush}, c.st.TaskCache.WaitFor(ctx, t)
		}
		c.log.Info("worker refused task", "task", name, "worker", w.Metadata.Name, "err", err)
		refused[w.Metadata.Name] = why
		p = c.track.place(t, refused)
	}
}

// deliver pushes a task recorded on a worker that has not taken it yet,
// unless that worker already accepted this assignment.
func (c *Controller) deliver(ctx context.Context, t *v1.Task) (reconcile.Result, error) {
	c.mu.Lock()
	d, ok := c.delivered[t.Metadata.Name]
	done := ok && d.sameAs(t)
	c.mu.Unlock()
	w, ok := c.st.WorkerCache.Get(t.Status.Worker)
	if done || !ok || w.Status.Phase != v1.WorkerReady {
		return reconcile.Result{}, nil // a lost worker is the lifecycle's business
	}
	first, err := c.push(ctx, w, t)
	if err == nil {
		c.accepted(ctx, t, w, first)
		return reconcile.Result{}, nil
	}
	if why := refusal(err); why != "" {
		c.log.Info("worker refused task", "task", t.Metadata.Name, "worker", w.Metadata.Name, "err", err)
		refused := map[string]string{w.Metadata.Name: why}
		return c.schedule(ctx, t, w.Metadata.Name, c.track.place(t, refused), refused)
	}
	c.unknownPush(ctx, t, w, err)
	return reconcile.Result{RequeueAfter: requeueUnknownPush}, nil
}

// specChanged pushes a spec the assigned worker has not seen yet, or moves
// the task when the new spec does not fit that worker (nodeSelector,
// resources, host ports): to a worker that fits, recorded first and pushed
// as a placement is; the old copy runs until the task has started there.
// When no worker fits, the task keeps running its old spec where it is,
// and its Scheduled condition and an event say why.
func (c *Controller) specChanged(ctx context.Context, t *v1.Task) (reconcile.Result, error) {
	w, ok := c.st.WorkerCache.Get(t.Status.Worker)
	if !ok || w.Status.Phase != v1.WorkerReady {
		return reconcile.Result{}, nil // pushed when the worker is back; its resync also reads it
	}
	why := c.track.fitsOwnWorker(t)
	if why == "" {
		c.track.setMoving(t, false)
		return reconcile.Result{}, c.pushSpec(ctx, t, w)
	}
	refused := map[string]string{w.Metadata.Name: why}
	p := c.track.place(t, refused)
	if p.Worker == nil {
		c.track.setMoving(t, true)
		return c.cannotMove(ctx, t, why, p)
	}
	c.track.setMoving(t, false)
	c.events.Eventf(ctx, store.TaskRef(t), v1.EventNormal, reasonRescheduling,
		fmt.Sprintf("generation %d does not fit worker %s (%s): moving the task to worker %s",
			t.Metadata.Generation, w.Metadata.Name, why, p.Worker.Metadata.Name))
	return c.schedule(ctx, t, w.Metadata.Name, p, refused)
}

// cannotMove records why a task whose new spec does not fit its worker
// stays there: no other worker fits it either.
func (c *Controller) cannotMove(ctx context.Context, t *v1.Task, why string, p Placement) (reconcile.Result, error) {
	worker := t.Status.Worker
	msg := fmt.Sprintf("generation %d does not fit worker %s (%s), nor any other (%s); generation %d keeps running on %s",
		t.Metadata.Generation, worker, why, Message(p.Total, p.Rejected), t.Status.ObservedGeneration, worker)
	if cond := v1.FindCondition(t.Status.Conditions, v1.TaskScheduled); cond == nil || cond.Message != msg {
		c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, "FailedScheduling", msg)
	}
	err := c.updateStatus(ctx, t, func(st *v1.TaskStatus, now time.Time) {
		if st.Worker != worker {
			return
		}
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionFalse, Reason: v1.ReasonUnschedulable, Message: msg,
		}, now)
	})
	return reconcile.Result{RequeueAfter: requeueUnschedulable}, err
}

// unplaced records that no worker took t: Pending, Unschedulable, with a
// message that says why each worker was passed over. A task still recorded
// on from (every worker refused it) is taken off it.
func (c *Controller) unplaced(ctx context.Context, t *v1.Task, from string, p Placement, refusals bool) (reconcile.Result, error) {
	msg := Message(p.Total, p.Rejected)
	if t.Status.Reason != v1.ReasonUnschedulable || t.Status.Message != msg {
		c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, "FailedScheduling", msg)
	}
	err := c.updateStatus(ctx, t, func(st *v1.TaskStatus, now time.Time) {
		if st.Worker != from {
			return // placed or moved meanwhile
		}
		if from != "" {
			clearPlacement(st)
		}
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
	if refusals {
		return reconcile.Result{RequeueAfter: requeueRefused}, nil
	}
	return reconcile.Result{RequeueAfter: requeueUnschedulable}, nil
}

// clearPlacement forgets what a task's previous worker reported of it.
func clearPlacement(st *v1.TaskStatus) {
	st.Worker, st.HostIP, st.ContainerID, st.Ports = "", "", "", nil
	st.StartedAt, st.FinishedAt, st.ExitCode = nil, nil, nil
	st.ObservedGeneration = 0
}

// assign records t on worker w, taking it from worker from ("" when it has
// none): phase Pending until the worker reports, Scheduled condition True.
// It writes only while the same incarnation of the task is still on from
// and placeable, and returns the task as stored, or nil when it did not
// write.
func (c *Controller) assign(ctx context.Context, t *v1.Task, from string, w *v1.Worker) (*v1.Task, error) {
	uid, name := t.Metadata.UID, w.Metadata.Name
	assigned := false
	out, err := c.st.Tasks.GuaranteedUpdateFrom(ctx, t.Metadata.Name, t, func(cur *v1.Task) (*v1.Task, error) {
		assigned = false
		if cur.Metadata.UID != uid || cur.Status.Worker != from || !placeable(cur) {
			return nil, nil
		}
		now := c.opts.Now().UTC()
		st := &cur.Status
		if from != "" {
			clearPlacement(st)
			st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
				Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: reasonRescheduling, Message: "moved off worker " + from,
			}, now)
		}
		st.Worker = name
		st.HostIP = hostOf(w.Spec.Address)
		st.Phase, st.Reason, st.Message = v1.PhasePending, "", ""
		// The generation handed to the worker is the Scheduled
		// condition's; the status's own observedGeneration is the
		// worker's to report (the generation of the container it runs).
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: reasonAssigned,
			Message:            fmt.Sprintf("assigned to worker %s", name),
			ObservedGeneration: cur.Metadata.Generation,
		}, now)
		assigned = true
		return cur, nil
	})
	if errors.Is(err, store.ErrNotFound) || (err == nil && !assigned) {
		return nil, nil
	}
	return out, err
}

// accepted notes that w took the assignment t, and records the first
// status w answered with.
func (c *Controller) accepted(ctx context.Context, t *v1.Task, w *v1.Worker, first *v1.TaskReport) {
	c.markDelivered(t)
	c.events.Eventf(ctx, store.TaskRef(t), v1.EventNormal, "Scheduled", "assigned to worker "+w.Metadata.Name)
	c.recordFirst(ctx, t, w, first)
}

// recordFirst records the first status w answered the push of t with.
func (c *Controller) recordFirst(ctx context.Context, t *v1.Task, w *v1.Worker, first *v1.TaskReport) {
	if first != nil && c.opts.FirstStatus != nil {
		c.opts.FirstStatus(ctx, w.Metadata.Name, t, *first)
	}
}

// markDelivered notes that t's worker accepted t at its generation.
func (c *Controller) markDelivered(t *v1.Task) {
	c.mu.Lock()
	c.delivered[t.Metadata.Name] = delivery{
		uid: t.Metadata.UID, worker: t.Status.Worker, generation: t.Metadata.Generation, rev: revisionOf(t),
	}
	c.mu.Unlock()
}

// unknownPush records a push to w that ended without an answer.
func (c *Controller) unknownPush(ctx context.Context, t *v1.Task, w *v1.Worker, err error) {
	c.log.Warn("push to worker ended without an answer; the task stays assigned there", "task", t.Metadata.Name, "worker", w.Metadata.Name, "err", err)
	c.events.Eventf(ctx, store.TaskRef(t), v1.EventWarning, reasonFailedPush,
		fmt.Sprintf("the push to worker %s ended without an answer; the task stays assigned to it, and the worker takes it from its list of tasks", w.Metadata.Name))
}

// push sends t to w, asking for its first status when the manager records
// it (below), and returns that status when w answered with one.
func (c *Controller) push(ctx context.Context, w *v1.Worker, t *v1.Task) (first *v1.TaskReport, err error) {
	cred, ok := c.st.CredentialCache.Get(w.Metadata.Name)
	if !ok || cred.Revoked() {
		return nil, fmt.Errorf("worker %q has no credentials: %w", w.Metadata.Name, ErrNotDelivered)
	}
	ctx, cancel := context.WithTimeout(ctx, c.opts.PushTimeout)
	defer cancel()
	// The first status is asked for where it is recorded (Unreported). A
	// task whose recorded status came from an earlier copy (a new spec
	// pushed, or a push again to a worker that lost it) is reported as
	// before.
	return c.opts.Workers.AssignTask(ctx, w, cred, t, t.Status.Unreported(w.Metadata.Name))
}

// pushSpec sends a spec the assigned worker has not seen yet and records
// that it did.
func (c *Controller) pushSpec(ctx context.Context, t *v1.Task, w *v1.Worker) error {
	first, err := c.push(ctx, w, t)
	if err != nil {
		return fmt.Errorf("push generation %d of task %q to worker %s: %w", t.Metadata.Generation, t.Metadata.Name, w.Metadata.Name, err)
	}
	name := w.Metadata.Name
	c.markDelivered(t)
	err = c.updateStatus(ctx, t, func(st *v1.TaskStatus, now time.Time) {
		if st.Worker != name {
			return
		}
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: reasonAssigned,
			Message:            fmt.Sprintf("assigned to worker %s", name),
			ObservedGeneration: max(t.Metadata.Generation, st.AssignedGeneration()),
		}, now)
	})
	// A task still Pending, which its worker took as new, comes with its
	// first status: recorded once the Scheduled condition is.
	c.recordFirst(ctx, t, w, first)
	return err
}

// finishDelete stops the task on its worker and then removes the object.
// A worker that is gone or not ready is told on its next heartbeat instead.
func (c *Controller) finishDelete(ctx context.Context, t *v1.Task) error {
	if w, ok := c.st.WorkerCache.Get(t.Status.Worker); ok && w.Status.Phase == v1.WorkerReady {
		if cred, ok := c.st.CredentialCache.Get(w.Metadata.Name); ok && !cred.Revoked() {
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

// revisionOf returns the store revision t was written at.
func revisionOf(t *v1.Task) int64 {
	rev, _ := store.ParseResourceVersion(t.Metadata.ResourceVersion)
	return rev
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
		a.HostIP != b.HostIP || a.ObservedGeneration != b.ObservedGeneration || a.ContainerID != b.ContainerID ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	return slices.EqualFunc(a.Conditions, b.Conditions, func(x, y v1.Condition) bool {
		return x.Type == y.Type && x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message &&
			x.ObservedGeneration == y.ObservedGeneration
	})
}
