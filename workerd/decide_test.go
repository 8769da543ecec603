package workerd

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// decideTask is the task of the decide table: generation 2, image web:2.
func decideTask(edit ...func(*v1.Task)) *v1.Task {
	t := &v1.Task{
		Metadata: v1.ObjectMeta{Name: "web", UID: "u1", Generation: 2},
		Spec:     v1.TaskSpec{Image: "web:2", RestartPolicy: v1.RestartAlways},
	}
	for _, fn := range edit {
		fn(t)
	}
	v1.SetTaskDefaults(t)
	return t
}

// oldSpec is the spec of generation 1 (image web:1).
func oldSpec() *v1.Task {
	return decideTask(func(t *v1.Task) { t.Metadata.Generation = 1; t.Spec.Image = "web:1" })
}

// ctr is a container of task t in a state: "created" (never started),
// "running", "exited:N", "failed-start".
func ctr(id string, t *v1.Task, state string, edit ...func(*observed)) observed {
	meta, _ := json.Marshal(struct {
		Metadata v1.ObjectMeta `json:"metadata"`
		Spec     v1.TaskSpec   `json:"spec"`
	}{t.Metadata, t.Spec})
	c := observed{Container: runtime.Container{
		ID: id, Image: t.Spec.Image,
		Labels: map[string]string{
			runtime.LabelTaskUID: t.Metadata.UID, runtime.LabelSpecHash: t.Spec.Hash(), LabelTask: string(meta),
		},
	}}
	started := t0.Add(-time.Minute)
	switch {
	case state == "created":
		c.State = runtime.State{Status: "created"}
	case state == "failed-start":
		c.State = runtime.State{Status: "created", ExitCode: 127, Error: "exec: no such file"}
	case state == "running":
		c.State = runtime.State{Status: "running", Running: true, StartedAt: started}
	case strings.HasPrefix(state, "exited:"):
		code := 0
		for _, r := range state[len("exited:"):] {
			code = code*10 + int(r-'0')
		}
		c.State = runtime.State{Status: "exited", ExitCode: code, StartedAt: started, FinishedAt: t0.Add(-time.Second)}
		c.Output = "boom\n"
	}
	for _, fn := range edit {
		fn(&c)
	}
	return c
}

func withPort(host int32) func(*observed) {
	return func(c *observed) {
		c.Ports = []runtime.PortBinding{{ContainerPort: 8080, HostPort: host, Protocol: "tcp"}}
	}
}

func withHostPort(t *v1.Task) { t.Spec.Ports = []v1.Port{{ContainerPort: 8080, HostPort: 18080}} }

var testPolicy = policy{BackoffInitial: 10 * time.Second, BackoffMax: 5 * time.Minute, BackoffReset: 10 * time.Minute}

