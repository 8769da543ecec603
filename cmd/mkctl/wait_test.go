package main

import (
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestWait_MetAtOnce(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	ready := time.Now()
	m.setStatus("web", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1",
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue, LastTransitionTime: &ready}}})
	m.setStatus("old", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-2",
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: v1.ReasonUnhealthy, LastTransitionTime: &ready}}})
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "phase", args: []string{"wait", "task/web", "--for=phase=Running"}, want: "task/web condition met\n"},
		{name: "phase, any case, check once", args: []string{"wait", "task/web", "--for=phase=running", "--timeout=0"}, want: "task/web condition met\n"},
		{name: "condition", args: []string{"wait", "task", "web", "--for", "condition=Ready"}, want: "task/web condition met\n"},
		{name: "condition False", args: []string{"wait", "task/old", "--for=condition=Ready=false"}, want: "task/old condition met\n"},
		{name: "delete of a missing task", args: []string{"wait", "task/nope", "--for=delete"}, want: "task/nope deleted\n"},
		{name: "a task named twice, apart", args: []string{"wait", "task/nope", "task/gone", "task/nope", "--for=delete"},
			want: "task/nope deleted\ntask/gone deleted\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustRun(t, args(m, tt.args...)...)
			if res.code != 0 || res.stdout != tt.want || res.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q", res.code, res.stdout, res.stderr, tt.want)
			}
		})
	}
}

func TestWait_Follows(t *testing.T) {
	t.Run("met later, two tasks", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		w := mustEnv(t).mustStart(t, args(m, "wait", "task/web", "task/api", "--for=phase=Running")...)
		if got := w.mustLine(t); got != "task/web condition met" {
			t.Fatalf("line %q", got)
		}
		m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "worker-1"})
		m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1"})
		if res := w.wait(t); res.code != 0 || res.stdout != "task/api condition met\n" || res.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("terminal phase", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		w := mustEnv(t).mustStart(t, args(m, "wait", "task/api", "--for=condition=Ready")...)
		mustEventually(t, "the wait to watch", func() bool { return m.watchCount() > 0 })
		code := int32(1)
		m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseFailed, Worker: "worker-1", ExitCode: &code, Reason: v1.ReasonError, Message: "container exited with code 1"})
		res := w.wait(t)
		want := "error: task/api is Failed and can never have Ready=True (exit code 1; Error: container exited with code 1)\n"
		if res.code != 1 || res.stderr != want {
			t.Errorf("exit %d, stderr %q; want 1, %q", res.code, res.stderr, want)
		}
	})
	t.Run("deleted", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		w := mustEnv(t).mustStart(t, args(m, "wait", "task/old", "--for=delete")...)
		mustEventually(t, "the wait to watch", func() bool { return m.watchCount() > 0 })
		m.finishDelete("old")
		if res := w.wait(t); res.code != 0 || res.stdout != "task/old deleted\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("deleted while waiting for a phase", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		w := mustEnv(t).mustStart(t, args(m, "wait", "task/api", "--for=phase=Running")...)
		mustEventually(t, "the wait to watch", func() bool { return m.watchCount() > 0 })
		m.finishDelete("api")
		if res := w.wait(t); res.code != 1 || res.stderr != "error: task/api was deleted\n" {
			t.Errorf("exit %d, stderr %q", res.code, res.stderr)
		}
	})
}

