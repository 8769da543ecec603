package workerd_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

func TestServer_AssignRunsTheTask(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.PortHostIP = "127.0.0.1" })
	token := h.mustRegistered(t, 1)
	task := newTask("web", "0123456789abcdef", func(t *v1.Task) {
		t.Spec.Command = []string{"/bin/app"}
		t.Spec.Env = []v1.EnvVar{{Name: "MODE", Value: "prod"}, {Name: "EMPTY"}}
		t.Spec.Ports = []v1.Port{{Name: "http", ContainerPort: 8080}, {Name: "dns", ContainerPort: 53, HostPort: 5353, Protocol: v1.ProtocolUDP}}
		t.Spec.Resources = v1.Resources{CPU: "500m", Memory: "64Mi", Disk: "1Gi"}
	})

	h.mustAssign(t, token, task, http.StatusCreated)
	h.mustAssign(t, token, task, http.StatusOK)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)

	specs := h.rt.created()
	if len(specs) != 1 {
		t.Fatalf("%d containers created; want 1 for two POSTs of one task", len(specs))
	}
	spec := specs[0]
	wantLabels := map[string]string{
		runtime.LabelTaskUID:  task.Metadata.UID,
		runtime.LabelTaskName: "web",
		runtime.LabelSpecHash: task.Spec.Hash(),
		runtime.LabelWorker:   workerName,
		runtime.LabelCluster:  clusterID,
	}
	for k, v := range wantLabels {
		if spec.Labels[k] != v || c.Labels[k] != v {
			t.Errorf("label %s = %q (spec), %q (container); want %q", k, spec.Labels[k], c.Labels[k], v)
		}
	}
	var labelled v1.Task
	if err := json.Unmarshal([]byte(spec.Labels[workerd.LabelTask]), &labelled); err != nil {
		t.Fatalf("label %s is not a task: %v", workerd.LabelTask, err)
	}
	if labelled.Metadata.UID != task.Metadata.UID || labelled.Metadata.Generation != 1 || labelled.Spec.Hash() != task.Spec.Hash() {
		t.Errorf("label %s = %+v; want the task's metadata and spec", workerd.LabelTask, labelled)
	}
	if want := "mk-web-01234567-" + task.Spec.Hash()[:8] + "-" + workerName; spec.Name != want {
		t.Errorf("container name = %q; want %q", spec.Name, want)
	}
	if spec.Image != testImage || !slices.Equal(spec.Entrypoint, []string{"/bin/app"}) || !slices.Equal(spec.Cmd, []string{"serve"}) {
		t.Errorf("image, entrypoint, cmd = %q %q %q; want %q [/bin/app] [serve]", spec.Image, spec.Entrypoint, spec.Cmd, testImage)
	}
	if !slices.Equal(spec.Env, []string{"MODE=prod", "EMPTY="}) {
		t.Errorf("env = %q; want [MODE=prod EMPTY=]", spec.Env)
	}
	// The port left to the worker is chosen by it, free on the host
	// address, so that it stays the same across restarts.
	wantPorts := []runtime.PortBinding{
		{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"},
		{ContainerPort: 53, HostPort: 5353, Protocol: "udp", HostIP: "127.0.0.1"},
	}
	if len(spec.Ports) == 2 && spec.Ports[0].HostPort != 0 {
		wantPorts[0].HostPort = spec.Ports[0].HostPort
	}
	if !slices.Equal(spec.Ports, wantPorts) {
		t.Errorf("ports = %+v; want %+v with a host port chosen for 8080", spec.Ports, wantPorts)
	}
	if spec.NanoCPUs != 500_000_000 || spec.Memory != 64<<20 {
		t.Errorf("limits = %d nanoCPUs, %d bytes; want 500000000 and %d", spec.NanoCPUs, spec.Memory, 64<<20)
	}

	// The manager hears of the running task, with the host ports chosen.
	mustEventually(t, "a report of the task Running", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool {
			st := r.Status
			return st.Phase == v1.PhaseRunning && st.ContainerID == c.ID && st.ObservedGeneration == 1 &&
				condition(st, v1.TaskReady).Status == v1.ConditionTrue &&
				condition(st, v1.TaskStarted).Status == v1.ConditionTrue &&
				len(st.Ports) == 2 && st.Ports[0].HostPort == c.Ports[0].HostPort && st.Ports[0].HostPort != 0 &&
				st.Ports[1].HostPort == 5353 && st.StartedAt != nil
		})
	})
	tasks := h.mustTasks(t, token)
	if len(tasks) != 1 || tasks[0].Metadata.Name != "web" || tasks[0].Spec.Image != testImage || tasks[0].Status.Phase != v1.PhaseRunning {
		t.Errorf("GET /api/v1/tasks = %+v; want the one Running task", tasks)
	}
}