// TestDecide: every state of a task and its containers, the step decide
// takes and what the status then says.
func TestDecide(t *testing.T) {
	task := decideTask()
	old := oldSpec()
	hcTask := decideTask(func(t *v1.Task) { t.Spec.HealthCheck = &v1.HealthCheck{Exec: &v1.ExecCheck{Command: []string{"ok"}}} })
	never := decideTask(func(t *v1.Task) { t.Spec.RestartPolicy = v1.RestartNever })
	onFailure := decideTask(func(t *v1.Task) { t.Spec.RestartPolicy = v1.RestartOnFailure })
	running := ctr("c-new", task, "running")

	type want struct {
		action    actionKind
		container string        // of the action
		after     time.Duration // with actNone
		event     string        // reason of a reported event
		// the status
		phase       v1.Phase
		reason      string
		message     string // a part of it
		containerID string
		observed    int64
		ready       v1.ConditionStatus
		updated     v1.ConditionStatus
		restarts    int32
		probe       string
	}
	tests := []struct {
		name  string
		in    syncInput
		want  want
		check func(t *testing.T, d decision)
	}{
		// Where a task starts, and the happy path.
		{
			name: "missing container, image unknown: pull",
			in:   syncInput{Task: task},
			want: want{action: actPull, phase: v1.PhaseScheduled, reason: v1.ReasonContainerCreate, observed: 2,
				ready: v1.ConditionFalse, updated: v1.ConditionFalse},
		},
		{
			name: "image being pulled: wait to be woken",
			in:   syncInput{Task: task, Image: imagePulling},
			want: want{action: actNone, phase: v1.PhaseScheduled, reason: v1.ReasonContainerCreate, message: `pulling image "web:2"`,
				observed: 2, ready: v1.ConditionFalse, updated: v1.ConditionFalse},
		},
		{
			name: "image ready: create",
			in:   syncInput{Task: task, Image: imageReady},
			want: want{action: actCreate, phase: v1.PhaseScheduled, observed: 2, ready: v1.ConditionFalse, updated: v1.ConditionFalse},
		},
		{
			name: "created, never started: start it, not judge its exit code",
			in:   syncInput{Task: never, Containers: []observed{ctr("c1", never, "created")}},
			want: want{action: actStart, container: "c1", phase: v1.PhaseScheduled, observed: 2, ready: v1.ConditionFalse},
		},
		{
			name: "created by a start that failed: remove it, recreate after the backoff",
			in:   syncInput{Task: onFailure, Containers: []observed{ctr("c1", onFailure, "failed-start")}},
			want: want{action: actRemove, container: "c1", phase: v1.PhaseScheduled, observed: 2, ready: v1.ConditionFalse},
		},
		{
			name: "running: nothing to do; Running, Ready, Updated",
			in:   syncInput{Task: task, Containers: []observed{running}},
			want: want{action: actNone, phase: v1.PhaseRunning, containerID: "c-new", observed: 2,
				ready: v1.ConditionTrue, updated: v1.ConditionTrue},
		},
		{
			name: "running after restarts: the backoff is forgotten after a clean run",
			in:   syncInput{Task: task, Containers: []observed{running}, Hist: history{Generation: 2, Backoff: 20 * time.Second}},
			want: want{action: actNone, after: 9 * time.Minute, phase: v1.PhaseRunning, containerID: "c-new", observed: 2,
				ready: v1.ConditionTrue, updated: v1.ConditionTrue},
		},

		// Exits and restart policies.
		{
			name: "exited 0, Always: restart at once after a clean run",
			in:   syncInput{Task: task, Containers: []observed{ctr("c1", task, "exited:0")}},
			want: want{action: actStart, container: "c1", phase: v1.PhaseRunning, reason: v1.ReasonCrashLoopBackOff, restarts: 1,
				ready: v1.ConditionFalse, observed: 2},
		},
		{
			name: "exited non-0, Always, second crash: back off",
			in: syncInput{Task: task, Containers: []observed{ctr("c1", task, "exited:3")},
				Hist: history{Generation: 2, Backoff: 10 * time.Second}},
			want: want{action: actNone, after: 9 * time.Second, phase: v1.PhaseRunning, reason: v1.ReasonCrashLoopBackOff,
				message: "exited with code 3; last output: boom", containerID: "c1", ready: v1.ConditionFalse, observed: 2},
		},
		{
			name: "exited 0, OnFailure: Succeeded",
			in:   syncInput{Task: onFailure, Containers: []observed{ctr("c1", onFailure, "exited:0")}},
			want: want{action: actNone, phase: v1.PhaseSucceeded, reason: v1.ReasonCompleted, containerID: "c1", ready: v1.ConditionFalse, observed: 2},
		},
		{
			name: "exited non-0, OnFailure: restart",
			in:   syncInput{Task: onFailure, Containers: []observed{ctr("c1", onFailure, "exited:1")}},
			want: want{action: actStart, container: "c1", phase: v1.PhaseRunning, restarts: 1, observed: 2},
		},
		{
			name: "exited non-0, Never: Failed with the output",
			in:   syncInput{Task: never, Containers: []observed{ctr("c1", never, "exited:4")}},
			want: want{action: actNone, phase: v1.PhaseFailed, reason: v1.ReasonError, message: "code 4; last output: boom",
				containerID: "c1", ready: v1.ConditionFalse, observed: 2},
		},
		{
			name: "finished task whose container is gone: the verdict stays",
			in: syncInput{Task: never, Hist: history{Generation: 2, Status: v1.TaskStatus{
				Phase: v1.PhaseSucceeded, Reason: v1.ReasonCompleted, ObservedGeneration: 2}}},
			want: want{action: actNone, phase: v1.PhaseSucceeded, reason: v1.ReasonCompleted, observed: 2},
		},

		// Health checks.
		{
			name: "running, health check not yet passed: Ready False, probed",
			in:   syncInput{Task: hcTask, Containers: []observed{ctr("c1", hcTask, "running")}},
			want: want{action: actNone, phase: v1.PhaseRunning, containerID: "c1", observed: 2, ready: v1.ConditionFalse,
				updated: v1.ConditionTrue, probe: "c1"},
		},
		{
			name: "running, health check passed: Ready",
			in: syncInput{Task: hcTask, Containers: []observed{ctr("c1", hcTask, "running")},
				Health: health{Run: runOf(ctr("c1", hcTask, "running").Container), Checked: true, Passed: true}},
			want: want{action: actNone, phase: v1.PhaseRunning, containerID: "c1", observed: 2, ready: v1.ConditionTrue,
				updated: v1.ConditionTrue, probe: "c1"},
		},
		{
			name: "unhealthy: stop it",
			in: syncInput{Task: hcTask, Containers: []observed{ctr("c1", hcTask, "running")},
				Health: health{Run: runOf(ctr("c1", hcTask, "running").Container), Checked: true, Unhealthy: true, Message: "check failed 3 of 3 times"}},
			want: want{action: actStop, container: "c1", phase: v1.PhaseRunning, reason: v1.ReasonUnhealthy,
				message: "check failed 3 of 3 times; restarting", containerID: "c1", ready: v1.ConditionFalse, observed: 2, probe: "c1"},
		},
		{
			name: "stopped for failing its check, exited 0, OnFailure: a failure, restarted",
			in: func() syncInput {
				hc := decideTask(func(t *v1.Task) {
					t.Spec.RestartPolicy = v1.RestartOnFailure
					t.Spec.HealthCheck = &v1.HealthCheck{Exec: &v1.ExecCheck{Command: []string{"ok"}}}
				})
				c := ctr("c1", hc, "exited:0")
				return syncInput{Task: hc, Containers: []observed{c}, Health: health{Run: runOf(c.Container), Checked: true, Unhealthy: true}}
			}(),
			want: want{action: actStart, container: "c1", phase: v1.PhaseRunning, restarts: 1, observed: 2},
		},

		// Updates: make before break.
		{
			name: "wrong spec hash, old running, image unknown: pull while the old one serves",
			in:   syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running")}},
			want: want{action: actPull, phase: v1.PhaseRunning, reason: v1.ReasonContainerCreate, containerID: "c-old",
				observed: 1, ready: v1.ConditionTrue, updated: v1.ConditionFalse},
		},
		{
			name: "image missing (pull failed) during an update: back off, the old one serves, observedGeneration behind",
			in: syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running")},
				Hist: history{Generation: 2, Failure: &failure{Kind: actPull, Message: "manifest unknown"}}},
			want: want{action: actNone, after: 10 * time.Second, phase: v1.PhaseRunning, reason: v1.ReasonErrImagePull,
				message:     `cannot pull image "web:2" (retrying in 10s): manifest unknown; container c-old of generation 1 keeps serving`,
				containerID: "c-old", observed: 1, ready: v1.ConditionTrue, updated: v1.ConditionFalse},
			check: func(t *testing.T, d decision) {
				u := v1.FindCondition(d.Hist.Status.Conditions, v1.TaskUpdated)
				r := v1.FindCondition(d.Hist.Status.Conditions, v1.TaskReady)
				if u.Reason != v1.ReasonErrImagePull || u.ObservedGeneration != 2 || r.ObservedGeneration != 1 {
					t.Errorf("Updated %+v, Ready %+v: want Updated False (ErrImagePull) judging generation 2, Ready of generation 1", u, r)
				}
			},
		},
		{
			name: "second pull failure: ImagePullBackOff",
			in: syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running")},
				Hist: history{Generation: 2, Failures: 1, Failure: &failure{Kind: actPull, Message: "manifest unknown"}}},
			want: want{action: actNone, after: 20 * time.Second, phase: v1.PhaseRunning, reason: v1.ReasonImagePullBackOff,
				containerID: "c-old", observed: 1, ready: v1.ConditionTrue, updated: v1.ConditionFalse},
		},
		{
			name: "image ready, no host port in the way: create the new one beside the old",
			in:   syncInput{Task: task, Image: imageReady, Containers: []observed{ctr("c-old", old, "running")}},
			want: want{action: actCreate, phase: v1.PhaseRunning, containerID: "c-old", observed: 1, updated: v1.ConditionFalse},
		},
		{
			name: "new one created beside the old: start it",
			in:   syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running"), ctr("c-new", task, "created")}},
			want: want{action: actStart, container: "c-new", phase: v1.PhaseRunning, containerID: "c-old", observed: 1, updated: v1.ConditionFalse},
		},
		{
			name: "new one running: remove the old",
			in:   syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running"), running}},
			want: want{action: actRemove, container: "c-old", phase: v1.PhaseRunning, containerID: "c-new", observed: 2,
				ready: v1.ConditionTrue, updated: v1.ConditionTrue},
		},
		{
			name: "host port held by the old one: break before make, said in an event",
			in: syncInput{Task: decideTask(withHostPort), Image: imageReady,
				Containers: []observed{ctr("c-old", decideTask(withHostPort, func(t *v1.Task) { t.Metadata.Generation = 1; t.Spec.Image = "web:1" }), "running", withPort(18080))}},
			want: want{action: actRemove, container: "c-old", event: v1.ReasonBreakBeforeMake, phase: v1.PhaseRunning, containerID: "c-old", observed: 1},
		},
		{
			name: "a random host port is not in the way",
			in: syncInput{Task: decideTask(func(t *v1.Task) { t.Spec.Ports = []v1.Port{{ContainerPort: 8080}} }), Image: imageReady,
				Containers: []observed{ctr("c-old", old, "running", withPort(32768))}},
			want: want{action: actCreate, phase: v1.PhaseRunning, containerID: "c-old", observed: 1},
		},
		{
			name: "old container exited during the update: removed, it serves nothing",
			in:   syncInput{Task: task, Image: imagePulling, Containers: []observed{ctr("c-old", old, "exited:1")}},
			want: want{action: actRemove, container: "c-old", phase: v1.PhaseScheduled, observed: 2, ready: v1.ConditionFalse},
		},
		{
			name: "a newer generation starts the backoffs afresh",
			in: syncInput{Task: task, Containers: []observed{ctr("c-old", old, "running")},
				Hist: history{Generation: 1, Failures: 6, NextStart: t0.Add(time.Hour), FailReason: v1.ReasonImagePullBackOff}},
			want: want{action: actPull, phase: v1.PhaseRunning, reason: v1.ReasonContainerCreate, containerID: "c-old", observed: 1},
		},
		{
			name: "two containers of the current spec: the running one stays",
			in:   syncInput{Task: task, Containers: []observed{ctr("c-dup", task, "exited:0"), running}},
			want: want{action: actRemove, container: "c-dup", phase: v1.PhaseRunning, containerID: "c-new", observed: 2},
		},

		// Start failures.
		{
			name: "start failed: StartError, back off",
			in: syncInput{Task: task, Containers: []observed{ctr("c1", task, "created")},
				Hist: history{Generation: 2, Failure: &failure{Kind: actStart, ContainerID: "c1", Message: "port is already allocated"}}},
			want: want{action: actRemove, container: "c1", phase: v1.PhaseScheduled, reason: v1.ReasonStartError,
				message: "cannot start container (retrying in 10s): port is already allocated", observed: 2},
		},
		{
			name: "waiting out a start backoff",
			in: syncInput{Task: task, Image: imageReady, Hist: history{Generation: 2, Failures: 1, NextStart: t0.Add(5 * time.Second),
				FailReason: v1.ReasonStartError, FailMessage: "cannot start container"}},
			want: want{action: actNone, after: 5 * time.Second, phase: v1.PhaseScheduled, reason: v1.ReasonStartError, observed: 2},
		},

		// The runtime, stopping and strays.
		{
			name: "runtime down: act on nothing, say the status is the last seen",
			in: syncInput{Task: task, RuntimeDown: "connection refused", Hist: history{Generation: 2, Status: v1.TaskStatus{
				Phase: v1.PhaseRunning, ContainerID: "c-new", ObservedGeneration: 2,
				Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}}}},
			want: want{action: actNone, phase: v1.PhaseRunning, reason: v1.ReasonRuntimeUnreachable, message: "last state seen: connection refused",
				containerID: "c-new", observed: 2, ready: v1.ConditionUnknown},
		},
		{
			name: "runtime down while stopping: wait",
			in:   syncInput{Task: task, Stopping: true, RuntimeDown: "connection refused", Containers: []observed{running}},
			want: want{action: actNone},
		},
		{
			name: "stopping: remove the container",
			in:   syncInput{Task: task, Stopping: true, Containers: []observed{running}},
			want: want{action: actRemove, container: "c-new"},
		},
		{
			name: "stopping, containers gone: forget",
			in:   syncInput{Task: task, Stopping: true},
			want: want{action: actForget},
		},
		{
			name: "stray (a task the worker does not hold): remove",
			in:   syncInput{Containers: []observed{running}},
			want: want{action: actRemove, container: "c-new"},
		},
		{
			name: "restart count known to the manager carries on",
			in:   syncInput{Task: task, KnownRestarts: 5, Containers: []observed{ctr("c1", task, "exited:1")}},
			want: want{action: actStart, container: "c1", restarts: 6, phase: v1.PhaseRunning, observed: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.Now, in.Policy, in.HostIP = t0, testPolicy, "127.0.0.1"
			if in.Hist.Generation == 0 && in.Task != nil {
				in.Hist.Generation = in.Task.Metadata.Generation
			}
			d := decide(in)
			w := tt.want
			if d.Action.Kind != w.action || d.Action.Container.ID != w.container {
				t.Errorf("action = %s %q; want %s %q", d.Action.Kind, d.Action.Container.ID, w.action, w.container)
			}
			if w.action == actNone && d.After != w.after {
				t.Errorf("after = %s; want %s", d.After, w.after)
			}
			if got := eventReason(d.Event); got != w.event {
				t.Errorf("event = %q; want %q", got, w.event)
			}
			if d.Probe.ContainerID != w.probe {
				t.Errorf("probe = %q; want %q", d.Probe.ContainerID, w.probe)
			}
			st := d.Hist.Status
			if w.phase != "" && st.Phase != w.phase {
				t.Errorf("phase = %s; want %s (status %+v)", st.Phase, w.phase, st)
			}
			if w.reason != "" && st.Reason != w.reason {
				t.Errorf("reason = %q; want %q (message %q)", st.Reason, w.reason, st.Message)
			}
			if !strings.Contains(st.Message, w.message) {
				t.Errorf("message = %q; want it to say %q", st.Message, w.message)
			}
			if w.containerID != "" && st.ContainerID != w.containerID {
				t.Errorf("containerID = %q; want %q", st.ContainerID, w.containerID)
			}
			if w.observed != 0 && st.ObservedGeneration != w.observed {
				t.Errorf("observedGeneration = %d; want %d", st.ObservedGeneration, w.observed)
			}
			if w.ready != "" {
				if c := v1.FindCondition(st.Conditions, v1.TaskReady); c == nil || c.Status != w.ready {
					t.Errorf("Ready = %+v; want %s", c, w.ready)
				}
			}
			if w.updated != "" {
				if c := v1.FindCondition(st.Conditions, v1.TaskUpdated); c == nil || c.Status != w.updated {
					t.Errorf("Updated = %+v; want %s", c, w.updated)
				}
			}
			if st.RestartCount != w.restarts {
				t.Errorf("restartCount = %d; want %d", st.RestartCount, w.restarts)
			}
			if st.Phase == v1.PhaseRunning && st.Reason != v1.ReasonCrashLoopBackOff && st.Reason != v1.ReasonRuntimeUnreachable {
				// Running needs a running container, the one reported.
				if !runningIn(in.Containers, st.ContainerID) {
					t.Errorf("Running on container %q, which does not run", st.ContainerID)
				}
			}
			if c := v1.FindCondition(st.Conditions, v1.TaskReady); c != nil && c.Status == v1.ConditionTrue && !runningIn(in.Containers, st.ContainerID) {
				t.Errorf("Ready on container %q, which does not run", st.ContainerID)
			}
			if tt.check != nil {
				tt.check(t, d)
			}
		})
	}
}

