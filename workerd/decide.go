package workerd

import (
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// This file is the worker's policy: decide takes what the worker knows of
// one task (the task, its containers as last inspected, whether the
// runtime answers, its image, the health checks and the history of its
// restarts and failures) and returns the one next step and the status to
// report. It does no I/O and reads no clock. Reconcile (task_sync.go)
// gathers the input, carries the step out and asks again.

// actionKind is a step decide can ask for.
type actionKind int

const (
	// actNone: nothing to do; look again after decision.After, or when
	// something changes.
	actNone actionKind = iota
	// actPull: have the image of the current spec pulled, off the sync
	// path; the task is woken when the pull ends.
	actPull
	// actCreate: create (not start) a container of the current spec.
	actCreate
	// actStart: start the container (created, or exited and due for a
	// restart).
	actStart
	// actStop: stop the running container gracefully and keep it, to be
	// judged by its exit (a failed health check).
	actStop
	// actRemove: stop the container gracefully if it runs, then remove it.
	actRemove
	// actForget: the task is stopped and its containers gone: forget it.
	actForget
)

var actionNames = [...]string{"none", "pull", "create", "start", "stop", "remove", "forget"}

func (k actionKind) String() string { return actionNames[k] }

// action is the step decide asks for.
type action struct {
	Kind actionKind
	// Container is the one to start, stop or remove.
	Container runtime.Container
	// Image is the one to pull.
	Image string
}

// observed is a container as the worker last inspected it.
type observed struct {
	runtime.Container
	// Output is the end of its log, read once after it exited.
	Output string
}

// imageState is what the worker knows of the current spec's image.
type imageState int

const (
	// imageUnknown: no pull asked for since the last create; ask for one
	// (a present image makes it a single inspect).
	imageUnknown imageState = iota
	// imagePulling: a pull is under way; the task is woken when it ends.
	imagePulling
	// imageReady: the image is present.
	imageReady
)

// failure is an action that failed, recorded by the acting code and judged
// by the next decide.
type failure struct {
	Kind actionKind
	// ContainerID is the container a failed start was for.
	ContainerID string
	Message     string
}

// run names one run of a container: a restart keeps the ID and changes
// the start time (in Unix nanoseconds).
type run struct {
	ContainerID string
	StartedAt   int64
}

// runOf returns the current or last run of c.
func runOf(c runtime.Container) run {
	return run{ContainerID: c.ID, StartedAt: c.State.StartedAt.UnixNano()}
}

// health is what the health checks say of one run of a container; written
// by its prober only.
type health struct {
	Run run
	// Checked is true once a check has finished; Passed says how the last
	// one went, Message why it failed.
	Checked, Passed bool
	Message         string
	// Unhealthy is true once failureThreshold checks in a row failed: the
	// run is to be stopped and counts as failed.
	Unhealthy bool
}

// history is what decide remembers of a task between passes. Only
// Reconcile writes it, with what decide returns.
type history struct {
	// Status is the last status decided, reported to the manager.
	Status v1.TaskStatus
	// Generation is the task generation the backoffs below count for; a
	// newer one starts them afresh.
	Generation int64
	// Backoff is the wait before the next crash restart; NextStart is the
	// earliest moment of the next start, create or pull.
	Backoff   time.Duration
	NextStart time.Time
	// Failures counts pulls, creates and starts that failed in a row; the
	// last one is described by FailReason and FailMessage.
	Failures                int
	FailReason, FailMessage string
	// Failure is an action that failed and is not judged yet.
	Failure *failure
	// FailedStart is the ID of the last container whose start failed: it
	// is removed, not started again.
	FailedStart string
	// Unhealthy says why a run was stopped for failing its health check;
	// the status keeps saying it until a later run passes a check.
	Unhealthy string
	// Ports are the host ports the task's container last published, kept
	// for the next container (the worker chooses the ports the task leaves
	// open, and keeps them).
	Ports []v1.PortStatus
}

// policy holds the timings decide applies.
type policy struct {
	BackoffInitial, BackoffMax, BackoffReset time.Duration
}

// syncInput is everything decide looks at for one task.
type syncInput struct {
	// Task is the task as the worker holds it; nil when it holds none for
	// this uid (its containers are strays).
	Task *v1.Task
	// SpecHash is Task.Spec.Hash(), as the worker keeps it; "" has decide
	// compute it.
	SpecHash string
	// Stopping: the task is to be stopped and forgotten.
	Stopping bool
	// Containers are the task's containers this worker may touch, as last
	// inspected, oldest first.
	Containers []observed
	// RuntimeDown says why the runtime does not answer; "" when it does.
	RuntimeDown string
	Image       imageState
	// Health is the last health check result of the task's prober.
	Health health
	// KnownRestarts is the restart count the manager has recorded (kept
	// across a worker restart).
	KnownRestarts int32
	// HostIP is where the task's ports are reached.
	HostIP string
	Hist   history
	Now    time.Time
	Policy policy
}

// specHash returns the hash of the task's spec.
func (in *syncInput) specHash() string {
	if in.SpecHash != "" {
		return in.SpecHash
	}
	return in.Task.Spec.Hash()
}

// decision is what decide returns.
type decision struct {
	Action action
	// After, with actNone, asks to look again after this long; 0 waits
	// for a change.
	After time.Duration
	// Hist is the history after this pass, Status included.
	Hist history
	// Event, when set, is reported to the manager to record.
	Event *v1.ReportedEvent
	// Probe is the container whose run the health checks follow; zero when
	// none is to be checked.
	Probe run
}

// decide returns the next step for one task and the status to report. It
// is the worker's one place of policy: make-before-break updates, restart
// policies and their backoff, pull and start failures, health checks,
// strays and an unreachable runtime.
func decide(in syncInput) decision {
	d := decision{Hist: in.Hist}
	if in.Task == nil || in.Stopping {
		return decideStop(in, d)
	}
	h := &d.Hist
	if in.RuntimeDown != "" {
		// Say that the status is the last one seen; act on nothing.
		h.Status = unreachableStatus(h.Status, in.RuntimeDown, in.Now)
		return d
	}
	t := in.Task
	if t.Metadata.Generation != h.Generation {
		// A new spec starts its backoffs afresh.
		h.Generation = t.Metadata.Generation
		h.Backoff, h.NextStart, h.Failures, h.FailReason, h.FailMessage = 0, time.Time{}, 0, "", ""
	}
	if f := h.Failure; f != nil {
		h.Failure = nil
		judgeFailure(t, h, f, in.Now, in.Policy)
	}
	p := newPlan(&in, h)
	p.step(&d)
	h.Status = p.status()
	if s := p.subject(); s != nil && s.State.Running && t.Spec.HealthCheck != nil {
		d.Probe = runOf(s.Container)
	}
	return d
}

// plan is one pass of decide over a task that is to run: its containers
// sorted out, and what the pass found that the status must say.
type plan struct {
	in *syncInput
	h  *history
	// cur is the container of the current spec to keep; dups are more of
	// it; old are containers of older specs, of which serving is one that
	// still runs.
	cur     *observed
	dups    []observed
	old     []observed
	serving *observed

	// What the step found, for the status.
	pulling   bool          // the current spec's image is being pulled
	final     bool          // cur has exited for good
	crashWait time.Duration // cur has exited and restarts after this
}

func newPlan(in *syncInput, h *history) plan {
	p := plan{in: in, h: h}
	hash := in.specHash()
	for i := range in.Containers {
		c := &in.Containers[i]
		switch {
		case c.Labels[runtime.LabelSpecHash] != hash:
			p.old = append(p.old, *c)
		case p.cur == nil:
			p.cur = c
		case better(*c, *p.cur):
			p.dups = append(p.dups, *p.cur)
			p.cur = c
		default:
			p.dups = append(p.dups, *c)
		}
	}
	for i := range p.old {
		if p.old[i].State.Running {
			p.serving = &p.old[i]
			break
		}
	}
	return p
}

// step sets the decision's action (and when to look again).
func (p *plan) step(d *decision) {
	in, h, cur := p.in, p.h, p.cur
	switch {
	case len(p.dups) > 0:
		d.Action = action{Kind: actRemove, Container: p.dups[0].Container}
	case cur != nil && cur.State.Running:
		h.Failures, h.FailReason, h.FailMessage, h.FailedStart = 0, "", "", ""
		switch {
		case p.unhealthy(cur):
			// It failed its health check failureThreshold times: stop
			// it; its exit is judged a failure and the policy restarts it.
			h.Unhealthy = in.Health.Message + "; restarting the container"
			d.Action = action{Kind: actStop, Container: cur.Container}
		case len(p.old) > 0:
			// Make before break: the new container runs, the old goes.
			d.Action = action{Kind: actRemove, Container: p.old[0].Container}
		case h.Backoff > 0:
			// Forget the restart backoff once the container has run
			// cleanly for BackoffReset.
			if ran := in.Now.Sub(cur.State.StartedAt); ran >= in.Policy.BackoffReset {
				h.Backoff = 0
			} else {
				d.After = in.Policy.BackoffReset - ran
			}
		}
	case cur != nil && (cur.ID == h.FailedStart || cur.State.Error != ""):
		// Its start failed: remove it, and create another after the
		// backoff (a host port it asked for may be taken for good).
		d.Action = action{Kind: actRemove, Container: cur.Container}
	case cur != nil && cur.State.Started():
		p.exited(d)
	case h.Status.Phase.Terminal():
		// Finished, and its container is gone: the verdict stays.
	default:
		p.create(d)
	}
}

// exited applies the restart policy to cur, which has run and exited.
func (p *plan) exited(d *decision) {
	in, h, t, cur := p.in, p.h, p.in.Task, p.cur
	failed := cur.State.ExitCode != 0 || p.unhealthy(cur)
	restart := true
	switch t.Spec.RestartPolicy {
	case v1.RestartNever:
		restart = false
	case v1.RestartOnFailure:
		restart = failed
	}
	if !restart || h.Status.Phase.Terminal() {
		p.final = true
		if len(p.old) > 0 {
			d.Action = action{Kind: actRemove, Container: p.old[0].Container}
		}
		return
	}
	finished := cur.State.FinishedAt
	if h.NextStart.IsZero() || h.NextStart.Before(finished) {
		h.NextStart = finished.Add(nextBackoff(h, cur.State.StartedAt, finished, in.Policy))
	}
	if wait := h.NextStart.Sub(in.Now); wait > 0 {
		p.crashWait = wait
		d.After = wait
		return
	}
	h.Status.RestartCount = max(h.Status.RestartCount, in.KnownRestarts) + 1
	d.Action = action{Kind: actStart, Container: cur.Container}
}

// create gets a container of the current spec running: older ones that
// serve nothing go first, then the image is pulled, the container created
// while the old one still serves (unless they need the same host port)
// and started.
func (p *plan) create(d *decision) {
	in, h, t, cur := p.in, p.h, p.in.Task, p.cur
	for _, c := range p.old {
		if !c.State.Running {
			d.Action = action{Kind: actRemove, Container: c.Container}
			return
		}
	}
	if wait := h.NextStart.Sub(in.Now); wait > 0 {
		d.After = wait
		return
	}
	conflict := p.serving != nil && portConflict(t.Spec, p.serving.Container)
	switch {
	case cur != nil && conflict:
		breakBeforeMake(d, *p.serving, t.Spec.Image)
	case cur != nil:
		// Created and never started: workerd stopped between the two,
		// or the last pass created it.
		d.Action = action{Kind: actStart, Container: cur.Container}
	case in.Image == imageUnknown:
		d.Action = action{Kind: actPull, Image: t.Spec.Image}
	case in.Image == imagePulling:
		p.pulling = true
	case conflict:
		breakBeforeMake(d, *p.serving, t.Spec.Image)
	default:
		d.Action = action{Kind: actCreate}
	}
}

// unhealthy reports whether c's current run failed its health check.
func (p *plan) unhealthy(c *observed) bool {
	return p.in.Health.Unhealthy && p.in.Health.Run == runOf(c.Container)
}

// subject is the container the status speaks of: the current spec's once
// it has started, else an older one that still serves, else none.
func (p *plan) subject() *observed {
	switch {
	case p.cur != nil && p.cur.State.Started() && p.cur.ID != p.h.FailedStart:
		return p.cur
	case p.serving != nil:
		return p.serving
	}
	return nil
}

// waiting returns why the current spec does not run yet.
func (p *plan) waiting() (reason, message string) {
	switch {
	case p.h.FailReason != "":
		return p.h.FailReason, p.h.FailMessage
	case p.pulling:
		return v1.ReasonContainerCreate, fmt.Sprintf("pulling image %q", p.in.Task.Spec.Image)
	}
	return v1.ReasonContainerCreate, "creating the container"
}

// status derives the status from what was observed: a phase of Running
// and a Ready condition of True need a running container, the one
// reported; observedGeneration is the generation of that container's spec.
func (p *plan) status() v1.TaskStatus {
	in, h, t := p.in, p.h, p.in.Task
	prev := h.Status
	subject := p.subject()
	if subject == nil && prev.Phase.Terminal() {
		return prev
	}
	st := v1.TaskStatus{
		RestartCount:       max(prev.RestartCount, in.KnownRestarts),
		HostIP:             in.HostIP,
		ObservedGeneration: t.Metadata.Generation,
		// The conditions' times are shared with prev: SetCondition
		// points a condition at a new time, it never writes through one.
		Conditions: slices.Clone(prev.Conditions),
	}
	if subject != nil && subject != p.cur {
		st.ObservedGeneration = generationOf(subject.Container)
	}
	cond := func(typ string, status v1.ConditionStatus, reason, msg string) {
		// Updated judges the spec the worker holds; the others speak of
		// the container reported.
		gen := st.ObservedGeneration
		if typ == v1.TaskUpdated {
			gen = t.Metadata.Generation
		}
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
		}, in.Now)
	}
	reason, msg := p.waiting()
	if subject == nil {
		st.Phase, st.Reason, st.Message = v1.PhaseScheduled, reason, msg
		cond(v1.TaskStarted, v1.ConditionFalse, reason, "")
		cond(v1.TaskReady, v1.ConditionFalse, reason, "")
		cond(v1.TaskUpdated, v1.ConditionFalse, reason, msg)
		return st
	}
	c := subject.State
	st.ContainerID = subject.ID
	st.StartedAt = timePtr(c.StartedAt)
	if subject != p.cur {
		// An older spec's container still serves: the update waits.
		msg = fmt.Sprintf("%s; container %s of generation %d keeps serving", msg, shortID(subject.ID), st.ObservedGeneration)
		cond(v1.TaskUpdated, v1.ConditionFalse, reason, msg)
		st.Reason, st.Message = reason, msg
	} else {
		cond(v1.TaskUpdated, v1.ConditionTrue, v1.ReasonUpToDate, "")
	}
	if c.Running {
		st.Phase = v1.PhaseRunning
		st.Ports = portStatus(t, subject.Container)
		h.Ports = st.Ports
		if prev.ContainerID == subject.ID {
			st.ExitCode = prev.ExitCode // of the run before the last restart
		}
		cond(v1.TaskStarted, v1.ConditionTrue, "ContainerRunning", "")
		hc := in.Health
		switch {
		case t.Spec.HealthCheck == nil:
			cond(v1.TaskReady, v1.ConditionTrue, "ContainerRunning", "")
		case hc.Run != runOf(subject.Container) || !hc.Checked:
			cond(v1.TaskReady, v1.ConditionFalse, "HealthCheckPending", "")
		case hc.Passed:
			cond(v1.TaskReady, v1.ConditionTrue, "HealthCheckPassed", "")
			h.Unhealthy = ""
		default:
			cond(v1.TaskReady, v1.ConditionFalse, v1.ReasonUnhealthy, hc.Message)
		}
		if h.Unhealthy != "" && subject == p.cur {
			st.Reason, st.Message = v1.ReasonUnhealthy, h.Unhealthy
		}
		return st
	}

	// cur has run and exited.
	code := int32(c.ExitCode)
	st.ExitCode = &code
	st.FinishedAt = timePtr(c.FinishedAt)
	unhealthy := p.unhealthy(subject)
	if p.final {
		st.Phase, st.Reason = v1.PhaseSucceeded, v1.ReasonCompleted
		st.Message = fmt.Sprintf("container exited with code %d", code)
		switch {
		case unhealthy:
			st.Phase, st.Reason = v1.PhaseFailed, v1.ReasonUnhealthy
			st.Message = fmt.Sprintf("container stopped after failing its health check; it exited with code %d", code)
		case code != 0:
			st.Phase, st.Reason = v1.PhaseFailed, v1.ReasonError
			st.Message += lastOutput(subject.Output)
		}
		cond(v1.TaskReady, v1.ConditionFalse, st.Reason, "")
		return st
	}
	// It restarts by its policy, after the backoff.
	st.Phase, st.Reason = v1.PhaseRunning, v1.ReasonCrashLoopBackOff
	st.Message = fmt.Sprintf("back-off %s restarting the container; it exited with code %d", p.crashWait.Round(time.Millisecond), code)
	if unhealthy {
		st.Message = fmt.Sprintf("back-off %s restarting the container; it was stopped after failing its health check", p.crashWait.Round(time.Millisecond))
	}
	st.Message += lastOutput(subject.Output)
	cond(v1.TaskReady, v1.ConditionFalse, v1.ReasonCrashLoopBackOff, "")
	return st
}