func TestServer_AssignRejectsBadTasks(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	big := newTask("web", "uid-1", func(t *v1.Task) {
		t.Spec.Env = []v1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 2<<20)}}
	})
	tests := []struct {
		name   string
		body   any
		code   int
		reason v1.StatusReason
	}{
		{"not JSON", []byte("{"), http.StatusBadRequest, v1.StatusReasonBadRequest},
		{"no uid", newTask("web", ""), http.StatusBadRequest, v1.StatusReasonBadRequest},
		{"no name", newTask("", "uid-1"), http.StatusBadRequest, v1.StatusReasonBadRequest},
		{"no image", newTask("web", "uid-1", func(t *v1.Task) { t.Spec.Image = "" }), http.StatusBadRequest, v1.StatusReasonBadRequest},
		{"over the size limit", big, http.StatusRequestEntityTooLarge, v1.StatusReasonRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := h.do(t, http.MethodPost, "/api/v1/tasks", token, tt.body)
			if code != tt.code || mustStatusBody(t, body).Reason != tt.reason {
				t.Errorf("POST = %d %s; want %d %s", code, body, tt.code, tt.reason)
			}
		})
	}
	if tasks := h.mustTasks(t, token); len(tasks) != 0 {
		t.Errorf("worker holds %d tasks after bad POSTs; want 0", len(tasks))
	}
	if n := fake.Calls(runtimetest.MethodCreate); n != 0 {
		t.Errorf("Create called %d times; want 0", n)
	}
	if code, body := h.do(t, http.MethodGet, "/api/v1/no-such-route", token, nil); code != http.StatusNotFound || mustStatusBody(t, body).Reason != v1.StatusReasonNotFound {
		t.Errorf("GET unknown route = %d %s; want 404 NotFound", code, body)
	}
}

func TestServer_AssignChecksFreeDisk(t *testing.T) {
	t.Parallel()
	statsErr := errors.New("statfs: input/output error")
	tests := []struct {
		name     string
		disk     string
		free     int64
		statsErr error
		want     int
		reason   v1.StatusReason
		message  []string
	}{
		{name: "more than free", disk: "2Gi", free: 1 << 30, want: http.StatusInsufficientStorage,
			reason: v1.StatusReasonInsufficientStorage, message: []string{`"web"`, "2Gi", "1Gi free", workerName}},
		{name: "less than free", disk: "512Mi", free: 1 << 30, want: http.StatusCreated},
		{name: "exactly free", disk: "1Gi", free: 1 << 30, want: http.StatusCreated},
		{name: "no disk asked", free: 0, want: http.StatusCreated},
		{name: "free disk unknown", disk: "1Mi", statsErr: statsErr, want: http.StatusServiceUnavailable,
			reason: v1.StatusReasonServiceUnavailable, message: []string{"input/output error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			h := mustStartWorker(t, fake, &fakeManager{}, nil)
			token := h.mustRegistered(t, 1)
			h.stats.set(v1.WorkerStats{DiskFree: tt.free}, tt.statsErr)
			task := newTask("web", "uid-web-1", func(t *v1.Task) { t.Spec.Resources.Disk = tt.disk })
			code, body := h.do(t, http.MethodPost, "/api/v1/tasks", token, task)
			if code != tt.want {
				t.Fatalf("POST task asking %q disk with %d free = %d %s; want %d", tt.disk, tt.free, code, body, tt.want)
			}
			if tt.want == http.StatusCreated {
				h.mustRunning(t, token, task.Metadata.UID, 0)
				return
			}
			st := mustStatusBody(t, body)
			if st.Reason != tt.reason || st.Code != tt.want || !containsAll(st.Message, tt.message...) {
				t.Errorf("refusal = %+v; want reason %s and a message naming %q", st, tt.reason, tt.message)
			}
			mustSettle(t, fake, 3)
			if tasks := h.mustTasks(t, token); len(tasks) != 0 {
				t.Errorf("worker holds %d tasks after refusing; want 0", len(tasks))
			}
			if n := fake.Calls(runtimetest.MethodCreate); n != 0 {
				t.Errorf("Create called %d times after refusing; want 0", n)
			}
		})
	}
}

