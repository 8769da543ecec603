package workerd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/workerd/runtime"
)

// LabelTask holds the task's metadata and spec as JSON on its container, so
// a restarted worker can rebuild its map before the manager answers.
const LabelTask = "io.minkube.task"

// logLinesOnFailure is how many lines of a failed container's output go
// into the task's message.
const logLinesOnFailure = 5

// Reconcile converges Docker to the task with uid req.Key.
func (w *Worker) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	uid := req.Key
	if uid == "" {
		// A list filtered on an empty uid would match other tasks'
		// containers; nothing holds an empty uid.
		return reconcile.Result{}, nil
	}
	containers, err := w.rt.List(ctx, map[string]string{runtime.LabelWorker: w.opts.Name, runtime.LabelTaskUID: uid})
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("list containers of task %s: %w", uid, err)
	}
	var task *v1.Task
	var stopping bool
	w.tasks.with(uid, func(e *entry) { task, stopping = e.task, e.stopping })
	if task == nil || stopping {
		w.stopProber(uid)
		for _, c := range containers {
			if err := w.removeContainer(ctx, c); err != nil {
				return reconcile.Result{}, err
			}
		}
		if task != nil {
			w.tasks.forget(uid)
			w.log.Info("task stopped", "task", task.Metadata.Name, "uid", uid)
		} else if len(containers) > 0 {
			w.log.Info("removed containers of a task this worker does not hold", "uid", uid, "containers", len(containers))
		}
		return reconcile.Result{}, nil
	}

	hash := task.Spec.Hash()
	var cur *runtime.Container
	for i := range containers {
		c := &containers[i]
		if c.Labels[runtime.LabelSpecHash] == hash && (cur == nil || (!cur.State.Running && c.State.Running)) {
			cur = c
		}
	}
	for _, c := range containers {
		if cur != nil && c.ID == cur.ID {
			continue
		}
		// An older spec, or a duplicate: replace it.
		if err := w.removeContainer(ctx, c); err != nil {
			return reconcile.Result{}, err
		}
	}
	if cur == nil {
		w.stopProber(uid)
		return w.create(ctx, task)
	}
	return w.observe(ctx, task, *cur)
}

// removeContainer stops a container gracefully and removes it.
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

// create pulls the image if needed, then creates and starts the container,
// unless the task has finished or waits out a backoff.
func (w *Worker) create(ctx context.Context, task *v1.Task) (reconcile.Result, error) {
	uid := task.Metadata.UID
	var status v1.TaskStatus
	var nextStart time.Time
	w.tasks.with(uid, func(e *entry) { status, nextStart = e.status, e.nextStart })
	if status.Phase.Terminal() {
		return reconcile.Result{}, nil
	}
	now := w.now()
	if now.Before(nextStart) {
		return reconcile.Result{RequeueAfter: nextStart.Sub(now)}, nil
	}

	if err := w.rt.EnsureImage(ctx, task.Spec.Image); err != nil {
		if ctx.Err() != nil {
			return reconcile.Result{}, ctx.Err()
		}
		delay := w.backOffStart(uid, now, func(failures int, delay time.Duration) (string, string) {
			reason := v1.ReasonErrImagePull
			if failures > 1 {
				reason = v1.ReasonImagePullBackOff
			}
			return reason, fmt.Sprintf("cannot pull image %q (retrying in %s): %v", task.Spec.Image, delay, err)
		})
		w.log.Warn("image pull failed", "task", task.Metadata.Name, "image", task.Spec.Image, "err", err)
		return reconcile.Result{RequeueAfter: delay}, nil
	}

	spec := w.containerSpec(task)
	id, err := w.rt.Create(ctx, spec)
	if err == nil {
		err = w.rt.Start(ctx, id)
		if err != nil {
			_ = w.rt.Remove(ctx, id) // best effort: the next pass removes it too
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return reconcile.Result{}, ctx.Err()
		}
		delay := w.backOffStart(uid, now, func(_ int, delay time.Duration) (string, string) {
			return v1.ReasonStartError, fmt.Sprintf("cannot start container (retrying in %s): %v", delay, err)
		})
		return reconcile.Result{RequeueAfter: delay}, nil
	}
	c, err := w.rt.Inspect(ctx, id)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("inspect new container of task %q: %w", task.Metadata.Name, err)
	}
	w.log.Info("container started", "task", task.Metadata.Name, "container", shortID(id), "image", task.Spec.Image)
	return w.observe(ctx, task, c)
}

