package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestGetTasks_Watch(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	w := mustEnv(t).mustStart(t, args(m, "get", "tasks", "-w")...)
	for _, want := range []string{
		"NAME PHASE WORKER RESTARTS AGE",
		"api Pending <none> 0 5h30m",
		"old Terminating worker-2 0 5h30m",
		"web Running worker-1 2 5h30m",
	} {
		if got := w.mustFields(t); got != want {
			t.Fatalf("line %q, want %q", got, want)
		}
	}

	m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "worker-2"})
	if got, want := w.mustFields(t), "api Scheduled worker-2 0 5h30m"; got != want {
		t.Errorf("after a change: %q, want %q", got, want)
	}
	// A change the row does not show prints nothing; the next one does.
	m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "worker-2", ObservedGeneration: 1})
	m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-2"})
	if got, want := w.mustFields(t), "api Running worker-2 0 5h30m"; got != want {
		t.Errorf("after an unseen change and a seen one: %q, want %q", got, want)
	}

	// The manager goes away and comes back: the watch resumes where it
	// left off, printing neither the table again nor a change twice.
	m.breakStreams()
	m.addTask(v1.Task{Metadata: v1.ObjectMeta{Name: "db"}, Spec: v1.TaskSpec{Image: "postgres"}})
	if got := w.mustFields(t); !strings.HasPrefix(got, "db Pending <none> 0 ") {
		t.Errorf("after the manager came back: %q, want the new task db", got)
	}

	// Its history no longer reaches back far enough (410): list again and
	// print what changed meanwhile.
	m.with(func(f *fakeManager) { f.goneNext = true })
	m.breakStreams()
	mustEventually(t, "the watch answered 410", func() bool { return m.watchCount() >= 3 })
	m.finishDelete("old")
	if got, want := w.mustFields(t), "old Deleted worker-2 0 5h30m"; got != want {
		t.Errorf("after 410 and a delete: %q, want %q", got, want)
	}
	if n := m.listCount(); n != 2 {
		t.Errorf("%d lists, want the first and one after 410", n)
	}

	res := w.interrupt(t)
	if res.code != 0 || res.stderr != "" || res.stdout != "" {
		t.Errorf("after Ctrl-C: exit %d, stdout %q, stderr %q; want 0 and nothing more", res.code, res.stdout, res.stderr)
	}
}

func TestGetTasks_WatchFormats(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		first []string
		// skipTo, when set, is the line that ends the first object.
		skipTo string
		check  func(t *testing.T, line string)
	}{
		{
			name:  "name, selector",
			args:  []string{"get", "tasks", "-w", "-o", "name", "-l", "app=web"},
			first: []string{"task/web"},
			check: func(t *testing.T, line string) {
				if line != "task/web" {
					t.Errorf("line %q, want task/web", line)
				}
			},
		},
		{
			name:  "wide, no headers, one task",
			args:  []string{"get", "task", "web", "-w", "-o", "wide", "--no-headers"},
			first: []string{"web Running worker-1 2 5h30m nginx:1.27 18080->8080/TCP <none>"},
			check: func(t *testing.T, line string) {
				if got := strings.Join(strings.Fields(line), " "); got != "web Failed worker-1 2 5h30m nginx:1.27 18080->8080/TCP Error" {
					t.Errorf("line %q", got)
				}
			},
		},
		{
			name:   "json",
			args:   []string{"get", "tasks", "-w", "-o", "json", "-l", "app=web"},
			first:  []string{"{"},
			skipTo: "}",
			check: func(t *testing.T, line string) {
				if line != "{" {
					t.Errorf("line %q, want the start of a JSON object", line)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustManager(t)
			mustTasks(t, m)
			w := mustEnv(t).mustStart(t, args(m, tt.args...)...)
			for _, want := range tt.first {
				if got := strings.Join(strings.Fields(w.mustLine(t)), " "); got != want {
					t.Fatalf("first line %q, want %q", got, want)
				}
			}
			if tt.skipTo != "" {
				for w.mustLine(t) != tt.skipTo {
				}
			}
			// A change to another task is not shown; one to web is.
			m.setStatus("api", v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "worker-1"})
			m.setStatus("web", v1.TaskStatus{Phase: v1.PhaseFailed, Worker: "worker-1", RestartCount: 2, Reason: v1.ReasonError,
				Ports: []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}}})
			tt.check(t, w.mustLine(t))
			if res := w.interrupt(t); res.code != 0 || res.stderr != "" {
				t.Errorf("exit %d, stderr %q", res.code, res.stderr)
			}
		})
	}
}

func TestGetTasks_WatchErrors(t *testing.T) {
	m := mustManager(t)
	mustTasks(t, m)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "missing task", args: args(m, "get", "task", "nope", "-w"), want: "error: task \"nope\" not found\n"},
		{name: "bad token", args: []string{"get", "tasks", "-w", "--server", m.URL, "--token", "bad"}, want: "error: the manager at " + m.URL + " rejected the token (invalid bearer token); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n"},
		{name: "unreachable", args: []string{"get", "tasks", "-w", "--server", "127.0.0.1:1"}, want: "error: cannot reach the manager at https://127.0.0.1:1 (from --server): connection refused\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, tt.args...)
			if res.stderr != tt.want {
				t.Errorf("stderr %q, want %q", res.stderr, tt.want)
			}
		})
	}
}