func TestServer_DeleteStopsAndForgets(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	fake.SetPullError("missing:1", "manifest unknown")
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	web := newTask("web", "uid-web-1")
	keep := newTask("keep", "uid-keep-1")
	pulling := newTask("pulling", "uid-pulling-1", func(t *v1.Task) { t.Spec.Image = "missing:1" })
	for _, task := range []*v1.Task{web, keep, pulling} {
		h.mustAssign(t, token, task, http.StatusCreated)
	}
	c := h.mustRunning(t, token, web.Metadata.UID, 0)
	kept := h.mustRunning(t, token, keep.Metadata.UID, 0)
	h.mustStatus(t, token, pulling.Metadata.UID, "failing to pull", func(st v1.TaskStatus) bool {
		return st.Reason == v1.ReasonErrImagePull || st.Reason == v1.ReasonImagePullBackOff
	})
	stops := fake.Calls(runtimetest.MethodStop)

	code, body := h.do(t, http.MethodDelete, "/api/v1/tasks/"+web.Metadata.UID, token, nil)
	if code != http.StatusOK {
		t.Fatalf("DELETE = %d %s; want 200", code, body)
	}
	// The answer comes once the container is gone.
	if _, err := fake.Inspect(t.Context(), c.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect of the deleted task's container = %v; want ErrNotFound", err)
	}
	if n := fake.Calls(runtimetest.MethodStop); n <= stops {
		t.Errorf("the running container was removed without a graceful Stop")
	}
	if _, ok := h.status(t, token, web.Metadata.UID); ok {
		t.Errorf("the deleted task is still held")
	}

	// A task with no container yet is forgotten too.
	if code, body := h.do(t, http.MethodDelete, "/api/v1/tasks/"+pulling.Metadata.UID, token, nil); code != http.StatusOK {
		t.Fatalf("DELETE of a task with no container = %d %s; want 200", code, body)
	}

	for _, uid := range []string{web.Metadata.UID, "no-such-uid"} {
		code, body := h.do(t, http.MethodDelete, "/api/v1/tasks/"+uid, token, nil)
		if code != http.StatusNotFound || mustStatusBody(t, body).Reason != v1.StatusReasonNotFound {
			t.Errorf("DELETE %s = %d %s; want 404 NotFound", uid, code, body)
		}
	}
	if code, _ := h.do(t, http.MethodDelete, "/api/v1/tasks/"+keep.Metadata.UID, "wrong", nil); code != http.StatusUnauthorized {
		t.Errorf("DELETE with a wrong token = %d; want 401", code)
	}
	if got := sortedUIDs(h.mustTasks(t, token)); !slices.Equal(got, []string{keep.Metadata.UID}) {
		t.Errorf("tasks held = %q; want only %s", got, keep.Metadata.UID)
	}
	if c, err := fake.Inspect(t.Context(), kept.ID); err != nil || !c.State.Running {
		t.Errorf("the other task's container = %+v, %v; want it running", c.State, err)
	}
}