// backOffStart counts a failed attempt to start the task, records the
// reason and message describe gives for it, and returns how long to wait
// before the next attempt (BackoffInitial doubling to BackoffMax).
func (w *Worker) backOffStart(uid string, now time.Time, describe func(failures int, delay time.Duration) (string, string)) time.Duration {
	var delay time.Duration
	w.updateStatus(uid, func(e *entry, st *v1.TaskStatus) {
		e.failures++
		delay = backoffFor(e.failures, w.opts.BackoffInitial, w.opts.BackoffMax)
		e.nextStart = now.Add(delay)
		st.Reason, st.Message = describe(e.failures, delay)
	})
	return delay
}

// observe records a container's state and restarts it when it has stopped
// and the policy says so.
func (w *Worker) observe(ctx context.Context, task *v1.Task, c runtime.Container) (reconcile.Result, error) {
	uid := task.Metadata.UID
	now := w.now()
	if c.State.Running {
		var unhealthy bool
		w.tasks.with(uid, func(e *entry) { unhealthy = e.unhealthy == c.ID })
		if unhealthy {
			// Its health check failed failureThreshold times: stop it and
			// let the policy restart it.
			w.stopProber(uid)
			if err := w.rt.Stop(ctx, c.ID, w.opts.StopGrace); err != nil {
				return reconcile.Result{}, fmt.Errorf("stop unhealthy container of task %q: %w", task.Metadata.Name, err)
			}
			// e.unhealthy stays set until the restart: the stopped
			// container is judged a failure whatever its exit code.
			stopped, err := w.rt.Inspect(ctx, c.ID)
			if err != nil {
				return reconcile.Result{}, fmt.Errorf("inspect stopped container of task %q: %w", task.Metadata.Name, err)
			}
			return w.observe(ctx, task, stopped)
		}
		w.ensureProber(task, c)
		var result reconcile.Result
		w.updateStatus(uid, func(e *entry, st *v1.TaskStatus) {
			e.failures = 0
			newContainer := st.ContainerID != c.ID || st.Phase != v1.PhaseRunning
			st.Phase = v1.PhaseRunning
			if st.Reason != v1.ReasonUnhealthy || newContainer {
				st.Reason, st.Message = "", ""
			}
			st.ContainerID = c.ID
			st.Ports = portStatus(task, c)
			st.StartedAt = timePtr(c.State.StartedAt)
			st.FinishedAt = nil
			st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{Type: v1.TaskStarted, Status: v1.ConditionTrue, Reason: "ContainerRunning"}, now)
			switch {
			case task.Spec.HealthCheck == nil:
				st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionTrue, Reason: "ContainerRunning"}, now)
			case newContainer:
				st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: "HealthCheckPending"}, now)
			}
			if e.backoff > 0 {
				// Forget the backoff once the container has run cleanly
				// for BackoffReset.
				if ran := now.Sub(c.State.StartedAt); ran >= w.opts.BackoffReset {
					e.backoff = 0
				} else {
					result.RequeueAfter = w.opts.BackoffReset - ran
				}
			}
		})
		return result, nil
	}

	w.stopProber(uid)
	code := int32(c.State.ExitCode)
	finished := c.State.FinishedAt
	// A container stopped for failing its health check did not complete,
	// even when it exited 0 on SIGTERM: it counts as a failure.
	var unhealthy bool
	w.tasks.with(uid, func(e *entry) { unhealthy = e.unhealthy == c.ID })
	failed := code != 0 || unhealthy
	restart := false
	switch task.Spec.RestartPolicy {
	case v1.RestartNever:
	case v1.RestartOnFailure:
		restart = failed
	default:
		restart = true
	}
	if !restart {
		phase, reason := v1.PhaseSucceeded, v1.ReasonCompleted
		msg := fmt.Sprintf("container exited with code %d", code)
		switch {
		case unhealthy:
			phase, reason = v1.PhaseFailed, v1.ReasonUnhealthy
			msg = fmt.Sprintf("container stopped after failing its health check; it exited with code %d", code)
		case failed:
			phase, reason = v1.PhaseFailed, v1.ReasonError
			msg += w.lastLines(ctx, c.ID)
		}
		// e.unhealthy stays: later passes over this stopped container
		// must reach the same verdict.
		w.updateStatus(uid, func(_ *entry, st *v1.TaskStatus) {
			st.Phase, st.Reason, st.Message = phase, reason, msg
			st.ContainerID = c.ID
			st.ExitCode = &code
			st.StartedAt = timePtr(c.State.StartedAt)
			st.FinishedAt = timePtr(finished)
			st.Ports = nil
			st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: reason}, now)
		})
		return reconcile.Result{}, nil
	}

	var due time.Time
	w.tasks.with(uid, func(e *entry) {
		if e.nextStart.IsZero() || e.nextStart.Before(finished) {
			e.nextStart = finished.Add(w.nextBackoff(e, c.State.StartedAt, finished))
		}
		due = e.nextStart
	})
	if wait := due.Sub(now); wait > 0 {
		msg := fmt.Sprintf("back-off %s restarting the container; it exited with code %d", wait.Round(time.Millisecond), code) + w.lastLines(ctx, c.ID)
		w.updateStatus(uid, func(_ *entry, st *v1.TaskStatus) {
			st.Reason, st.Message = v1.ReasonCrashLoopBackOff, msg
			st.ExitCode = &code
			st.FinishedAt = timePtr(finished)
			st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: v1.ReasonCrashLoopBackOff}, now)
		})
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	if err := w.rt.Start(ctx, c.ID); err != nil {
		return reconcile.Result{}, fmt.Errorf("restart container of task %q: %w", task.Metadata.Name, err)
	}
	w.updateStatus(uid, func(e *entry, st *v1.TaskStatus) {
		e.unhealthy = ""
		st.RestartCount++
		st.ExitCode = &code
	})
	w.log.Info("container restarted", "task", task.Metadata.Name, "container", shortID(c.ID), "exitCode", code)
	c2, err := w.rt.Inspect(ctx, c.ID)
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("inspect restarted container of task %q: %w", task.Metadata.Name, err)
	}
	return w.observe(ctx, task, c2)
}

