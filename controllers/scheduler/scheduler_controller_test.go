package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/scheduler"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// waitTimeout bounds every wait for the controller; a pass takes
// milliseconds, and the controller's own safety-net requeue (30s) is
// longer, so a test that passes shows the change was acted on at once.
const waitTimeout = 10 * time.Second

// push is one AssignTask call the fake worker API saw.
type push struct {
	Worker     string
	Task       string
	UID        string
	Generation int64
	Accepted   bool
	Answer     bool // the first status was asked for
}

// stop is one StopTask call the fake worker API saw.
type stop struct {
	Worker string
	UID    string
}

// fakeWorkers is a WorkerAPI that records every call and refuses pushes
// (or stops) with the error set for a worker.
type fakeWorkers struct {
	mu         sync.Mutex
	refuse     map[string]error // worker -> error of AssignTask
	stopErr    map[string]error // worker -> error of StopTask
	pushes     []push
	stops      []stop
	wrongCreds []string
}

var _ scheduler.WorkerAPI = (*fakeWorkers)(nil)

func newFakeWorkers() *fakeWorkers {
	return &fakeWorkers{refuse: map[string]error{}, stopErr: map[string]error{}}
}

// AssignTask answers a push of a task new to the worker that asks for the
// first status with the task Running, as a worker whose container starts
// at once does.
func (f *fakeWorkers) AssignTask(_ context.Context, w *v1.Worker, cred *v1.Credential, t *v1.Task, answer bool) (*v1.TaskReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cred == nil || cred.Metadata.Name != w.Metadata.Name {
		f.wrongCreds = append(f.wrongCreds, w.Metadata.Name)
	}
	err := f.refuse[w.Metadata.Name]
	held := slices.ContainsFunc(f.pushes, func(p push) bool { return p.Worker == w.Metadata.Name && p.UID == t.Metadata.UID && p.Accepted })
	f.pushes = append(f.pushes, push{
		Worker: w.Metadata.Name, Task: t.Metadata.Name, UID: t.Metadata.UID,
		Generation: t.Metadata.Generation, Accepted: err == nil, Answer: answer,
	})
	if err != nil || !answer || held {
		return nil, err
	}
	return &v1.TaskReport{UID: t.Metadata.UID, Name: t.Metadata.Name, Generation: t.Metadata.Generation,
		Status: v1.TaskStatus{Phase: v1.PhaseRunning, ContainerID: "c-" + t.Metadata.Name}}, nil
}

func (f *fakeWorkers) StopTask(_ context.Context, w *v1.Worker, cred *v1.Credential, uid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if cred == nil || cred.Metadata.Name != w.Metadata.Name {
		f.wrongCreds = append(f.wrongCreds, w.Metadata.Name)
	}
	f.stops = append(f.stops, stop{Worker: w.Metadata.Name, UID: uid})
	return f.stopErr[w.Metadata.Name]
}

func (f *fakeWorkers) setRefuse(worker string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refuse[worker] = err
}

func (f *fakeWorkers) setStopErr(worker string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopErr[worker] = err
}

// accepted reports whether worker accepted a push of uid.
func (f *fakeWorkers) accepted(worker, uid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.pushes, func(p push) bool { return p.Worker == worker && p.UID == uid && p.Accepted })
}

func (f *fakeWorkers) Pushes() []push {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.pushes)
}

func (f *fakeWorkers) Stops() []stop {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.stops)
}

func (f *fakeWorkers) WrongCreds() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.wrongCreds)
}

// env is a scheduler over a real bolt store with its caches running.
type env struct {
	st      *store.State
	workers *fakeWorkers
	firsts  *firstStatuses
}

// firstStatus is one call of the scheduler's FirstStatus.
type firstStatus struct {
	Worker, Task string
	Assigned     v1.TaskStatus // of the task handed with it
	First        v1.TaskReport
}

// firstStatuses records the first statuses the scheduler hands on.
type firstStatuses struct {
	mu    sync.Mutex
	calls []firstStatus
}

func (f *firstStatuses) record(_ context.Context, worker string, t *v1.Task, first v1.TaskReport) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, firstStatus{Worker: worker, Task: t.Metadata.Name, Assigned: t.Status, First: first})
}

func (f *firstStatuses) of(task string) []firstStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []firstStatus
	for _, c := range f.calls {
		if c.Task == task {
			out = append(out, c)
		}
	}
	return out
}

