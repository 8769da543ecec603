package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"sigs.k8s.io/yaml"
)

func mustTasks(t *testing.T, m *fakeManager) {
	t.Helper()
	created := time.Now().Add(-(5*time.Hour + 30*time.Minute))
	deleting := time.Now()
	m.addTask(v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"}, CreationTimestamp: &created},
		Spec:     v1.TaskSpec{Image: "nginx:1.27", Ports: []v1.Port{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}}},
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1", RestartCount: 2,
			Ports: []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}}},
	})
	m.addTask(v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "api", Labels: map[string]string{"app": "api"}, CreationTimestamp: &created},
		Spec:     v1.TaskSpec{Image: "example/api:1", Ports: []v1.Port{{ContainerPort: 53, Protocol: v1.ProtocolUDP}}},
		Status:   v1.TaskStatus{Phase: v1.PhasePending, Reason: v1.ReasonUnschedulable},
	})
	m.addTask(v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: "old", CreationTimestamp: &created, DeletionTimestamp: &deleting},
		Spec:     v1.TaskSpec{Image: "busybox"},
		Status:   v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-2"},
	})
}

// fields splits table output into lines of whitespace-separated cells.
func fields(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestGetTasks_Table(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{
			name: "table",
			args: []string{"get", "tasks"},
			want: [][]string{
				{"NAME", "PHASE", "WORKER", "RESTARTS", "AGE"},
				{"api", "Pending", "<none>", "0", "5h30m"},
				{"old", "Terminating", "worker-2", "0", "5h30m"},
				{"web", "Running", "worker-1", "2", "5h30m"},
			},
		},
		{
			name: "wide",
			args: []string{"get", "tasks", "-o", "wide"},
			want: [][]string{
				{"NAME", "PHASE", "WORKER", "RESTARTS", "AGE", "IMAGE", "PORTS", "REASON"},
				{"api", "Pending", "<none>", "0", "5h30m", "example/api:1", "53/UDP", "Unschedulable"},
				{"old", "Terminating", "worker-2", "0", "5h30m", "busybox", "<none>", "<none>"},
				{"web", "Running", "worker-1", "2", "5h30m", "nginx:1.27", "18080->8080/TCP", "<none>"},
			},
		},
		{
			name: "no headers, selector",
			args: []string{"get", "tasks", "-l", "app=web", "--no-headers"},
			want: [][]string{{"web", "Running", "worker-1", "2", "5h30m"}},
		},
		{
			name: "one by name",
			args: []string{"get", "task", "web"},
			want: [][]string{{"NAME", "PHASE", "WORKER", "RESTARTS", "AGE"}, {"web", "Running", "worker-1", "2", "5h30m"}},
		},
		{
			name: "TYPE/NAME form",
			args: []string{"get", "task/web", "task/api", "--no-headers"},
			want: [][]string{{"web", "Running", "worker-1", "2", "5h30m"}, {"api", "Pending", "<none>", "0", "5h30m"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			mustTasks(t, m)
			out := mustEnv(t).mustSucceed(t, args(m, tt.args...)...)
			got := fields(out)
			if len(got) != len(tt.want) {
				t.Fatalf("output has %d lines, want %d:\n%s", len(got), len(tt.want), out)
			}
			for i := range tt.want {
				if strings.Join(got[i], " ") != strings.Join(tt.want[i], " ") {
					t.Errorf("line %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
			// Columns line up: every row's second column starts where the header's does.
			lines := strings.Split(out, "\n")
			if !strings.Contains(tt.name, "headers") && !strings.Contains(tt.name, "TYPE") {
				col := strings.Index(lines[0], "PHASE")
				for _, l := range lines[1 : len(lines)-1] {
					if l[col-1] != ' ' || l[col] == ' ' {
						t.Errorf("row %q is not aligned under PHASE at column %d", l, col)
					}
				}
			}
		})
	}
	m := mustManager(t)
	mustTasks(t, m)
	mustEnv(t).mustSucceed(t, args(m, "get", "tasks", "-l", "app=web")...)
	if q := m.lastQuery(); q != "as=table&labelSelector=app%3Dweb" {
		t.Errorf("query = %q, want the table asked for and the selector passed to the manager", q)
	}
}

// TestGetTasks_ManagerTable checks that the table, the wide table and the
// names print the same from the manager's table as from the Tasks of a
// manager that serves no tables, and that the formats that need the
// objects (--sort-by, custom columns, jsonpath) ask for them.
func TestGetTasks_ManagerTable(t *testing.T) {
	e := mustEnv(t)
	withTables, without := mustManager(t), mustManager(t)
	without.noTables = true
	mustTasks(t, withTables)
	mustTasks(t, without)
	for _, a := range [][]string{
		{"get", "tasks"},
		{"get", "tasks", "-o", "wide"},
		{"get", "tasks", "-o", "wide", "--no-headers", "-l", "app"},
		{"get", "tasks", "-o", "name"},
		{"get", "tasks", "-l", "app=none"},
	} {
		t.Run(strings.Join(a, " "), func(t *testing.T) {
			got, want := e.mustRun(t, args(withTables, a...)...), e.mustRun(t, args(without, a...)...)
			if got != want {
				t.Errorf("from the manager's table:\n%+v\nfrom the Tasks:\n%+v", got, want)
			}
			if q := withTables.lastQuery(); !strings.HasPrefix(q, "as=table") {
				t.Errorf("query = %q, want the table asked for", q)
			}
		})
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "tasks", "--sort-by", ".status.restartCount", "-o", "name"}, "task/api\ntask/old\ntask/web\n"},
		{[]string{"get", "tasks", "--sort-by", "{.spec.image}", "--no-headers"}, "5h30m\napi "},
		{[]string{"get", "tasks", "-o", "custom-columns=N:.metadata.name,I:.spec.image", "--no-headers"}, "web   nginx:1.27"},
		{[]string{"get", "tasks", "-o", "jsonpath={.items[*].spec.image}"}, "example/api:1 busybox nginx:1.27"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			out := e.mustSucceed(t, args(withTables, tt.args...)...)
			if !strings.Contains(out, tt.want) {
				t.Errorf("output = %q, want %q in it", out, tt.want)
			}
			if q := withTables.lastQuery(); strings.Contains(q, "as=table") {
				t.Errorf("query = %q: the Tasks are needed, not the table", q)
			}
		})
	}
}

func TestGetTasks_Objects(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	e := mustEnv(t)

	t.Run("json, one", func(t *testing.T) {
		var got v1.Task
		if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "get", "task", "web", "-o", "json")...)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != v1.KindTask || got.Metadata.Name != "web" || got.Status.RestartCount != 2 {
			t.Errorf("got %+v, want the web Task", got)
		}
	})
	t.Run("json, list", func(t *testing.T) {
		var got v1.TaskList
		if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "get", "tasks", "-o", "json")...)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != v1.KindTaskList || len(got.Items) != 3 || got.Metadata.ResourceVersion != m.revision() {
			t.Errorf("got %+v, want a TaskList of three at resourceVersion %s", got, m.revision())
		}
	})
	t.Run("json, several names", func(t *testing.T) {
		var got v1.TaskList
		if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "get", "task", "web", "api", "-o", "json")...)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != v1.KindTaskList || len(got.Items) != 2 {
			t.Errorf("got %+v, want a TaskList of two", got)
		}
	})
	t.Run("json, empty list", func(t *testing.T) {
		out := e.mustSucceed(t, args(m, "get", "tasks", "-l", "app=none", "-o", "json")...)
		if !strings.Contains(out, `"items": []`) {
			t.Errorf("output = %s, want an empty items array", out)
		}
	})
	t.Run("yaml, one", func(t *testing.T) {
		out := e.mustSucceed(t, args(m, "get", "task", "web", "-o", "yaml")...)
		var got v1.Task
		if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
			t.Fatalf("output is not a Task: %v\n%s", err, out)
		}
		if !strings.Contains(out, "kind: Task\n") || got.Spec.Image != "nginx:1.27" {
			t.Errorf("output = %s, want the web Task in YAML", out)
		}
	})
	// A list prints as the manager sent it, byte for byte what decoding
	// it and encoding it again (the way single objects still print) gives:
	// indented by four spaces, or as YAML; and the query asks for the
	// objects, not the table.
	t.Run("list as the manager sent it", func(t *testing.T) {
		for _, sel := range []string{"", "app=none", "app"} {
			raw := e.mustSucceed(t, args(m, "get", "tasks", "-l", sel, "-o", "json")...)
			if q := m.lastQuery(); strings.Contains(q, "as=") {
				t.Errorf("query = %q, want the list", q)
			}
			var list v1.TaskList
			if err := json.Unmarshal([]byte(raw), &list); err != nil {
				t.Fatal(err)
			}
			indented, err := json.MarshalIndent(&list, "", "    ")
			if err != nil {
				t.Fatal(err)
			}
			if want := string(indented) + "\n"; raw != want {
				t.Errorf("-l %q -o json =\n%s\nwant\n%s", sel, raw, want)
			}
			y := e.mustSucceed(t, args(m, "get", "tasks", "-l", sel, "-o", "yaml")...)
			if want, err := yaml.Marshal(&list); err != nil || y != string(want) {
				t.Errorf("-l %q -o yaml =\n%s\nwant\n%s", sel, y, want)
			}
		}
	})
	t.Run("yaml, list", func(t *testing.T) {
		out := e.mustSucceed(t, args(m, "get", "tasks", "-o", "yaml")...)
		var got v1.TaskList
		if err := yaml.UnmarshalStrict([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != v1.KindTaskList || len(got.Items) != 3 {
			t.Errorf("got %+v, want a TaskList of three", got)
		}
	})
	t.Run("name", func(t *testing.T) {
		if out := e.mustSucceed(t, args(m, "get", "tasks", "-o", "name")...); out != "task/api\ntask/old\ntask/web\n" {
			t.Errorf("output = %q", out)
		}
	})
}

func TestGetTasks_Errors(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	tests := []struct {
		name       string
		args       []string
		wantStdout string
		wantStderr string
	}{
		{name: "missing", args: []string{"get", "task", "nope"}, wantStderr: "error: task \"nope\" not found\n"},
		{
			name: "one missing of two", args: []string{"get", "task", "nope", "web", "-o", "name"},
			wantStdout: "task/web\n", wantStderr: "error: task \"nope\" not found\n",
		},
		{name: "bad output", args: []string{"get", "tasks", "-o", "xml"}, wantStderr: "error: unknown output format \"xml\": use wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,...\nSee 'mkctl get --help' for usage.\n"},
		{name: "names and selector", args: []string{"get", "task", "web", "-l", "app=web"}, wantStderr: "error: names and a selector (-l) cannot be used together\nSee 'mkctl get --help' for usage.\n"},
		{name: "unknown flag", args: []string{"get", "tasks", "--bogus"}, wantStderr: "error: unknown flag: --bogus\nSee 'mkctl get --help' for usage.\n"},
		{name: "unknown type", args: []string{"get", "pods"}, wantStderr: "error: unknown resource type \"pods\": use tasks, workers, events, endpoints or managers\nSee 'mkctl get --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, args(m, tt.args...)...)
			if res.stdout != tt.wantStdout || res.stderr != tt.wantStderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", res.stdout, res.stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

func TestGetTasks_NoneFound(t *testing.T) {
	m := mustManager(t)
	res := mustEnv(t).mustRun(t, args(m, "get", "tasks")...)
	if res.code != 0 || res.stdout != "" || res.stderr != "No tasks found.\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, nothing, No tasks found.", res.code, res.stdout, res.stderr)
	}
}

func TestGetWorkers(t *testing.T) {
	m := mustManager(t)
	created := time.Now().Add(-4 * 24 * time.Hour)
	m.setWorkers([]v1.Worker{
		{
			Metadata: v1.ObjectMeta{Name: "worker-1", Labels: map[string]string{"disk": "ssd", "zone": "a"}, CreationTimestamp: &created},
			Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
			Status: v1.WorkerStatus{Phase: v1.WorkerReady, Tasks: 3,
				Stats: v1.WorkerStats{CPUPercent: 12.4, MemoryAvailable: 20 << 30, DiskFree: 79 << 30, Load1: 0.4}},
		},
		{
			Metadata: v1.ObjectMeta{Name: "worker-2", CreationTimestamp: &created},
			Spec:     v1.WorkerSpec{Address: "127.0.0.1:7072", Unschedulable: true},
			Status: v1.WorkerStatus{Phase: v1.WorkerReady,
				Stats: v1.WorkerStats{CPUPercent: 99.6, MemoryAvailable: 1536 << 20, DiskFree: 512 << 20}},
		},
		{
			Metadata: v1.ObjectMeta{Name: "worker-3", CreationTimestamp: &created},
			Spec:     v1.WorkerSpec{Address: "127.0.0.1:7073"},
			Status:   v1.WorkerStatus{Phase: v1.WorkerNotReady},
		},
	})
	e := mustEnv(t)
	tests := []struct {
		name string
		args []string
		want [][]string
	}{
		{
			name: "table",
			args: []string{"get", "workers"},
			want: [][]string{
				{"NAME", "STATUS", "ADDRESS", "TASKS", "CPU", "MEMORY", "DISK", "AGE"},
				{"worker-1", "Ready", "127.0.0.1:7071", "3", "12%", "20Gi", "79Gi", "4d"},
				{"worker-2", "Ready,SchedulingDisabled", "127.0.0.1:7072", "0", "100%", "1.5Gi", "512Mi", "4d"},
				{"worker-3", "NotReady", "127.0.0.1:7073", "0", "0%", "0", "0", "4d"},
			},
		},
		{
			name: "wide, one",
			args: []string{"get", "worker", "worker-1", "-o", "wide"},
			want: [][]string{
				{"NAME", "STATUS", "ADDRESS", "TASKS", "CPU", "MEMORY", "DISK", "AGE", "LOAD", "LABELS"},
				{"worker-1", "Ready", "127.0.0.1:7071", "3", "12%", "20Gi", "79Gi", "4d", "0.40", "disk=ssd,zone=a"},
			},
		},
		{name: "name", args: []string{"get", "workers", "-o", "name"}, want: [][]string{{"worker/worker-1"}, {"worker/worker-2"}, {"worker/worker-3"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.mustSucceed(t, args(m, tt.args...)...)
			got := fields(out)
			if len(got) != len(tt.want) {
				t.Fatalf("output has %d lines, want %d:\n%s", len(got), len(tt.want), out)
			}
			for i := range tt.want {
				if strings.Join(got[i], " ") != strings.Join(tt.want[i], " ") {
					t.Errorf("line %d = %q, want %q", i, got[i], tt.want[i])
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var got v1.WorkerList
		if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "get", "workers", "-o", "json")...)), &got); err != nil {
			t.Fatal(err)
		}
		if got.Kind != v1.KindWorkerList || len(got.Items) != 3 || got.Items[0].Kind != v1.KindWorker {
			t.Errorf("got %+v, want a WorkerList of three Workers", got)
		}
	})
	t.Run("missing", func(t *testing.T) {
		res := e.mustFail(t, args(m, "get", "worker", "nope")...)
		if res.stderr != "error: worker \"nope\" not found\n" {
			t.Errorf("stderr = %q", res.stderr)
		}
	})
}

func TestGet_Selectors(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	created := time.Now()
	m.setWorkers([]v1.Worker{
		{Metadata: v1.ObjectMeta{Name: "w1", Labels: map[string]string{"disk": "ssd"}, CreationTimestamp: &created}},
		{Metadata: v1.ObjectMeta{Name: "w2", Labels: map[string]string{"disk": "hdd"}, CreationTimestamp: &created}},
		{Metadata: v1.ObjectMeta{Name: "w3", CreationTimestamp: &created}},
	})
	e := mustEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "workers by label", args: []string{"get", "workers", "-l", "disk=ssd", "-o", "name"}, want: "worker/w1\n"},
		{name: "workers by set", args: []string{"get", "workers", "-l", "disk in (ssd,hdd)", "-o", "name"}, want: "worker/w1\nworker/w2\n"},
		{name: "workers without a label", args: []string{"get", "workers", "-l", "!disk", "-o", "name"}, want: "worker/w3\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if out := e.mustSucceed(t, args(m, tt.args...)...); out != tt.want {
				t.Errorf("stdout %q, want %q", out, tt.want)
			}
		})
	}
	t.Run("tasks: the selector goes to the manager", func(t *testing.T) {
		e.mustSucceed(t, args(m, "get", "tasks", "-l", "app=web", "-o", "name")...)
		if q := m.lastQuery(); q != "as=table&labelSelector=app%3Dweb" {
			t.Errorf("query %q", q)
		}
	})
	for _, bad := range []string{"a in (b", "=x", "app=web,,", "app in"} {
		t.Run("bad "+bad, func(t *testing.T) {
			_, _, before := m.recorded()
			res := e.mustFail(t, args(m, "get", "tasks", "-l", bad)...)
			if !strings.HasPrefix(res.stderr, "error: bad label selector (-l) \""+bad+"\": ") || strings.Count(res.stderr, "\n") != 1 {
				t.Errorf("stderr %q, want one line naming the flag and the selector", res.stderr)
			}
			if _, _, after := m.recorded(); after != before {
				t.Errorf("a bad selector was sent to the manager")
			}
		})
	}
}