// TestDecide_IsPure: deciding twice from one input gives one answer, and
// the input is left as it was.
func TestDecide_IsPure(t *testing.T) {
	task := decideTask()
	in := syncInput{Task: task, Now: t0, Policy: testPolicy, Containers: []observed{ctr("c-old", oldSpec(), "running")},
		Hist: history{Generation: 2, Failure: &failure{Kind: actPull, Message: "nope"},
			Status: v1.TaskStatus{Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}}}}
	a, b := decide(in), decide(in)
	if !statusEqual(&a.Hist.Status, &b.Hist.Status) || a.Action.Kind != b.Action.Kind || a.After != b.After {
		t.Errorf("two decisions from one input differ: %+v, %+v", a, b)
	}
	if in.Hist.Failure == nil || in.Hist.Failures != 0 || in.Hist.Status.Conditions[0].Reason != "" {
		t.Errorf("decide changed its input: %+v", in.Hist)
	}
}

func eventReason(e *v1.ReportedEvent) string {
	if e == nil {
		return ""
	}
	return e.Reason
}

func runningIn(cs []observed, id string) bool {
	for _, c := range cs {
		if c.ID == id && c.State.Running {
			return true
		}
	}
	return false
}

// BenchmarkDecide: the pass over a task whose container runs, the one a
// worker makes most.
func BenchmarkDecide(b *testing.B) {
	task := decideTask()
	in := syncInput{Task: task, SpecHash: task.Spec.Hash(), Containers: []observed{ctr("c1", task, "running")}, Now: t0, Policy: testPolicy, HostIP: "10.0.0.1"}
	in.Hist = decide(in).Hist
	b.ReportAllocs()
	for b.Loop() {
		if d := decide(in); d.Hist.Status.Phase != v1.PhaseRunning {
			b.Fatalf("phase %s, want Running", d.Hist.Status.Phase)
		}
	}
}
