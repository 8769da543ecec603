package workerd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/workerd/runtime"
)

// logLinesOnFailure is how many lines of an exited container's output go
// into the task's message.
const logLinesOnFailure = 5

// maxSteps bounds the steps one sync takes before it yields; the task is
// looked at again at once.
const maxSteps = 16

// Reconcile converges the task with uid req.Key, one step at a time: it
// inspects the task's containers that changed, asks decide for the next
// step and the status, records them and carries the step out, until decide
// asks for none. Each task syncs in a goroutine of its own (the queue runs
// one per key), so a slow stop or start of one task never holds up
// another, and pulls run apart (puller).
func (w *Worker) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	uid := req.Key
	if uid == "" {
		return reconcile.Result{}, nil // nothing holds an empty uid
	}
	for range maxSteps {
		in, ok, err := w.observe(ctx, uid)
		if err != nil || !ok {
			return reconcile.Result{}, err
		}
		d := decide(in)
		w.record(uid, in, d)
		if d.Action.Kind == actNone {
			return reconcile.Result{RequeueAfter: d.After}, nil
		}
		if err := w.act(ctx, uid, in, d.Action); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{RequeueAfter: time.Millisecond}, nil
}

// observe gathers what decide needs of uid: the task, its containers
// (inspecting those that changed), the runtime's state and its image. ok
// is false when there is nothing to decide: a uid neither held nor with
// containers of this worker.
func (w *Worker) observe(ctx context.Context, uid string) (in syncInput, ok bool, err error) {
	in.Now = w.now()
	in.Policy = policy{BackoffInitial: w.opts.BackoffInitial, BackoffMax: w.opts.BackoffMax, BackoffReset: w.opts.BackoffReset}
	in.HostIP = w.reportHostIP
	cluster := w.clusterID()
	if cluster == "" {
		return in, false, nil // nothing is ours before the worker knows its cluster
	}
	held := w.tasks.has(uid)
	own := func(labels map[string]string) bool { return owns(labels, cluster, held) }
	if !held && !w.adopted.Load() {
		return in, false, nil // strays are removed only once adoption is done
	}
	if down, since := w.containers.runtimeDown(); down != "" {
		in.RuntimeDown = down
		if !since.IsZero() {
			in.RuntimeDown = fmt.Sprintf("%s (since %s)", down, since.UTC().Format(time.RFC3339))
		}
	} else if err := w.inspectStale(ctx, uid, own); err != nil {
		return in, false, err
	}
	in.Containers, _ = w.containers.ofTask(uid, own)
	var pl *pull
	w.tasks.with(uid, func(e *entry) {
		in.Task, in.SpecHash, in.Stopping = e.task, e.specHash, e.stopping
		// hist.Status is never changed in place (entry), and decide
		// builds a new status rather than change this one: no deep copy.
		in.Hist, in.Health, in.KnownRestarts = e.hist, e.health, e.knownRestarts
		pl = e.pull
	})
	state, perr := pl.state()
	switch {
	case perr == nil:
		in.Image = state
	case errors.Is(perr, runtime.ErrImagePull):
		in.Hist.Failure = &failure{Kind: actPull, Message: perr.Error()}
	default:
		// Not the registry's answer (the runtime went away): ask again.
		w.tasks.with(uid, func(e *entry) { e.pull = nil })
		return in, false, fmt.Errorf("image %s for task %s: %w", pl.image, uid, perr)
	}
	return in, in.Task != nil || len(in.Containers) > 0, nil
}

// inspectStale inspects the task's containers that changed since their
// last inspect, and reads the last lines of one that has exited.
func (w *Worker) inspectStale(ctx context.Context, uid string, own func(map[string]string) bool) error {
	_, stale := w.containers.ofTask(uid, own)
	for _, id := range stale {
		c, err := w.rt.Inspect(ctx, id)
		if errors.Is(err, runtime.ErrNotFound) {
			w.containers.gone(id)
			continue
		}
		if err != nil {
			w.kickRelist()
			return fmt.Errorf("inspect container %s of task %s: %w", shortID(id), uid, err)
		}
		o := observed{Container: c}
		if c.State.Started() && !c.State.Running {
			o.Output = w.lastLines(ctx, id)
		}
		w.containers.inspected(o)
	}
	return nil
}

// record keeps what decide returned: the history, the status to report
// (waking the reporter when it changed), an event, and the prober.
func (w *Worker) record(uid string, in syncInput, d decision) {
	changed, onTheWay := false, false
	w.tasks.with(uid, func(e *entry) {
		if e.task != in.Task {
			return // a newer spec arrived meanwhile: its sync decides again
		}
		if d.Action.Kind != actPull && (d.Action.Kind != actNone || in.Image != imagePulling) {
			e.pull = nil // the pull was judged, or is no longer waited for
		}
		changed = !statusEqual(&e.hist.Status, &d.Hist.Status)
		e.hist = d.Hist
		if d.Event != nil {
			e.events = append(e.events, *d.Event)
			changed = true
		}
		if changed {
			e.dirty = true
		}
		onTheWay = !e.stopping && onTheWayToRunning(&d.Hist.Status)
		if !onTheWay {
			e.settle()
		}
	})
	switch {
	case changed && onTheWay:
		w.wakeReporterSoon()
	case changed:
		w.wakeReporter()
	}
	if in.Task != nil && d.Probe.ContainerID != "" {
		w.ensureProber(in.Task, d.Probe)
	} else {
		w.stopProber(uid)
	}
}