func TestWait_Errors(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{
			name: "timeout",
			args: []string{"wait", "task/api", "--for=phase=Running", "--timeout", "300ms"},
			want: "error: timed out after 300ms waiting for task/api to be Running: it is Pending (Unschedulable)\n",
		},
		{
			name: "timeout on a condition",
			args: []string{"wait", "task/web", "--for=condition=Ready", "--timeout", "300ms"},
			want: "error: timed out after 300ms waiting for task/web to have Ready=True: it has no Ready condition yet; it is Running on worker worker-1\n",
		},
		{
			// api has no Ready condition at all: that is not False.
			name: "timeout on a False condition",
			args: []string{"wait", "task/api", "--for=condition=Ready=False", "--timeout", "300ms"},
			want: "error: timed out after 300ms waiting for task/api to have Ready=False: it has no Ready condition yet; it is Pending (Unschedulable)\n",
		},
		{
			name: "timeout on a delete",
			args: []string{"wait", "task/web", "--for=delete", "--timeout", "300ms"},
			want: "error: timed out after 300ms waiting for task/web to be deleted: it is Running on worker worker-1 and no delete was asked for\n",
		},
		{
			name: "check once",
			args: []string{"wait", "task/api", "--for=phase=Running", "--timeout", "0"},
			want: "error: task/api has yet to be Running: it is Pending (Unschedulable)\n",
		},
		{name: "unknown task", args: []string{"wait", "task/nope", "--for=phase=Running"}, want: "error: task \"nope\" not found\n"},
		{name: "no --for", args: []string{"wait", "task/web"}, want: "error: --for is required: phase=PHASE, condition=TYPE[=True|False] or delete\nSee 'mkctl wait --help' for usage.\n"},
		{name: "bad phase", args: []string{"wait", "task/web", "--for=phase=Done"}, want: "error: --for=phase=Done: unknown phase \"Done\"; use one of Pending, Scheduled, Running, Succeeded, Failed or Unknown\nSee 'mkctl wait --help' for usage.\n"},
		{name: "bad condition", args: []string{"wait", "task/web", "--for=condition=Healthy"}, want: "error: --for=condition=Healthy: unknown condition \"Healthy\"; use Scheduled, Started, Ready or Updated\nSee 'mkctl wait --help' for usage.\n"},
		{name: "bad kind", args: []string{"wait", "task/web", "--for=jsonpath={.x}"}, want: "error: --for=jsonpath={.x}: use phase=PHASE, condition=TYPE[=True|False] or delete\nSee 'mkctl wait --help' for usage.\n"},
		{name: "no task", args: []string{"wait", "--for=delete"}, want: "error: name the Tasks to wait for: task/NAME...\nSee 'mkctl wait --help' for usage.\n"},
		{name: "negative timeout", args: []string{"wait", "task/web", "--for=delete", "--timeout=-1s"}, want: "error: --timeout must not be negative\nSee 'mkctl wait --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, args(m, tt.args...)...)
			if res.stderr != tt.want || res.stdout != "" {
				t.Errorf("stdout %q, stderr %q; want nothing, %q", res.stdout, res.stderr, tt.want)
			}
		})
	}
}

// TestWait_UpdateNotDone: a condition that speaks of an older generation
// than the spec's does not meet the wait (as kubectl wait judges), and the
// timeout says why.
func TestWait_UpdateNotDone(t *testing.T) {
	m := mustManager(t)
	now := time.Now()
	m.addTask(v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "web", Generation: 2, CreationTimestamp: &now},
		Spec:     v1.TaskSpec{Image: "web:bad"},
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", ObservedGeneration: 1,
			Reason: v1.ReasonImagePullBackOff, Message: `cannot pull image "web:bad"`,
			Conditions: []v1.Condition{
				{Type: v1.TaskReady, Status: v1.ConditionTrue, ObservedGeneration: 1, LastTransitionTime: &now},
				{Type: v1.TaskUpdated, Status: v1.ConditionFalse, Reason: v1.ReasonImagePullBackOff, ObservedGeneration: 2, LastTransitionTime: &now},
			}},
	})
	res := mustEnv(t).mustRun(t, args(m, "wait", "task/web", "--for=condition=Ready", "--timeout", "300ms")...)
	want := "error: timed out after 300ms waiting for task/web to have Ready=True: its Ready condition is True for generation 1, " +
		"not the spec's generation 2: the update is not done; it is Running on worker worker-1 (ImagePullBackOff: cannot pull image \"web:bad\")\n"
	if res.code != 1 || res.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", res.code, res.stderr, want)
	}
	res = mustEnv(t).mustRun(t, args(m, "wait", "task/web", "--for=condition=Updated=False", "--timeout", "0")...)
	if res.code != 0 || res.stdout != "task/web condition met\n" {
		t.Errorf("wait for Updated=False: exit %d, stdout %q, stderr %q; want it met", res.code, res.stdout, res.stderr)
	}
	m.setStatus("web", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", ObservedGeneration: 2,
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue, ObservedGeneration: 2, LastTransitionTime: &now}}})
	res = mustEnv(t).mustRun(t, args(m, "wait", "task/web", "--for=condition=Ready", "--timeout", "0")...)
	if res.code != 0 || res.stdout != "task/web condition met\n" {
		t.Errorf("wait once updated: exit %d, stdout %q, stderr %q; want it met", res.code, res.stdout, res.stderr)
	}
}