// decideStop removes the containers of a task that is to stop (or of a
// uid the worker does not hold), then forgets the task.
func decideStop(in syncInput, d decision) decision {
	if in.RuntimeDown != "" {
		return d // the runtime is asked again when it is back
	}
	for _, c := range in.Containers {
		d.Action = action{Kind: actRemove, Container: c.Container}
		return d
	}
	if in.Task != nil {
		d.Action = action{Kind: actForget}
	}
	return d
}

// judgeFailure counts a failed pull, create or start, sets the backoff
// before the next attempt (BackoffInitial doubling to BackoffMax) and the
// reason and message the status gives for it.
func judgeFailure(t *v1.Task, h *history, f *failure, now time.Time, p policy) {
	h.Failures++
	delay := backoffFor(h.Failures, p.BackoffInitial, p.BackoffMax)
	h.NextStart = now.Add(delay)
	if f.Kind == actPull {
		h.FailReason = v1.ReasonErrImagePull
		if h.Failures > 1 {
			h.FailReason = v1.ReasonImagePullBackOff
		}
		h.FailMessage = fmt.Sprintf("cannot pull image %q (retrying in %s): %s", t.Spec.Image, delay, f.Message)
		return
	}
	if f.Kind == actStart {
		h.FailedStart = f.ContainerID
	}
	h.FailReason = v1.ReasonStartError
	h.FailMessage = fmt.Sprintf("cannot start container (retrying in %s): %s", delay, f.Message)
}

