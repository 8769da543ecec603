package main

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestDelete(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		files       map[string]string
		wantStdout  string
		wantStderr  string
		wantDeletes []string
	}{
		{
			name:        "by name",
			args:        []string{"delete", "task", "web", "api"},
			wantStdout:  "task/web deleted\ntask/api deleted\n",
			wantDeletes: []string{"web", "api"},
		},
		{
			name:        "TYPE/NAME form",
			args:        []string{"delete", "task/api"},
			wantStdout:  "task/api deleted\n",
			wantDeletes: []string{"api"},
		},
		{
			name:        "a missing one does not stop the rest",
			args:        []string{"delete", "tasks", "nope", "web"},
			wantStdout:  "task/web deleted\n",
			wantStderr:  "error: task \"nope\" not found\n",
			wantDeletes: []string{"web"},
		},
		{
			name:        "by file",
			args:        []string{"delete", "-f", "m"},
			files:       map[string]string{"m/web.yaml": webYAML, "m/api.yaml": apiYAML},
			wantStdout:  "task/api deleted\ntask/web deleted\n",
			wantDeletes: []string{"api", "web"},
		},
		{
			name:       "by a broken file deletes nothing",
			args:       []string{"delete", "-f", "bad.yaml"},
			files:      map[string]string{"bad.yaml": badYAML},
			wantStderr: "error: bad.yaml: document 2",
		},
		{
			name:       "names and -f",
			args:       []string{"delete", "task", "web", "-f", "web.yaml"},
			wantStderr: "error: give only one of task NAME..., -l SELECTOR, --all and -f\nSee 'mkctl delete --help' for usage.\n",
		},
		{
			name:       "nothing named",
			args:       []string{"delete"},
			wantStderr: "error: must specify task NAME..., tasks -l SELECTOR or -f FILE|DIR|-\nSee 'mkctl delete --help' for usage.\n",
		},
		{
			name:        "a worker",
			args:        []string{"delete", "worker", "w1"},
			wantStdout:  "worker/w1 deleted\n",
			wantDeletes: []string{"worker/w1"},
		},
		{
			name:        "a worker that is not there",
			args:        []string{"delete", "worker", "w1", "nope"},
			wantStdout:  "worker/w1 deleted\n",
			wantStderr:  "error: worker \"nope\" not found\n",
			wantDeletes: []string{"worker/w1"},
		},
		{
			name:       "workers by selector",
			args:       []string{"delete", "workers", "-l", "a=b"},
			wantStderr: "error: delete worker takes the names of the workers only\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			for _, name := range []string{"web", "api"} {
				m.addTask(v1.Task{Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: "nginx"}})
			}
			m.setWorkers([]v1.Worker{{Metadata: v1.ObjectMeta{Name: "w1"}}})
			e := mustEnv(t)
			for name, content := range tt.files {
				mustWriteFile(t, filepath.Join(e.dir, name), content)
			}
			var res result
			if tt.wantStderr == "" {
				res = result{stdout: e.mustSucceed(t, args(m, tt.args...)...)}
			} else {
				res = e.mustFail(t, args(m, tt.args...)...)
			}
			if res.stdout != tt.wantStdout || !strings.HasPrefix(res.stderr, tt.wantStderr) {
				t.Errorf("stdout %q, stderr %q; want %q, %q", res.stdout, res.stderr, tt.wantStdout, tt.wantStderr)
			}
			_, deletes, _ := m.recorded()
			if strings.Join(deletes, ",") != strings.Join(tt.wantDeletes, ",") {
				t.Errorf("deletes = %v, want %v", deletes, tt.wantDeletes)
			}
		})
	}
}

func TestDelete_Selector(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantStdout  string
		wantStderr  string
		wantDeletes []string
		wantCode    int
	}{
		{name: "matches", args: []string{"delete", "tasks", "-l", "app=web"}, wantStdout: "task/web deleted\n", wantDeletes: []string{"web"}},
		{name: "none match", args: []string{"delete", "tasks", "-l", "app=nope"}, wantStderr: "No tasks found.\n"},
		{name: "bad selector", args: []string{"delete", "tasks", "-l", "app in (web"}, wantCode: 1,
			wantStderr: "error: bad label selector (-l) \"app in (web\": unable to parse requirement: found '', expected: ',' or ')'\n"},
		{name: "names and selector", args: []string{"delete", "task", "web", "-l", "app=web"}, wantCode: 1,
			wantStderr: "error: names and a selector (-l) cannot be used together\nSee 'mkctl delete --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			mustTasks(t, m)
			res := mustEnv(t).mustRun(t, args(m, tt.args...)...)
			if res.code != tt.wantCode || res.stdout != tt.wantStdout || res.stderr != tt.wantStderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", res.code, res.stdout, res.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
			_, deletes, _ := m.recorded()
			if strings.Join(deletes, ",") != strings.Join(tt.wantDeletes, ",") {
				t.Errorf("deletes = %v, want %v", deletes, tt.wantDeletes)
			}
		})
	}
}

func TestDelete_Wait(t *testing.T) {
	t.Run("until gone", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		m.with(func(f *fakeManager) { f.graceful = true })
		d := mustEnv(t).mustStart(t, args(m, "delete", "task", "web", "api", "--wait")...)
		for _, want := range []string{"task/web deleted", "task/api deleted"} {
			if got := d.mustLine(t); got != want {
				t.Fatalf("line %q, want %q", got, want)
			}
		}
		mustEventually(t, "the delete to watch", func() bool { return m.watchCount() > 0 })
		m.finishDelete("web")
		select {
		case <-d.done:
			t.Fatal("delete --wait ended with api still there")
		case <-time.After(200 * time.Millisecond):
		}
		m.finishDelete("api")
		if res := d.wait(t); res.code != 0 || res.stdout != "" || res.stderr != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		m := mustManager(t)
		mustTasks(t, m)
		m.with(func(f *fakeManager) { f.graceful = true })
		res := mustEnv(t).mustFail(t, args(m, "delete", "task", "web", "--wait", "--timeout", "300ms")...)
		want := "error: timed out after 300ms waiting for task/web to be deleted: it is Terminating on worker worker-1\n"
		if res.stdout != "task/web deleted\n" || res.stderr != want {
			t.Errorf("stdout %q, stderr %q; want %q", res.stdout, res.stderr, want)
		}
	})
}
