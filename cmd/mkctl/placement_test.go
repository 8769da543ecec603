package main

import (
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func mustWorkers(t *testing.T, m *fakeManager) {
	t.Helper()
	m.setWorkers([]v1.Worker{
		{Metadata: v1.ObjectMeta{Name: "worker-1"}, Spec: v1.WorkerSpec{Address: "127.0.0.1:7071"}, Status: v1.WorkerStatus{Phase: v1.WorkerReady}},
		{Metadata: v1.ObjectMeta{Name: "worker-2"}, Spec: v1.WorkerSpec{Address: "127.0.0.1:7072"}, Status: v1.WorkerStatus{Phase: v1.WorkerReady}},
	})
}

func TestCordonUncordon(t *testing.T) {
	m := mustManager(t)
	mustWorkers(t, m)
	e := mustEnv(t)
	steps := []struct {
		args []string
		want string
	}{
		{[]string{"cordon", "worker-1"}, "worker/worker-1 cordoned\n"},
		{[]string{"cordon", "worker/worker-1", "worker-2"}, "worker/worker-1 already cordoned\nworker/worker-2 cordoned\n"},
		{[]string{"uncordon", "worker-1"}, "worker/worker-1 uncordoned\n"},
		{[]string{"uncordon", "worker-1"}, "worker/worker-1 already uncordoned\n"},
	}
	for _, s := range steps {
		if out := e.mustSucceed(t, args(m, s.args...)...); out != s.want {
			t.Errorf("mkctl %v: stdout %q, want %q", s.args, out, s.want)
		}
	}
	var actions []string
	m.with(func(f *fakeManager) { actions = f.actions })
	if got := strings.Join(actions, ","); got != "cordon worker-1,cordon worker-2,uncordon worker-1" {
		t.Errorf("the manager was asked to %s; want no call for a worker already so", got)
	}
	res := e.mustFail(t, args(m, "cordon", "nope", "worker-2")...)
	if res.stderr != "error: worker \"nope\" not found\n" || res.stdout != "worker/worker-2 already cordoned\n" {
		t.Errorf("stdout %q, stderr %q", res.stdout, res.stderr)
	}
}

func TestDrain(t *testing.T) {
	t.Run("moves and waits", func(t *testing.T) {
		m := mustManager(t)
		mustWorkers(t, m)
		mustTasks(t, m)
		m.addTask(v1.Task{Metadata: v1.ObjectMeta{Name: "done"}, Spec: v1.TaskSpec{Image: "busybox"}, Status: v1.TaskStatus{Phase: v1.PhaseSucceeded, Worker: "worker-1"}})
		m.with(func(f *fakeManager) { f.placeOn = "worker-2" })
		out := mustEnv(t).mustSucceed(t, args(m, "drain", "worker-1")...)
		want := "worker/worker-1 cordoned\nmoving task/web off worker worker-1\ntask/web placed on worker worker-2\nworker/worker-1 drained\n"
		if out != want {
			t.Errorf("stdout %q, want %q", out, want)
		}
	})
	t.Run("nowhere to go", func(t *testing.T) {
		m := mustManager(t)
		mustWorkers(t, m)
		mustTasks(t, m)
		res := mustEnv(t).mustFail(t, args(m, "drain", "worker-1", "--timeout", "500ms")...)
		wantOut := "worker/worker-1 cordoned\nmoving task/web off worker worker-1\n"
		wantErr := "error: timed out after 500ms draining worker worker-1: task/web is not placed elsewhere: it is Pending (Drained: moved off worker worker-1 by drain)\n"
		if res.stdout != wantOut || res.stderr != wantErr {
			t.Errorf("stdout %q, stderr %q; want %q, %q", res.stdout, res.stderr, wantOut, wantErr)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		m := mustManager(t)
		mustWorkers(t, m)
		mustTasks(t, m)
		d := mustEnv(t).mustStart(t, args(m, "drain", "worker-1")...)
		for _, want := range []string{"worker/worker-1 cordoned", "moving task/web off worker worker-1"} {
			if got := d.mustLine(t); got != want {
				t.Fatalf("line %q, want %q", got, want)
			}
		}
		mustEventually(t, "the drain to watch", func() bool { return m.watchCount() > 0 })
		res := d.interrupt(t)
		wantErr := "error: interrupted draining worker worker-1: task/web is not placed elsewhere: it is Pending (Drained: moved off worker worker-1 by drain)\n"
		if res.code != 1 || res.stderr != wantErr {
			t.Errorf("exit %d, stderr %q; want 1, %q", res.code, res.stderr, wantErr)
		}
	})
	t.Run("nothing to move", func(t *testing.T) {
		m := mustManager(t)
		mustWorkers(t, m)
		out := mustEnv(t).mustSucceed(t, args(m, "drain", "worker/worker-2")...)
		if out != "worker/worker-2 cordoned\nworker/worker-2 drained\n" {
			t.Errorf("stdout %q", out)
		}
	})
}

func TestPlacement_Errors(t *testing.T) {
	m := mustManager(t)
	mustWorkers(t, m)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown worker", args: []string{"drain", "nope"}, want: "error: worker \"nope\" not found\n"},
		{name: "two workers", args: []string{"drain", "worker-1", "worker-2"}, want: "error: drain one worker at a time\nSee 'mkctl drain --help' for usage.\n"},
		{name: "no worker", args: []string{"uncordon"}, want: "error: name the worker: mkctl uncordon WORKER\nSee 'mkctl uncordon --help' for usage.\n"},
		{name: "a task", args: []string{"cordon", "task/web"}, want: "error: unknown resource type \"task\": use workers\nSee 'mkctl cordon --help' for usage.\n"},
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