func TestServer_Logs(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	fake.SetPullError("missing:1", "manifest unknown")
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("job", "uid-job-1", func(t *v1.Task) { t.Spec.RestartPolicy = v1.RestartNever })
	pulling := newTask("pulling", "uid-pulling-1", func(t *v1.Task) { t.Spec.Image = "missing:1" })
	h.mustAssign(t, token, task, http.StatusCreated)
	h.mustAssign(t, token, pulling, http.StatusCreated)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)
	if err := fake.WriteLog(c.ID, "one\ntwo\nthree\n"); err != nil {
		t.Fatal(err)
	}
	h.mustStatus(t, token, pulling.Metadata.UID, "failing to pull", func(st v1.TaskStatus) bool { return st.Reason != v1.ReasonContainerCreate })

	tests := []struct {
		name string
		path string
		code int
		body string
	}{
		{"all lines", "/api/v1/tasks/uid-job-1/logs", http.StatusOK, "one\ntwo\nthree\n"},
		{"tail", "/api/v1/tasks/uid-job-1/logs?tail=2", http.StatusOK, "two\nthree\n"},
		{"bad tail", "/api/v1/tasks/uid-job-1/logs?tail=x", http.StatusBadRequest, ""},
		{"unknown task", "/api/v1/tasks/nope/logs", http.StatusNotFound, ""},
		{"task with no container", "/api/v1/tasks/uid-pulling-1/logs", http.StatusBadRequest, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := h.do(t, http.MethodGet, tt.path, token, nil)
			if code != tt.code || (tt.code == http.StatusOK && string(body) != tt.body) {
				t.Errorf("GET %s = %d %q; want %d %q", tt.path, code, body, tt.code, tt.body)
			}
		})
	}

	t.Run("follow", func(t *testing.T) {
		logCalls := fake.Calls(runtimetest.MethodLogs)
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/api/v1/tasks/uid-job-1/logs?follow=true&tail=0", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		// The answer's header goes out with the first output, so the
		// request runs while the container writes.
		type answer struct {
			resp *http.Response
			err  error
		}
		answers := make(chan answer, 1)
		go func() {
			resp, err := h.http.Do(req)
			answers <- answer{resp, err}
		}()
		mustEventually(t, "the follower to open the container's log", func() bool {
			return fake.Calls(runtimetest.MethodLogs) >= logCalls+1
		})
		if err := fake.WriteLog(c.ID, "four\n"); err != nil {
			t.Fatal(err)
		}
		a := <-answers
		if a.err != nil {
			t.Fatalf("GET logs?follow: %v", a.err)
		}
		resp := a.resp
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET logs?follow = %d; want 200", resp.StatusCode)
		}
		rd := bufio.NewReader(resp.Body)
		line, err := rd.ReadString('\n')
		if err != nil || line != "four\n" {
			t.Fatalf("followed line = %q, %v; want four", line, err)
		}
		if err := fake.Exit(c.ID, 0); err != nil {
			t.Fatal(err)
		}
		rest, err := rd.ReadString('\n')
		if err == nil || rest != "" {
			t.Errorf("after the container stopped the stream gave %q, %v; want its end", rest, err)
		}
	})
}

func TestServer_Stats(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	h.mustAssign(t, token, newTask("web", "uid-web-1"), http.StatusCreated)
	h.mustAssign(t, token, newTask("api", "uid-api-1"), http.StatusCreated)

	code, body := h.do(t, http.MethodGet, "/api/v1/stats", token, nil)
	var st v1.WorkerStats
	if code != http.StatusOK || json.Unmarshal(body, &st) != nil {
		t.Fatalf("GET /api/v1/stats = %d %s; want 200 and WorkerStats", code, body)
	}
	if st.Tasks != 2 || st.DiskFree != 50<<30 || st.CPUs != 2 {
		t.Errorf("stats = %+v; want 2 tasks and the sampler's disk and CPUs", st)
	}

	// An internal error is logged under an id; the answer carries the id
	// and not the error.
	h.stats.set(v1.WorkerStats{}, errors.New("/proc/stat: permission denied"))
	code, body = h.do(t, http.MethodGet, "/api/v1/stats", token, nil)
	msg := mustStatusBody(t, body).Message
	id := msg[strings.LastIndex(msg, " ")+1:]
	if code != http.StatusInternalServerError || strings.Contains(msg, "permission denied") || !strings.Contains(msg, "logged it with id") {
		t.Errorf("GET /api/v1/stats with a failing sampler = %d %s; want 500 with an id and not the error", code, body)
	}
	if log := h.logs.String(); !strings.Contains(log, "id="+id) || !strings.Contains(log, "permission denied") {
		t.Errorf("the log does not hold the error under id %s:\n%s", id, log)
	}
}

// TestServer_Throttle: a client that keeps sending a wrong token is
// answered 429, its connection closed each time; the manager's token from
// the same address keeps working.
func TestServer_Throttle(t *testing.T) {
	t.Parallel()
	h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	last := 0
	for i := range 11 {
		last, _ = h.do(t, http.MethodGet, "/api/v1/tasks", fmt.Sprint("guess-", i), nil)
		if i < 10 && last != http.StatusUnauthorized {
			t.Fatalf("guess %d = %d, want 401", i, last)
		}
	}
	if last != http.StatusTooManyRequests {
		t.Errorf("the 11th guess = %d, want 429", last)
	}
	if code, _ := h.do(t, http.MethodGet, "/api/v1/tasks", token, nil); code != http.StatusOK {
		t.Errorf("the manager's token from the same address = %d, want 200", code)
	}
}