func TestGetWorkers_Watch(t *testing.T) {
	m := mustManager(t)
	created := time.Now().Add(-2 * time.Hour)
	worker := func(name string, phase v1.WorkerPhase) v1.Worker {
		return v1.Worker{Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"zone": "a"}, CreationTimestamp: &created},
			Spec:   v1.WorkerSpec{Address: "127.0.0.1:7071"},
			Status: v1.WorkerStatus{Phase: phase, Stats: v1.WorkerStats{MemoryAvailable: 1 << 30, DiskFree: 1 << 30}}}
	}
	m.setWorkers([]v1.Worker{worker("w1", v1.WorkerReady), worker("w2", v1.WorkerReady)})
	w := mustEnv(t).mustStart(t, args(m, "get", "workers", "-w", "--no-headers", "-l", "zone=a")...)
	for _, want := range []string{"w1 Ready 127.0.0.1:7071 0 0% 1Gi 1Gi 120m", "w2 Ready 127.0.0.1:7071 0 0% 1Gi 1Gi 120m"} {
		if got := w.mustFields(t); got != want {
			t.Fatalf("line %q, want %q", got, want)
		}
	}
	// A heartbeat's sample moves CPU, MEMORY and DISK: no line for that.
	busy := worker("w1", v1.WorkerReady)
	busy.Status.Stats = v1.WorkerStats{CPUPercent: 50, MemoryAvailable: 2 << 30, DiskFree: 3 << 30}
	busy.Metadata.ResourceVersion = "7"
	m.setWorkers([]v1.Worker{busy, worker("w2", v1.WorkerReady)})
	time.Sleep(2 * pollInterval) // two polls see it, and print nothing
	m.setWorkers([]v1.Worker{busy, worker("w2", v1.WorkerNotReady)})
	if got, want := w.mustFields(t), "w2 NotReady 127.0.0.1:7071 0 0% 1Gi 1Gi 120m"; got != want {
		t.Errorf("after a change: %q, want %q", got, want)
	}
	m.setWorkers([]v1.Worker{worker("w2", v1.WorkerNotReady)})
	if got, want := w.mustFields(t), "w1 Deleted 127.0.0.1:7071 0 50% 2Gi 3Gi 120m"; got != want {
		t.Errorf("after a delete: %q, want %q", got, want)
	}
	if res := w.interrupt(t); res.code != 0 || res.stderr != "" || res.stdout != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
	}
}

// TestGetWorkersWatch_Failures: get workers -w polls through a manager
// that answers 503 for a while, and ends on an answer asking again cannot
// change (403), as get tasks -w does.
func TestGetWorkersWatch_Failures(t *testing.T) {
	m := mustManager(t)
	created := time.Now().Add(-2 * time.Hour)
	worker := func(name string, phase v1.WorkerPhase) v1.Worker {
		return v1.Worker{Metadata: v1.ObjectMeta{Name: name, CreationTimestamp: &created},
			Spec: v1.WorkerSpec{Address: "127.0.0.1:7071"}, Status: v1.WorkerStatus{Phase: phase}}
	}
	m.setWorkers([]v1.Worker{worker("w1", v1.WorkerReady)})
	w := mustEnv(t).mustStart(t, args(m, "get", "workers", "-w", "--no-headers", "-o", "name")...)
	if got := w.mustLine(t); got != "worker/w1" {
		t.Fatalf("line %q", got)
	}
	m.with(func(f *fakeManager) { f.listCode = http.StatusServiceUnavailable })
	time.Sleep(2 * pollInterval)
	m.with(func(f *fakeManager) { f.listCode = 0 })
	m.setWorkers([]v1.Worker{worker("w1", v1.WorkerReady), worker("w2", v1.WorkerReady)})
	if got := w.mustLine(t); got != "worker/w2" {
		t.Fatalf("after the manager answered 503 a while: line %q, want the new worker", got)
	}
	m.with(func(f *fakeManager) { f.listCode = http.StatusForbidden })
	res := w.wait(t)
	if res.code != 1 || !strings.HasPrefix(res.stderr, "error: ") || !strings.Contains(res.stderr, "refused by the test") {
		t.Errorf("after a 403: exit %d, stderr %q; want 1 and the manager's answer", res.code, res.stderr)
	}
}