// breakBeforeMake removes the old container first: the new one needs a
// host port the old one holds. The image is already pulled, so the gap is
// as short as it can be.
func breakBeforeMake(d *decision, serving observed, image string) {
	d.Action = action{Kind: actRemove, Container: serving.Container}
	d.Event = &v1.ReportedEvent{Type: v1.EventNormal, Reason: v1.ReasonBreakBeforeMake, Message: fmt.Sprintf(
		"stopping container %s before its replacement (image %s) starts: they need the same host port",
		shortID(serving.ID), image)}
}

// generationOf returns the task generation a container was made for, from
// its labels; 0 when they do not say.
func generationOf(c runtime.Container) int64 {
	t, err := taskFromLabels(c.Labels)
	if err != nil {
		return 0
	}
	return t.Metadata.Generation
}

// lastOutput renders a container's last output lines for a message.
func lastOutput(out string) string {
	out = strings.TrimSpace(out)
	if out == "" {
		return ""
	}
	return "; last output: " + strings.Join(strings.Fields(strings.ReplaceAll(out, "\n", " | ")), " ")
}

// better reports whether a is a better container to keep than b, of two of
// the same spec: a running one, else the later created.
func better(a, b observed) bool {
	if a.State.Running != b.State.Running {
		return a.State.Running
	}
	return a.State.StartedAt.After(b.State.StartedAt)
}

