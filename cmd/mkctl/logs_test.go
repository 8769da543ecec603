package main

import (
	"strings"
	"testing"
)

func TestLogs(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	m.with(func(f *fakeManager) { f.logLines = []string{"one", "two", "three"} })
	tests := []struct {
		name      string
		args      []string
		want      string
		wantQuery string
	}{
		{name: "all", args: []string{"logs", "web"}, want: "one\ntwo\nthree\n", wantQuery: ""},
		{name: "tail", args: []string{"logs", "task/web", "--tail", "2"}, want: "two\nthree\n", wantQuery: "tail=2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := mustEnv(t).mustSucceed(t, args(m, tt.args...)...); out != tt.want {
				t.Errorf("stdout %q, want %q", out, tt.want)
			}
			var q string
			m.with(func(f *fakeManager) { q = f.logQuery })
			if q != tt.wantQuery {
				t.Errorf("query %q, want %q", q, tt.wantQuery)
			}
		})
	}
}

func TestLogs_Follow(t *testing.T) {
	t.Run("until the container stops", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		m.with(func(f *fakeManager) { f.logLines = []string{"one"} })
		l := mustEnv(t).mustStart(t, args(m, "logs", "web", "-f")...)
		if got := l.mustLine(t); got != "one" {
			t.Fatalf("first line %q", got)
		}
		var more chan string
		m.with(func(f *fakeManager) { more = f.logMore })
		more <- "two"
		if got := l.mustLine(t); got != "two" {
			t.Errorf("followed line %q, want two", got)
		}
		close(more) // the container stops
		if res := l.wait(t); res.code != 0 || res.stderr != "" || res.stdout != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("until interrupted", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		m.with(func(f *fakeManager) { f.logLines = []string{"one"} })
		l := mustEnv(t).mustStart(t, args(m, "logs", "web", "-f", "--tail", "1")...)
		l.mustLine(t)
		if res := l.interrupt(t); res.code != 0 || res.stderr != "" {
			t.Errorf("after Ctrl-C: exit %d, stderr %q", res.code, res.stderr)
		}
	})
}

func TestLogs_Errors(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown task", args: []string{"logs", "nope"}, want: "error: task \"nope\" not found\n"},
		{name: "not placed yet", args: []string{"logs", "api"}, want: "error: task \"api\" has no worker yet (phase Pending); its logs appear once it runs\n"},
		{name: "no name", args: []string{"logs"}, want: "error: logs takes exactly one Task name, got 0 arguments\nSee 'mkctl logs --help' for usage.\n"},
		{name: "two names", args: []string{"logs", "a", "b"}, want: "error: logs takes exactly one Task name, got 2 arguments\nSee 'mkctl logs --help' for usage.\n"},
		{name: "bad tail", args: []string{"logs", "web", "--tail", "0"}, want: "error: --tail must be a positive number of lines, or -1 for all of them\nSee 'mkctl logs --help' for usage.\n"},
		{name: "worker", args: []string{"logs", "worker/w1"}, want: "error: unknown resource type \"worker\": use tasks\nSee 'mkctl logs --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, args(m, tt.args...)...)
			if res.stderr != tt.want || res.stdout != "" {
				t.Errorf("stdout %q, stderr %q; want nothing, %q", res.stdout, res.stderr, tt.want)
			}
		})
	}
	res := mustEnv(t).mustFail(t, "logs", "web", "--server", m.URL, "--token", "bad")
	if !strings.HasPrefix(res.stderr, "error: the manager at "+m.URL+" rejected the token") {
		t.Errorf("bad token: stderr %q", res.stderr)
	}
}