// mustEvents records two events about web (one of an older incarnation)
// and one about a worker.
func mustEvents(t *testing.T, m *fakeManager) {
	t.Helper()
	now := time.Now()
	m.with(func(f *fakeManager) {
		f.events = []v1.Event{
			{Metadata: v1.ObjectMeta{Name: "e1"}, InvolvedObject: v1.ObjectReference{Kind: v1.KindTask, Name: "web", UID: "old-uid"},
				Type: v1.EventNormal, Reason: "Scheduled", Message: "assigned to worker worker-9", Source: "scheduler", Count: 1,
				FirstTimestamp: now.Add(-2 * time.Hour), LastTimestamp: now.Add(-2 * time.Hour)},
			{Metadata: v1.ObjectMeta{Name: "e2"}, InvolvedObject: v1.ObjectReference{Kind: v1.KindTask, Name: "web", UID: "uid-web"},
				Type: v1.EventWarning, Reason: "Unhealthy", Message: "GET /healthz: 500\nagain", Source: "manager", Count: 3,
				FirstTimestamp: now.Add(-10 * time.Minute), LastTimestamp: now.Add(-5 * time.Minute)},
			{Metadata: v1.ObjectMeta{Name: "e3"}, InvolvedObject: v1.ObjectReference{Kind: v1.KindWorker, Name: "worker-1"},
				Type: v1.EventNormal, Reason: "Cordoned", Message: "worker worker-1 marked unschedulable", Source: "manager", Count: 1,
				FirstTimestamp: now.Add(-time.Minute), LastTimestamp: now.Add(-time.Minute)},
		}
	})
}

func TestGetEvents(t *testing.T) {
	m := mustManager(t)
	mustEvents(t, m)
	e := mustEnv(t)
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "all",
			args: []string{"get", "events"},
			want: []string{
				"LAST SEEN TYPE REASON OBJECT MESSAGE",
				"120m Normal Scheduled task/web assigned to worker worker-9",
				"5m Warning Unhealthy task/web GET /healthz: 500; again",
				"60s Normal Cordoned worker/worker-1 worker worker-1 marked unschedulable",
			},
		},
		{
			name: "one task, wide",
			args: []string{"get", "events", "--task", "web", "-o", "wide", "--no-headers"},
			want: []string{
				"120m Normal Scheduled task/web scheduler 1 120m assigned to worker worker-9",
				"5m Warning Unhealthy task/web manager 3 10m GET /healthz: 500; again",
			},
		},
		{name: "name", args: []string{"get", "events", "--task", "web", "-o", "name"}, want: []string{"event/e1", "event/e2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.mustSucceed(t, args(m, tt.args...)...)
			got := fields(out)
			if len(got) != len(tt.want) {
				t.Fatalf("output has %d lines, want %d:\n%s", len(got), len(tt.want), out)
			}
			for i := range tt.want {
				if strings.Join(got[i], " ") != tt.want[i] {
					t.Errorf("line %d = %q, want %q", i, strings.Join(got[i], " "), tt.want[i])
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		var list v1.EventList
		if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "get", "events", "-o", "json")...)), &list); err != nil {
			t.Fatal(err)
		}
		if list.Kind != v1.KindEventList || len(list.Items) != 3 || list.Items[1].Count != 3 {
			t.Errorf("got %+v, want the EventList of three", list)
		}
	})
	t.Run("none", func(t *testing.T) {
		res := e.mustRun(t, args(m, "get", "events", "--task", "nope")...)
		if res.code != 0 || res.stdout != "" || res.stderr != "No events found.\n" {
			t.Errorf("exit %d, stdout %q, stderr %q", res.code, res.stdout, res.stderr)
		}
	})
	t.Run("usage", func(t *testing.T) {
		for _, a := range [][]string{{"get", "events", "-l", "a=b"}, {"get", "events", "e1"}, {"get", "tasks", "--task", "web"}} {
			res := e.mustFail(t, args(m, a...)...)
			if !strings.Contains(res.stderr, "See 'mkctl get --help' for usage.") {
				t.Errorf("mkctl %v: stderr %q, want a usage error", a, res.stderr)
			}
		}
	})
}

func TestGetEvents_Watch(t *testing.T) {
	m := mustManager(t)
	mustEvents(t, m)
	w := mustEnv(t).mustStart(t, args(m, "get", "events", "-w", "--task", "web", "--no-headers")...)
	for range 2 {
		w.mustLine(t)
	}
	// The Unhealthy event repeats; a new one comes.
	m.with(func(f *fakeManager) {
		f.events[1].Count = 4
		f.events[1].LastTimestamp = time.Now()
		f.events = append(f.events, v1.Event{Metadata: v1.ObjectMeta{Name: "e4"}, InvolvedObject: v1.ObjectReference{Kind: v1.KindTask, Name: "web"},
			Type: v1.EventNormal, Reason: "Killing", Message: "stopping", Count: 1, FirstTimestamp: time.Now(), LastTimestamp: time.Now()})
	})
	// LAST SEEN is 0s or 1s, as the poll comes; the rest is fixed.
	withoutAge := func(line string) string { _, rest, _ := strings.Cut(line, " "); return rest }
	got := []string{withoutAge(w.mustFields(t)), withoutAge(w.mustFields(t))}
	want := []string{"Warning Unhealthy task/web GET /healthz: 500; again", "Normal Killing task/web stopping"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
	if res := w.interrupt(t); res.code != 0 || res.stdout != "" {
		t.Errorf("exit %d, more output %q", res.code, res.stdout)
	}
}