// nextBackoff returns the wait before the next start and advances the
// backoff: the first restart after a clean run is at once, then
// BackoffInitial doubling to BackoffMax. A run of BackoffReset or more
// counts as clean.
func (w *Worker) nextBackoff(e *entry, started, finished time.Time) time.Duration {
	if !started.IsZero() && finished.Sub(started) >= w.opts.BackoffReset {
		e.backoff = 0
	}
	wait := e.backoff
	switch {
	case e.backoff == 0:
		e.backoff = w.opts.BackoffInitial
	default:
		e.backoff = min(2*e.backoff, w.opts.BackoffMax)
	}
	return wait
}

// backoffFor is the wait after n failures in a row: initial doubling to max.
func backoffFor(n int, initial, maxWait time.Duration) time.Duration {
	d := initial
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	return min(d, maxWait)
}

// updateStatus changes the status of uid under the map's lock and, when it
// changed, marks it for the next report and wakes the reporter.
func (w *Worker) updateStatus(uid string, fn func(e *entry, st *v1.TaskStatus)) {
	changed := false
	w.tasks.with(uid, func(e *entry) {
		before := e.status.DeepCopy()
		fn(e, &e.status)
		e.status.ObservedGeneration = e.task.Metadata.Generation
		if !statusEqual(before, &e.status) {
			e.dirty = true
			changed = true
		}
	})
	if changed {
		w.wakeReporter()
	}
}