func withResourceVersion(rv string) func(*v1.Task) {
	return func(t *v1.Task) { t.Metadata.ResourceVersion = rv }
}

// TestServer_LatePushIsCheckedAgainstTheList: a push of a new task written
// no later than the newest revision the manager has answered at may be
// one the manager gave up on. It is answered 202 and the task is taken
// only from the manager's list, so a push delayed past the manager's wait
// never starts a copy of a task that has moved on.
func TestServer_LatePushIsCheckedAgainstTheList(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	mgr.setReplies(0, 100)
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	mustEventually(t, "a report answered at revision 100", func() bool { return len(mgr.succeeded()) >= 1 })

	late := newTask("late", "uid-late", withResourceVersion("99"))
	lists := mgr.workerTasksCalls()
	h.mustAssign(t, token, late, http.StatusAccepted)
	mustEventually(t, "a look at the manager's list", func() bool { return mgr.workerTasksCalls() > lists })
	mustSettle(t, fake, 3)
	if _, held := h.status(t, token, late.Metadata.UID); held {
		t.Error("took a late push of a task the manager does not list")
	}
	if cs := h.containers(t, late.Metadata.UID); len(cs) != 0 {
		t.Errorf("containers of the late push: %+v", cs)
	}

	// A late push of a task the manager still lists here is taken from
	// the list.
	listed := newTask("listed", "uid-listed", withResourceVersion("98"))
	mgr.setTasks(listed)
	h.mustAssign(t, token, listed, http.StatusAccepted)
	h.mustRunning(t, token, listed.Metadata.UID, 0)

	// A push newer than every answer is taken at once, and a task already
	// held is answered at once whatever its revision.
	fresh := newTask("fresh", "uid-fresh", withResourceVersion("101"))
	h.mustAssign(t, token, fresh, http.StatusCreated)
	h.mustRunning(t, token, fresh.Metadata.UID, 0)
	h.mustAssign(t, token, listed, http.StatusOK)
	if n := len(h.containers(t, listed.Metadata.UID)); n != 1 {
		t.Errorf("%d containers of the listed task, want 1", n)
	}
}

// TestServer_PushWhileOutOfContactIsChecked: a worker that has not heard
// from the manager for about its worker timeout may have been judged lost
// and its tasks moved: a push is taken only from the manager's list,
// which cannot be read while the manager is out of reach.
func TestServer_PushWhileOutOfContactIsChecked(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	fake := runtimetest.New(testImage)
	fake.Now = clk.Now
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.Now = clk.Now })
	token := h.mustRegistered(t, 1)
	mustEventually(t, "a report answered", func() bool { return len(mgr.succeeded()) >= 1 })

	unreachable := errors.New("connection refused")
	before := mgr.refused()
	mgr.setReportErr(unreachable)
	mgr.setTasksErr(unreachable)
	// The worker takes in each answer before it calls the manager again:
	// once a report is refused, no answer it has yet to read can put it
	// back in contact after the clock moves.
	mustEventually(t, "a report refused", func() bool { return mgr.refused() > before })
	clk.Advance(5 * time.Second) // past three 20ms heartbeats and the 3s floor
	task := newTask("web", "uid-web")
	lists := mgr.workerTasksCalls()
	h.mustAssign(t, token, task, http.StatusAccepted)
	mustEventually(t, "a try at the manager's list", func() bool { return mgr.workerTasksCalls() > lists })
	mustSettle(t, fake, 3)
	if _, held := h.status(t, token, task.Metadata.UID); held {
		t.Fatal("took a push while out of contact with the manager")
	}

	// Back in contact, a push is taken at once again.
	mgr.setReportErr(nil)
	mgr.setTasksErr(nil)
	n := len(mgr.succeeded())
	// The fake manager counts a report before the worker has read its
	// answer; the worker sends its reports one after another, each once
	// it has taken in the last one's answer, so a second answered report
	// says the worker heard the first.
	mustEventually(t, "the worker back in contact", func() bool { return len(mgr.succeeded()) > n+1 })
	h.mustAssign(t, token, task, http.StatusCreated)
	h.mustRunning(t, token, task.Metadata.UID, 0)
}
