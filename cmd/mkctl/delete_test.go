package main

import (
	"path/filepath"
	"strings"
	"testing"

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
			wantStderr: "error: give either task NAME... or -f, not both\nSee 'mkctl delete --help' for usage.\n",
		},
		{
			name:       "nothing named",
			args:       []string{"delete"},
			wantStderr: "error: must specify task NAME... or -f FILE|DIR|-\nSee 'mkctl delete --help' for usage.\n",
		},
		{
			name:       "workers cannot be deleted",
			args:       []string{"delete", "worker", "w1"},
			wantStderr: "error: unknown resource type \"worker\": use tasks\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			for _, name := range []string{"web", "api"} {
				m.addTask(v1.Task{Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: "nginx"}})
			}
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