// portConflict reports whether the spec asks for a host port that c
// publishes.
func portConflict(spec v1.TaskSpec, c runtime.Container) bool {
	for _, p := range spec.Ports {
		if p.HostPort == 0 {
			continue
		}
		for _, b := range c.Ports {
			if b.HostPort == p.HostPort && strings.EqualFold(b.Protocol, string(p.Protocol)) {
				return true
			}
		}
	}
	return false
}

// nextBackoff returns the wait before the restart after a run from started
// to finished and advances the backoff: the first restart after a clean run
// is at once, then BackoffInitial doubling to BackoffMax. A run of
// BackoffReset or more counts as clean.
func nextBackoff(h *history, started, finished time.Time, p policy) time.Duration {
	if !started.IsZero() && finished.Sub(started) >= p.BackoffReset {
		h.Backoff = 0
	}
	wait := h.Backoff
	if h.Backoff == 0 {
		h.Backoff = p.BackoffInitial
	} else {
		h.Backoff = min(2*h.Backoff, p.BackoffMax)
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

// unreachableStatus marks the last status seen as such: Ready is Unknown
// and the reason says the runtime does not answer.
func unreachableStatus(st v1.TaskStatus, why string, now time.Time) v1.TaskStatus {
	st = *st.DeepCopy()
	msg := "cannot reach the container runtime; this is the last state seen: " + why
	st.Reason, st.Message = v1.ReasonRuntimeUnreachable, msg
	if !st.Phase.Terminal() {
		st.Conditions = v1.SetCondition(st.Conditions, v1.Condition{
			Type: v1.TaskReady, Status: v1.ConditionUnknown, Reason: v1.ReasonRuntimeUnreachable, Message: msg,
			ObservedGeneration: st.ObservedGeneration,
		}, now)
	}
	return st
}
