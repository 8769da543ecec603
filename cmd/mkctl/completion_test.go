package main

import (
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestCompletion drives cobra's hidden __complete command, which the
// shell scripts of mkctl completion call, against the fake manager.
func TestCompletion(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	m.setWorkers([]v1.Worker{{Metadata: v1.ObjectMeta{Name: "worker-1"}}, {Metadata: v1.ObjectMeta{Name: "worker-2"}}})
	e := mustEnv(t)
	// The word completed is the last argument: the manager comes from the
	// environment.
	e.vars = append(e.vars, "MINKUBE_SERVER="+m.URL, "MINKUBE_TOKEN="+goodToken)
	tests := []struct {
		args []string
		want []string
		not  []string // must not be offered
	}{
		{[]string{"__complete", ""}, []string{"apply", "completion", "config", "get", "logs"}, nil},
		{[]string{"__complete", "get", ""}, []string{"tasks", "workers", "events"}, nil},
		{[]string{"__complete", "get", "task", ""}, []string{"api", "old", "web"}, nil},
		{[]string{"__complete", "get", "task", "web", ""}, []string{"api", "old"}, nil},
		{[]string{"__complete", "describe", "worker", ""}, []string{"worker-1", "worker-2"}, nil},
		{[]string{"__complete", "logs", ""}, []string{"api", "old", "web"}, nil},
		{[]string{"__complete", "wait", ""}, []string{"task/api", "task/old", "task/web"}, nil},
		{[]string{"__complete", "drain", ""}, []string{"worker-1", "worker-2"}, nil},
		{[]string{"__complete", "get", "tasks", "-o", ""}, []string{"wide", "json", "yaml", "name", "jsonpath=", "custom-columns="}, nil},
		{[]string{"__complete", "wait", "task/web", "--for", ""}, []string{"phase=Running", "condition=Ready", "delete"}, nil},
		{[]string{"__complete", "edit", ""}, []string{"tasks"}, []string{"workers"}},
		{[]string{"__complete", "edit", "task", ""}, []string{"api", "old", "web"}, nil},
		{[]string{"__complete", "exec", ""}, []string{"api", "old", "web"}, nil},
		{[]string{"__complete", "exec", "web", "-"}, []string{"--stdin", "--tty"}, nil},
		{[]string{"__complete", "explain", ""}, []string{"task", "worker", "event"}, nil},
		{[]string{"__complete", "explain", "task.spec.re"}, []string{"task.spec.resources", "task.spec.restartPolicy"}, []string{"task.spec.image"}},
		{[]string{"__complete", "explain", "t.status.conditions."}, []string{"t.status.conditions.type", "t.status.conditions.lastTransitionTime"}, nil},
	}
	for _, tt := range tests {
		res := e.mustRun(t, tt.args...)
		got := strings.Split(strings.TrimSpace(res.stdout), "\n")
		for _, w := range tt.want {
			found := false
			for _, g := range got {
				if g == w || strings.HasPrefix(g, w+"\t") {
					found = true
				}
			}
			if !found {
				t.Errorf("mkctl %v offers %q; it lacks %q", tt.args, got, w)
			}
		}
		for _, n := range tt.not {
			for _, g := range got {
				if g == n {
					t.Errorf("mkctl %v offers %q, which it should not", tt.args, n)
				}
			}
		}
	}
	if help := e.mustSucceed(t, "--help"); !strings.Contains(help, "completion ") {
		t.Errorf("--help does not list the completion command:\n%s", help)
	}
	for _, shell := range []string{"bash", "zsh", "fish"} {
		if out := e.mustSucceed(t, "completion", shell); !strings.Contains(out, "mkctl") {
			t.Errorf("completion %s printed no script", shell)
		}
	}
}