// lastLines returns the container's last output lines, for a message.
func (w *Worker) lastLines(ctx context.Context, id string) string {
	rc, err := w.rt.Logs(ctx, id, runtime.LogOptions{Tail: logLinesOnFailure})
	if err != nil {
		return ""
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 4<<10))
	if err != nil || len(data) == 0 {
		return ""
	}
	lines := strings.Fields(strings.ReplaceAll(strings.TrimSpace(string(data)), "\n", " | "))
	return "; last output: " + strings.Join(lines, " ")
}

// containerSpec builds the container for a task.
func (w *Worker) containerSpec(t *v1.Task) runtime.ContainerSpec {
	meta, _ := json.Marshal(struct { // a Task always marshals
		Metadata v1.ObjectMeta `json:"metadata"`
		Spec     v1.TaskSpec   `json:"spec"`
	}{
		Metadata: v1.ObjectMeta{
			Name: t.Metadata.Name, UID: t.Metadata.UID, Generation: t.Metadata.Generation,
			Labels: t.Metadata.Labels,
		},
		Spec: t.Spec,
	})
	spec := runtime.ContainerSpec{
		Name:       containerName(t, w.opts.Name),
		Image:      t.Spec.Image,
		Entrypoint: t.Spec.Command,
		Cmd:        t.Spec.Args,
		Labels: map[string]string{
			runtime.LabelTaskUID:  t.Metadata.UID,
			runtime.LabelTaskName: t.Metadata.Name,
			runtime.LabelSpecHash: t.Spec.Hash(),
			runtime.LabelWorker:   w.opts.Name,
			LabelTask:             string(meta),
		},
		NanoCPUs: t.Spec.Resources.MilliCPU() * 1_000_000,
		Memory:   t.Spec.Resources.MemoryBytes(),
	}
	for _, e := range t.Spec.Env {
		spec.Env = append(spec.Env, e.Name+"="+e.Value)
	}
	for _, p := range t.Spec.Ports {
		spec.Ports = append(spec.Ports, runtime.PortBinding{
			ContainerPort: p.ContainerPort,
			HostPort:      p.HostPort,
			Protocol:      strings.ToLower(string(p.Protocol)),
			HostIP:        w.opts.PortHostIP,
		})
	}
	w.applyContainerDNS(&spec)
	return spec
}

// containerName is unique per task incarnation and worker (several
// workers may share one engine), and readable in docker ps.
func containerName(t *v1.Task, worker string) string {
	uid := t.Metadata.UID
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return "mk-" + t.Metadata.Name + "-" + uid + "-" + worker
}

// portStatus maps the container's bindings back to the task's ports.
func portStatus(t *v1.Task, c runtime.Container) []v1.PortStatus {
	out := make([]v1.PortStatus, 0, len(t.Spec.Ports))
	for _, p := range t.Spec.Ports {
		ps := v1.PortStatus{Name: p.Name, ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: p.Protocol}
		for _, b := range c.Ports {
			if b.ContainerPort == p.ContainerPort && strings.EqualFold(b.Protocol, string(p.Protocol)) && b.HostPort != 0 {
				ps.HostPort = b.HostPort
				break
			}
		}
		out = append(out, ps)
	}
	if len(out) == 0 {
		return nil
	}
	return out
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

// statusEqual compares statuses, ignoring condition transition times.
func statusEqual(a, b *v1.TaskStatus) bool {
	ja, _ := json.Marshal(stripTimes(*a))
	jb, _ := json.Marshal(stripTimes(*b))
	return string(ja) == string(jb)
}

func stripTimes(s v1.TaskStatus) v1.TaskStatus {
	conds := make([]v1.Condition, len(s.Conditions))
	for i, c := range s.Conditions {
		c.LastTransitionTime = nil
		conds[i] = c
	}
	s.Conditions = conds
	return s
}