// mustStart starts the store's caches and a scheduler using a fake worker
// API; both stop when the test ends.
func mustStart(t *testing.T) *env {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger)
	fw := newFakeWorkers()
	firsts := &firstStatuses{}
	c := scheduler.New(scheduler.Options{State: st, Workers: fw, Logger: logger, FirstStatus: firsts.record})
	statetest.Run(t, st, c)
	return &env{st: st, workers: fw, firsts: firsts}
}

// mustWorker stores a Ready worker and its credentials, the credentials
// first (as registration does) and visible to the scheduler before the
// worker is.
func (e *env) mustWorker(t *testing.T, name string, opts ...func(*v1.Worker)) *v1.Worker {
	t.Helper()
	cred, err := e.st.Credentials.Create(t.Context(), &v1.Credential{
		TypeMeta:     v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata:     v1.ObjectMeta{Name: name},
		TokenHash:    "hash-" + name,
		ManagerToken: "manager-token-" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.CredentialCache.WaitForRevision, cred.Metadata.ResourceVersion)
	now := time.Now().UTC()
	w := readyWorker(name, opts...)
	w.Metadata.UID = store.NewUID()
	w.Metadata.CreationTimestamp = &now
	w.Status.LastHeartbeatTime = &now
	out, err := e.st.Workers.Create(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.WorkerCache.WaitForRevision, out.Metadata.ResourceVersion)
	return out
}

// mustUpdateWorker changes a stored worker and waits until the worker
// cache has the change.
func (e *env) mustUpdateWorker(t *testing.T, name string, fn func(*v1.Worker)) {
	t.Helper()
	out, err := e.st.Workers.GuaranteedUpdate(t.Context(), name, func(w *v1.Worker) (*v1.Worker, error) {
		fn(w)
		return w, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.WorkerCache.WaitForRevision, out.Metadata.ResourceVersion)
}

func mustRevision(t *testing.T, wait func(context.Context, int64) error, rv string) {
	t.Helper()
	rev, err := store.ParseResourceVersion(rv)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
}

// mustApply applies a task the way the API does and returns what was
// stored.
func (e *env) mustApply(t *testing.T, task *v1.Task) *v1.Task {
	t.Helper()
	v1.SetTaskDefaults(task)
	if errs := v1.ValidateTask(task); len(errs) > 0 {
		t.Fatalf("invalid test task: %v", errs)
	}
	out, _, err := e.st.ApplyTask(t.Context(), task, store.ApplyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func newTask(name string) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name},
		Spec:     v1.TaskSpec{Image: "minkube/testapp:dev"},
	}
}

// mustEventually polls the stored task until cond holds, and fails the
// test with the last state seen when it does not within waitTimeout.
func (e *env) mustEventually(t *testing.T, name, what string, cond func(*v1.Task) bool) *v1.Task {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last *v1.Task
	var lastErr error
	for time.Now().Before(deadline) {
		last, lastErr = e.st.Tasks.Get(t.Context(), name)
		if lastErr == nil && cond(last) {
			return last
		}
		time.Sleep(10 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("task %s: %s: not within %s; last read: %v", name, what, waitTimeout, lastErr)
	}
	t.Fatalf("task %s: %s: not within %s; last status: %+v (generation %d)", name, what, waitTimeout, last.Status, last.Metadata.Generation)
	return nil
}

// mustGone waits until the task is no longer stored.
func (e *env) mustGone(t *testing.T, name string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		_, err := e.st.Tasks.Get(t.Context(), name)
		if errors.Is(err, store.ErrNotFound) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("task %s still stored after %s", name, waitTimeout)
}

// mustScheduled waits until the task is recorded on a worker that
// accepted its push. Its phase is the worker's to report (Scheduled, then
// Running); the fake worker API reports nothing.
func (e *env) mustScheduled(t *testing.T, name string) *v1.Task {
	t.Helper()
	return e.mustEventually(t, name, "recorded on a worker that accepted it", func(task *v1.Task) bool {
		c := v1.FindCondition(task.Status.Conditions, v1.TaskScheduled)
		return task.Status.Worker != "" && c != nil && c.Status == v1.ConditionTrue &&
			e.workers.accepted(task.Status.Worker, task.Metadata.UID)
	})
}

// mustDelete marks the task deleted, as DELETE /api/v1/tasks/:name does.
func (e *env) mustDelete(t *testing.T, name string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := e.st.Tasks.GuaranteedUpdate(t.Context(), name, func(task *v1.Task) (*v1.Task, error) {
		task.Metadata.DeletionTimestamp = &now
		return task, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestController_RoundRobin(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustWorker(t, "w2")
	for i := range 4 {
		e.mustApply(t, newTask(fmt.Sprintf("task-%d", i)))
	}
	perWorker := map[string]int{}
	for i := range 4 {
		task := e.mustScheduled(t, fmt.Sprintf("task-%d", i))
		perWorker[task.Status.Worker]++
		if task.Status.HostIP != "127.0.0.1" {
			t.Errorf("task-%d: hostIP = %q, want 127.0.0.1 (from the worker address)", i, task.Status.HostIP)
		}
		if got := task.Status.AssignedGeneration(); got != 1 {
			t.Errorf("task-%d: assigned generation = %d, want 1", i, got)
		}
		if task.Status.ObservedGeneration != 0 {
			t.Errorf("task-%d: observedGeneration = %d, want 0: only the worker observes a container", i, task.Status.ObservedGeneration)
		}
		if c := v1.FindCondition(task.Status.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionTrue {
			t.Errorf("task-%d: Scheduled condition = %+v, want True", i, c)
		}
	}
	if perWorker["w1"] != 2 || perWorker["w2"] != 2 {
		t.Errorf("tasks per worker = %v, want 2 on each of w1 and w2", perWorker)
	}
	pushes := e.workers.Pushes()
	if len(pushes) != 4 {
		t.Errorf("pushes = %+v, want one per task", pushes)
	}
	for _, p := range pushes {
		stored, err := e.st.Tasks.Get(t.Context(), p.Task)
		if err != nil {
			t.Fatal(err)
		}
		if p.Worker != stored.Status.Worker {
			t.Errorf("task %s pushed to %s but recorded on %s", p.Task, p.Worker, stored.Status.Worker)
		}
	}
	if wrong := e.workers.WrongCreds(); len(wrong) > 0 {
		t.Errorf("calls to %v carried another worker's credentials", wrong)
	}
}

func TestController_RefusalMovesOn(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"insufficient storage", fmt.Errorf("push: %w", scheduler.ErrInsufficientStorage)},
		{"not ready", fmt.Errorf("push: %w", scheduler.ErrWorkerNotReady)},
		{"rejected", fmt.Errorf("push: %w", scheduler.ErrPushRejected)},
		{"unreachable", fmt.Errorf("dial tcp 127.0.0.1:7071: connection refused: %w", scheduler.ErrNotDelivered)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustStart(t)
			e.workers.setRefuse("w1", tt.err)
			e.mustWorker(t, "w1")
			e.mustWorker(t, "w2")
			e.mustApply(t, newTask("web"))
			task := e.mustScheduled(t, "web")
			if task.Status.Worker != "w2" {
				t.Errorf("worker = %q, want w2 (w1 refuses)", task.Status.Worker)
			}
			// The first task goes to w1 first in round-robin order; w1
			// refusing must not end the attempt.
			pushes := e.workers.Pushes()
			want := []push{
				{Worker: "w1", Task: "web", UID: task.Metadata.UID, Generation: 1, Accepted: false, Answer: true},
				{Worker: "w2", Task: "web", UID: task.Metadata.UID, Generation: 1, Accepted: true, Answer: true},
			}
			if !slices.Equal(pushes, want) {
				t.Errorf("pushes = %+v, want %+v", pushes, want)
			}
		})
	}
}

// The first status a worker answers a new assignment's push with is
// handed on to be recorded, with the task as assigned: on that worker,
// Pending, the worker's report not in yet.
func TestController_FirstStatusHandedOn(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustApply(t, newTask("web"))
	task := e.mustScheduled(t, "web")
	got := e.firsts.of("web")
	if len(got) != 1 {
		t.Fatalf("first statuses handed on = %+v, want one", got)
	}
	c := got[0]
	if c.Worker != "w1" || c.Assigned.Worker != "w1" || c.Assigned.Phase != v1.PhasePending ||
		c.First.UID != task.Metadata.UID || c.First.Status.Phase != v1.PhaseRunning || c.First.Status.ContainerID != "c-web" {
		t.Errorf("first status handed on = %+v; want w1's answer (Running in c-web) with the task Pending on w1", c)
	}
}

func TestController_Unschedulable(t *testing.T) {
	e := mustStart(t)
	e.workers.setRefuse("w1", fmt.Errorf("worker w1: %w", scheduler.ErrInsufficientStorage))
	e.mustWorker(t, "w1", withLabels(map[string]string{"disk": "ssd"}))
	e.mustWorker(t, "w2", withLabels(map[string]string{"disk": "ssd"}), notReady)
	e.mustWorker(t, "w3", withLabels(map[string]string{"disk": "hdd"}))
	task := newTask("web")
	task.Spec.NodeSelector = map[string]string{"disk": "ssd"}
	e.mustApply(t, task)

	const wantMsg = "0/3 workers fit: 1 does not match nodeSelector, 1 not ready, 1 refused: insufficient disk"
	got := e.mustEventually(t, "web", "unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
	if got.Status.Phase != v1.PhasePending || got.Status.Worker != "" {
		t.Errorf("phase %s on worker %q, want Pending on none", got.Status.Phase, got.Status.Worker)
	}
	if got.Status.Message != wantMsg {
		t.Errorf("message = %q, want %q", got.Status.Message, wantMsg)
	}
	c := v1.FindCondition(got.Status.Conditions, v1.TaskScheduled)
	if c == nil || c.Status != v1.ConditionFalse || c.Reason != v1.ReasonUnschedulable || c.Message != wantMsg {
		t.Errorf("Scheduled condition = %+v, want False/Unschedulable with the message", c)
	}
	// Only w1 fits; the scheduler may try it again when it sees its own
	// status write, but never another worker.
	pushes := e.workers.Pushes()
	if len(pushes) == 0 {
		t.Error("no push: w1 fits and must be tried")
	}
	for _, p := range pushes {
		if p.Worker != "w1" || p.Accepted {
			t.Errorf("push %+v, want only refused pushes to w1", p)
		}
	}
	e.mustEvent(t, "web", v1.EventWarning, "FailedScheduling", wantMsg)
}

// mustEvent waits for an event about the task with the given type, reason
// and message.
func (e *env) mustEvent(t *testing.T, task, typ, reason, message string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		for _, ev := range statetest.Events(t, e.st, v1.KindTask, task) {
			if ev.Type == typ && ev.Reason == reason && ev.Message == message {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	var seen []string
	for _, ev := range statetest.Events(t, e.st, v1.KindTask, task) {
		seen = append(seen, fmt.Sprintf("%s/%s: %s", ev.Type, ev.Reason, ev.Message))
	}
	t.Fatalf("no %s event %s %q about task %s; seen: %q", typ, reason, message, task, seen)
}

func TestController_WorkerAppearsLater(t *testing.T) {
	e := mustStart(t)
	e.mustApply(t, newTask("web"))
	got := e.mustEventually(t, "web", "unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
	if got.Status.Message != "no workers are registered" {
		t.Errorf("message = %q, want %q", got.Status.Message, "no workers are registered")
	}
	e.mustEvent(t, "web", v1.EventWarning, "FailedScheduling", "no workers are registered")

	// Nothing else happens: the new worker alone must get the task placed,
	// well before the scheduler's 30s safety-net requeue.
	e.mustWorker(t, "w1")
	got = e.mustScheduled(t, "web")
	if got.Status.Worker != "w1" || got.Status.Reason != "" || got.Status.Message != "" {
		t.Errorf("status = %+v, want Scheduled on w1 with no reason or message", got.Status)
	}
	e.mustEvent(t, "web", v1.EventNormal, "Scheduled", "assigned to worker w1")
}

func TestController_WorkerBecomesReady(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1", cordoned)
	e.mustApply(t, newTask("web"))
	got := e.mustEventually(t, "web", "unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
	if want := "0/1 workers fit: 1 cordoned"; got.Status.Message != want {
		t.Errorf("message = %q, want %q", got.Status.Message, want)
	}
	e.mustUpdateWorker(t, "w1", func(w *v1.Worker) { w.Spec.Unschedulable = false })
	got = e.mustScheduled(t, "web")
	if got.Status.Worker != "w1" {
		t.Errorf("worker = %q, want w1", got.Status.Worker)
	}
}

func TestController_SpecChangePushed(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustWorker(t, "w2")
	e.mustApply(t, newTask("web"))
	first := e.mustScheduled(t, "web")

	changed := newTask("web")
	changed.Spec.Image = "minkube/testapp:v2"
	out := e.mustApply(t, changed)
	if out.Metadata.Generation != 2 {
		t.Fatalf("generation after a spec change = %d, want 2", out.Metadata.Generation)
	}
	got := e.mustEventually(t, "web", "generation 2 accepted", func(t *v1.Task) bool { return t.Status.AssignedGeneration() == 2 })
	if got.Status.Worker != first.Status.Worker {
		t.Errorf("worker = %q after the spec change, want it to stay on %q", got.Status.Worker, first.Status.Worker)
	}
	var webPushes []push
	for _, p := range e.workers.Pushes() {
		if p.Task == "web" {
			webPushes = append(webPushes, p)
		}
	}
	want := []push{
		{Worker: first.Status.Worker, Task: "web", UID: first.Metadata.UID, Generation: 1, Accepted: true, Answer: true},
		// Still Pending here (no report is recorded): the first status is
		// asked for, and the worker, which holds the task, has none to give.
		{Worker: first.Status.Worker, Task: "web", UID: first.Metadata.UID, Generation: 2, Accepted: true, Answer: true},
	}
	if !slices.Equal(webPushes, want) {
		t.Errorf("pushes of web = %+v, want %+v", webPushes, want)
	}
	// The new spec's status goes by the worker's reports.
	if got := e.firsts.of("web"); len(got) != 1 || got[0].First.Generation != 1 {
		t.Errorf("first statuses handed on for web = %+v, want one, of generation 1", got)
	}

	// A label change is not a spec change: the generation stays and
	// nothing more is pushed. Another task placed afterwards gives the
	// scheduler time to act on the change, were it to act.
	relabelled := newTask("web")
	relabelled.Spec.Image = "minkube/testapp:v2"
	relabelled.Metadata.Labels = map[string]string{"app": "web"}
	if out := e.mustApply(t, relabelled); out.Metadata.Generation != 2 {
		t.Errorf("generation after a label change = %d, want 2", out.Metadata.Generation)
	}
	e.mustApply(t, newTask("other"))
	e.mustScheduled(t, "other")
	n := 0
	for _, p := range e.workers.Pushes() {
		if p.Task == "web" {
			n++
		}
	}
	if n != len(want) {
		t.Errorf("web pushed %d times after a label change, want %d", n, len(want))
	}
}

// A new spec for a task whose worker's reports are recorded (Running) is
// pushed without asking for a first status: the worker's reports carry
// what follows, never an answer written over what they said.
func TestController_SpecPushOfARunningTaskAsksNoFirstStatus(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustApply(t, newTask("web"))
	e.mustScheduled(t, "web")
	running, err := e.st.Tasks.GuaranteedUpdate(t.Context(), "web", func(t *v1.Task) (*v1.Task, error) {
		t.Status.Phase = v1.PhaseRunning
		return t, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.TaskCache.WaitForRevision, running.Metadata.ResourceVersion)
	changed := newTask("web")
	changed.Spec.Image = "minkube/testapp:v2"
	e.mustApply(t, changed)
	e.mustEventually(t, "web", "generation 2 accepted", func(t *v1.Task) bool { return t.Status.AssignedGeneration() == 2 })
	var asked []bool
	for _, p := range e.workers.Pushes() {
		asked = append(asked, p.Answer)
	}
	if !slices.Equal(asked, []bool{true, false}) {
		t.Errorf("pushes asked for the first status: %v; want the assignment's only", asked)
	}
}

func TestController_Delete(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustApply(t, newTask("web"))
	task := e.mustScheduled(t, "web")

	e.mustDelete(t, "web")
	e.mustGone(t, "web")
	want := []stop{{Worker: "w1", UID: task.Metadata.UID}}
	if got := e.workers.Stops(); !slices.Equal(got, want) {
		t.Errorf("stops = %+v, want %+v", got, want)
	}
	e.mustEvent(t, "web", v1.EventNormal, "Killing", "stopping the container on worker w1")
}

func TestController_DeleteWaitsForStop(t *testing.T) {
	e := mustStart(t)
	e.workers.setStopErr("w1", errors.New("worker w1: connection refused"))
	e.mustWorker(t, "w1")
	e.mustApply(t, newTask("web"))
	e.mustScheduled(t, "web")

	e.mustDelete(t, "web")
	deadline := time.Now().Add(waitTimeout)
	for len(e.workers.Stops()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("stops = %+v, want failed stops retried", e.workers.Stops())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := e.st.Tasks.Get(t.Context(), "web"); err != nil {
		t.Fatalf("task removed although its worker never stopped it: %v", err)
	}
	e.workers.setStopErr("w1", nil)
	e.mustGone(t, "web")
}

func TestController_DeleteOnLostWorker(t *testing.T) {
	tests := []struct {
		name string
		lose func(t *testing.T, e *env)
	}{
		{"not ready", func(t *testing.T, e *env) {
			e.mustUpdateWorker(t, "w1", func(w *v1.Worker) { w.Status.Phase = v1.WorkerNotReady })
		}},
		{"deleted", func(t *testing.T, e *env) {
			if err := e.st.Workers.Delete(t.Context(), "w1", ""); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(waitTimeout)
			for _, ok := e.st.WorkerCache.Get("w1"); ok; _, ok = e.st.WorkerCache.Get("w1") {
				if time.Now().After(deadline) {
					t.Fatal("worker cache still holds w1")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustStart(t)
			e.mustWorker(t, "w1")
			e.mustApply(t, newTask("web"))
			e.mustScheduled(t, "web")
			tt.lose(t, e)
			e.mustDelete(t, "web")
			e.mustGone(t, "web")
			if got := e.workers.Stops(); len(got) != 0 {
				t.Errorf("stops = %+v, want none: the worker is told on its next heartbeat", got)
			}
		})
	}
}

func TestController_DeleteUnassigned(t *testing.T) {
	e := mustStart(t)
	e.mustApply(t, newTask("web"))
	e.mustEventually(t, "web", "unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
	e.mustDelete(t, "web")
	e.mustGone(t, "web")
	if got := e.workers.Stops(); len(got) != 0 {
		t.Errorf("stops = %+v, want none for a task no worker holds", got)
	}
}

func TestController_TerminalTaskLeftAlone(t *testing.T) {
	e := mustStart(t)
	task := store.NewTask(newTask("done"), time.Now().UTC())
	task.Status = v1.TaskStatus{Phase: v1.PhaseSucceeded}
	if _, err := e.st.Tasks.Create(t.Context(), task); err != nil {
		t.Fatal(err)
	}
	e.mustWorker(t, "w1")
	// A task placed after it shows the scheduler has looked at both.
	e.mustApply(t, newTask("web"))
	e.mustScheduled(t, "web")
	got, err := e.st.Tasks.Get(t.Context(), "done")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != v1.PhaseSucceeded || got.Status.Worker != "" {
		t.Errorf("terminal task status = %+v, want it left Succeeded and unplaced", got.Status)
	}
	for _, p := range e.workers.Pushes() {
		if p.Task == "done" {
			t.Errorf("terminal task pushed: %+v", p)
		}
	}
}

// TestController_CredentialsArriveAfterWorker covers a worker the
// scheduler sees before its credentials: registration writes the
// credentials first, but the credential and worker caches follow the
// store independently, so the worker can show up first. The push then
// cannot be made; once the credentials are there, the waiting task must
// be placed without waiting for the 30s safety-net requeue.
func TestController_CredentialsArriveAfterWorker(t *testing.T) {
	e := mustStart(t)
	e.mustApply(t, newTask("web"))
	e.mustEventually(t, "web", "unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })

	now := time.Now().UTC()
	w := readyWorker("w1")
	w.Metadata.UID = store.NewUID()
	w.Status.LastHeartbeatTime = &now
	out, err := e.st.Workers.Create(t.Context(), w)
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.WorkerCache.WaitForRevision, out.Metadata.ResourceVersion)
	got := e.mustEventually(t, "web", "refused for want of credentials", func(t *v1.Task) bool {
		return t.Status.Message == "0/1 workers fit: 1 refused: unreachable"
	})
	if got.Status.Worker != "" {
		t.Fatalf("placed on %q without credentials", got.Status.Worker)
	}

	cred, err := e.st.Credentials.Create(t.Context(), &v1.Credential{
		TypeMeta:     v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata:     v1.ObjectMeta{Name: "w1"},
		TokenHash:    "hash-w1",
		ManagerToken: "manager-token-w1",
	})
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.CredentialCache.WaitForRevision, cred.Metadata.ResourceVersion)
	if got := e.mustScheduled(t, "web"); got.Status.Worker != "w1" {
		t.Errorf("worker = %q, want w1", got.Status.Worker)
	}
}