// TestGet_Templates checks -o jsonpath, -o custom-columns, --sort-by and
// the short names.
func TestGet_Templates(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	e := mustEnv(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"jsonpath over a list", []string{"get", "tasks", "-o", "jsonpath={.items[*].metadata.name}"}, "api old web"},
		{"jsonpath over one", []string{"get", "task", "web", "-o", "jsonpath={.status.phase} {.status.ports[0].hostPort}"}, "Running 18080"},
		{"jsonpath range", []string{"get", "t", "-o", `jsonpath={range .items[*]}{.metadata.name}={.spec.image}{"\n"}{end}`},
			"api=example/api:1\nold=busybox\nweb=nginx:1.27\n"},
		{"custom columns", []string{"get", "tasks", "-o", "custom-columns=NAME:.metadata.name,PORTS:.spec.ports[*].containerPort,REASON:.status.reason"},
			"NAME   PORTS   REASON\napi    53      Unschedulable\nold    <none>  <none>\nweb    8080    <none>\n"},
		{"custom columns, bare paths", []string{"get", "tasks", "--no-headers", "-o", "custom-columns=N:metadata.name"}, "api\nold\nweb\n"},
		{"sort by a number, descending input", []string{"get", "tasks", "-o", "name", "--sort-by", ".status.restartCount"}, "task/api\ntask/old\ntask/web\n"},
		{"sort by a string", []string{"get", "tasks", "-o", "jsonpath={.items[*].metadata.name}", "--sort-by", "{.spec.image}"}, "old api web"},
		{"sort by worker: none first", []string{"get", "tasks", "--sort-by", ".status.worker", "--no-headers", "-o", "custom-columns=N:.metadata.name"}, "api\nweb\nold\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := e.mustSucceed(t, args(m, tt.args...)...)
			if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(tt.want), " ") || strings.Count(got, "\n") != strings.Count(tt.want, "\n") {
				t.Errorf("mkctl %v =\n%q\nwant\n%q", tt.args, got, tt.want)
			}
		})
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "tasks", "-o", "jsonpath={.items[*"}, "error: jsonpath template"},
		{[]string{"get", "tasks", "-o", "custom-columns=NAME"}, `error: custom-columns: "NAME" is not HEADER:PATH`},
		{[]string{"get", "tasks", "-o", "custom-columns="}, "error: custom-columns needs HEADER:PATH pairs"},
	} {
		if res := e.mustFail(t, args(m, bad.args...)...); !strings.HasPrefix(res.stderr, bad.want) {
			t.Errorf("mkctl %v: stderr %q, want it to start %q", bad.args, res.stderr, bad.want)
		}
	}
}
