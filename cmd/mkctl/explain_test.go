package main

import (
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	e := mustEnv(t) // no manager: explain needs none
	out := e.mustSucceed(t, "explain", "task.spec.restartPolicy")
	want := `KIND:       Task
VERSION:    minkube.io/v1

FIELD: restartPolicy <string>
ENUM:
    Always
    OnFailure
    Never

DESCRIPTION:
    RestartPolicy is Always (default), OnFailure or Never.
`
	if out != want {
		t.Errorf("explain task.spec.restartPolicy =\n%s\nwant\n%s", out, want)
	}

	tests := []struct {
		args []string
		want []string // in this order
	}{
		{[]string{"explain", "task"}, []string{"KIND:       Task\n", "DESCRIPTION:\n    Task is one container", "FIELDS:\n  apiVersion\t<string>\n", "  spec\t<TaskSpec>\n", "  status\t<TaskStatus>\n"}},
		{[]string{"explain", "tasks.spec"}, []string{"FIELD: spec <TaskSpec>\n", "DESCRIPTION:\n    Spec is the desired state", "TaskSpec defines the desired state of a Task.", "  image\t<string> -required-\n", "  restartPolicy\t<string>\n  enum: Always, OnFailure, Never\n"}},
		{[]string{"explain", "task.spec.resources"}, []string{"FIELD: resources <Resources>\n", "  cpu\t<Quantity>\n    CPU is the CPU limit"}},
		{[]string{"explain", "t.spec.ports"}, []string{"FIELD: ports <[]Port>\n", "  containerPort\t<integer>\n"}},
		{[]string{"explain", "w.status.capacity"}, []string{"KIND:       Worker\n", "FIELD: capacity <map[string]string>\n", "DESCRIPTION:\n    Capacity is"}},
		{[]string{"explain", "event.involvedObject"}, []string{"FIELD: involvedObject <ObjectReference>\n", "  kind\t<string>\n"}},
		{[]string{"explain", "task.spec", "--recursive"}, []string{"FIELDS:\n  image\t<string> -required-\n", "  ports\t<[]Port>\n    name\t<string>\n    containerPort\t<integer>\n", "  healthCheck\t<HealthCheck>\n    http\t<HTTPCheck>\n      path\t<string>\n"}},
	}
	for _, tt := range tests {
		out := e.mustSucceed(t, tt.args...)
		rest := out
		for _, w := range tt.want {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Errorf("mkctl %v lacks %q (in order) in:\n%s", tt.args, w, out)
				break
			}
			rest = rest[i+len(w):]
		}
		for _, line := range strings.Split(out, "\n") {
			if len(line) > explainWidth {
				t.Errorf("mkctl %v: line wider than %d: %q", tt.args, explainWidth, line)
			}
		}
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"explain", "task.spec.resorces"}, "error: field \"resorces\" does not exist in task.spec; did you mean \"resources\"?\n"},
		{[]string{"explain", "task.spec.image.tag"}, "error: field \"tag\": task.spec.image is a string, which has no fields\n"},
		{[]string{"explain", "pod"}, "error: unknown resource type \"pod\": use tasks, workers or events\nSee 'mkctl explain --help' for usage.\n"},
		{[]string{"explain", "task..spec"}, "error: \"task..spec\": a field path is names joined by dots, such as task.spec.resources\nSee 'mkctl explain --help' for usage.\n"},
		{[]string{"explain"}, "error: explain takes one TYPE[.FIELD.PATH], such as task.spec.resources; got 0 arguments\nSee 'mkctl explain --help' for usage.\n"},
	} {
		if res := e.mustFail(t, tt.args...); res.stderr != tt.want || res.stdout != "" {
			t.Errorf("mkctl %v: stdout %q, stderr %q; want nothing and %q", tt.args, res.stdout, res.stderr, tt.want)
		}
	}
}