// onTheWayToRunning reports whether st is a step a new task passes on its
// way to Running (taken, pulling, being created), with nothing gone wrong:
// a status worth reporting only when it lasts.
func onTheWayToRunning(st *v1.TaskStatus) bool {
	switch st.Phase {
	case "", v1.PhasePending, v1.PhaseScheduled:
		return st.Reason == "" || st.Reason == v1.ReasonContainerCreate
	}
	return false
}

// act carries out one step. A create or start that fails is recorded for
// the next decide to judge; any other failure is returned, and the queue
// retries with backoff.
func (w *Worker) act(ctx context.Context, uid string, in syncInput, a action) error {
	switch a.Kind {
	case actPull:
		pl := w.puller.request(w.runCtx, a.Image, uid)
		w.tasks.with(uid, func(e *entry) { e.pull = pl })
	case actCreate:
		spec := w.containerSpec(&in)
		id, err := w.rt.Create(ctx, spec)
		if err != nil {
			return w.failed(ctx, uid, failure{Kind: actCreate, Message: err.Error()})
		}
		w.containers.changed(id, spec.Labels)
		w.log.Info("container created", "task", in.Task.Metadata.Name, "container", shortID(id), "image", spec.Image)
	case actStart:
		err := w.rt.Start(ctx, a.Container.ID)
		w.containers.changed(a.Container.ID, nil)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return w.failed(ctx, uid, failure{Kind: actStart, ContainerID: a.Container.ID, Message: err.Error()})
		}
		if err == nil {
			w.metrics.starts.Inc()
			if a.Container.State.Started() {
				w.metrics.restarts.WithLabelValues(restartReason(a.Container.State)).Inc()
			}
		}
		w.log.Info("container started", "task", in.Task.Metadata.Name, "container", shortID(a.Container.ID))
	case actStop:
		err := w.rt.Stop(ctx, a.Container.ID, w.opts.StopGrace)
		w.containers.changed(a.Container.ID, nil)
		if err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("stop container %s of task %s: %w", shortID(a.Container.ID), uid, err)
		}
		if err == nil {
			w.metrics.stops.WithLabelValues(stopUnhealthy).Inc()
		}
	case actRemove:
		if err := w.removeContainer(ctx, a.Container); err != nil {
			return fmt.Errorf("task %s: %w", uid, err)
		}
		w.containers.gone(a.Container.ID)
		if a.Container.State.Running {
			w.metrics.stops.WithLabelValues(removeReason(in)).Inc()
		}
	case actForget:
		w.stopProber(uid)
		w.tasks.forget(uid)
		w.log.Info("task stopped", "task", in.Task.Metadata.Name, "uid", uid)
	}
	return nil
}

// removeReason says why a container is removed: no task claims it, its
// task is stopping, or a new spec replaces it.
func removeReason(in syncInput) string {
	switch {
	case in.Task == nil:
		return stopStray
	case in.Stopping:
		return stopDeleted
	}
	return stopReplaced
}

// failed records a failed create or start for decide to judge; when the
// worker is stopping it returns that instead.
func (w *Worker) failed(ctx context.Context, uid string, f failure) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	w.tasks.with(uid, func(e *entry) { e.hist.Failure = &f })
	w.kickRelist() // the runtime may have gone away
	return nil
}

// removeContainer stops a container gracefully if it runs, and removes it.
func (w *Worker) removeContainer(ctx context.Context, c runtime.Container) error {
	if c.State.Running {
		if err := w.rt.Stop(ctx, c.ID, w.opts.StopGrace); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			return fmt.Errorf("stop container %s: %w", shortID(c.ID), err)
		}
	}
	if err := w.rt.Remove(ctx, c.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		return fmt.Errorf("remove container %s: %w", shortID(c.ID), err)
	}
	return nil
}

// lastLines returns the container's last output lines.
func (w *Worker) lastLines(ctx context.Context, id string) string {
	rc, err := w.rt.Logs(ctx, id, runtime.LogOptions{Tail: logLinesOnFailure})
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 4<<10))
	if err != nil {
		return ""
	}
	return string(data)
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// statusEqual reports whether two statuses would be reported alike, the
// conditions' transition times aside: it is called at every step of every
// sync, so it compares the fields rather than their encodings (a nil and
// an empty list are alike, as they encode alike).
func statusEqual(a, b *v1.TaskStatus) bool {
	return a.Phase == b.Phase && a.Reason == b.Reason && a.Message == b.Message && a.Worker == b.Worker &&
		a.ContainerID == b.ContainerID && a.HostIP == b.HostIP && a.RestartCount == b.RestartCount &&
		a.ObservedGeneration == b.ObservedGeneration && slices.Equal(a.Ports, b.Ports) &&
		(a.ExitCode == nil) == (b.ExitCode == nil) && (a.ExitCode == nil || *a.ExitCode == *b.ExitCode) &&
		sameTime(a.StartedAt, b.StartedAt) && sameTime(a.FinishedAt, b.FinishedAt) &&
		slices.EqualFunc(a.Conditions, b.Conditions, func(x, y v1.Condition) bool {
			return x.Type == y.Type && x.Status == y.Status && x.Reason == y.Reason && x.Message == y.Message &&
				x.ObservedGeneration == y.ObservedGeneration
		})
}

// sameTime reports whether two times encode alike: both absent, or the
// same instant at the same offset from UTC.
func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	_, ao := a.Zone()
	_, bo := b.Zone()
	return a.Equal(*b) && ao == bo
}
