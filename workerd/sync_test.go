package workerd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// hookRuntime is the fake runtime with hooks that run before a Stop, an
// EnsureImage or a Create goes through, to hold them up or look around.
type hookRuntime struct {
	*runtimetest.Fake
	beforeStop   func(ctx context.Context, id string)
	beforeEnsure func(ctx context.Context, ref string)
	beforeCreate func(spec runtime.ContainerSpec)
}

func (r *hookRuntime) Stop(ctx context.Context, id string, grace time.Duration) error {
	if r.beforeStop != nil {
		r.beforeStop(ctx, id)
	}
	return r.Fake.Stop(ctx, id, grace)
}

func (r *hookRuntime) EnsureImage(ctx context.Context, ref string) error {
	if r.beforeEnsure != nil {
		r.beforeEnsure(ctx, ref)
	}
	return r.Fake.EnsureImage(ctx, ref)
}

func (r *hookRuntime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	if r.beforeCreate != nil {
		r.beforeCreate(spec)
	}
	return r.Fake.Create(ctx, spec)
}

// startHooked starts a worker over the fake through hooks.
func startHooked(t *testing.T, fake *runtimetest.Fake, hooks *hookRuntime, mgr *fakeManager, edit func(*workerd.Options)) *harness {
	t.Helper()
	hooks.Fake = fake
	return mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.Runtime = hooks
		if edit != nil {
			edit(o)
		}
	})
}

// newGeneration returns task at generation gen, changed by edit.
func newGeneration(task *v1.Task, gen int64, edit func(*v1.Task)) *v1.Task {
	next := task.DeepCopy()
	next.Metadata.Generation = gen
	edit(next)
	v1.SetTaskDefaults(next)
	return next
}

// TestSync_BadImageUpdateKeepsTheOldContainer: an update to an image that
// cannot be pulled leaves the running container serving, and the status
// says so: Running on that container, observedGeneration behind, Updated
// False with the reason and the image. A good update then replaces it,
// make before break.
func TestSync_BadImageUpdateKeepsTheOldContainer(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	fake.SetPullError("app:missing", "manifest for app:missing not found")
	hooks := &hookRuntime{}
	mgr := &fakeManager{}
	h := startHooked(t, fake, hooks, mgr, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1")
	h.mustAssign(t, token, task, http.StatusCreated)
	old := h.mustRunning(t, token, task.Metadata.UID, 0)

	bad := newGeneration(task, 2, func(t *v1.Task) { t.Spec.Image = "app:missing" })
	h.mustAssign(t, token, bad, http.StatusOK)
	st := h.mustStatus(t, token, task.Metadata.UID, "behind, the update failing on the pull", func(st v1.TaskStatus) bool {
		return st.Reason == v1.ReasonImagePullBackOff
	})
	updated := condition(st, v1.TaskUpdated)
	if st.Phase != v1.PhaseRunning || st.ContainerID != old.ID || st.ObservedGeneration != 1 ||
		updated.Status != v1.ConditionFalse || updated.Reason != v1.ReasonImagePullBackOff || updated.ObservedGeneration != 2 ||
		!containsAll(st.Message, `"app:missing"`, "manifest for app:missing not found", "keeps serving") ||
		condition(st, v1.TaskReady).Status != v1.ConditionTrue {
		t.Errorf("status during a failing update = %+v; want Running on the old container %s, observedGeneration 1, Updated False (ImagePullBackOff) naming the image", st, shortID(old.ID))
	}
	if c, err := fake.Inspect(t.Context(), old.ID); err != nil || !c.State.Running {
		t.Fatalf("the old container = %+v, %v; want it still running", c.State, err)
	}
	mustEventually(t, "the manager to hear the update is not done", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool {
			return r.Generation == 2 && r.Status.ObservedGeneration == 1 && r.Status.ContainerID == old.ID && r.Status.Reason == v1.ReasonImagePullBackOff
		})
	})

	// A good image: the new container is made while the old one serves,
	// then the old one goes.
	var oldRunningAtCreate atomic.Bool
	hooks.beforeCreate = func(runtime.ContainerSpec) {
		c, err := fake.Inspect(context.Background(), old.ID)
		oldRunningAtCreate.Store(err == nil && c.State.Running)
	}
	fake.AddImage("app:2")
	good := newGeneration(task, 3, func(t *v1.Task) { t.Spec.Image = "app:2" })
	h.mustAssign(t, token, good, http.StatusOK)
	st = h.mustStatus(t, token, task.Metadata.UID, "updated", func(st v1.TaskStatus) bool {
		return st.ObservedGeneration == 3 && st.Phase == v1.PhaseRunning && condition(st, v1.TaskUpdated).Status == v1.ConditionTrue
	})
	if st.ContainerID == old.ID || st.Reason != "" {
		t.Errorf("status after the update = %+v; want a new container and no reason", st)
	}
	if !oldRunningAtCreate.Load() {
		t.Error("the old container was not running when the new one was created: break before make")
	}
	mustEventually(t, "the old container removed", func() bool {
		_, err := fake.Inspect(t.Context(), old.ID)
		return errors.Is(err, runtime.ErrNotFound)
	})
}

// TestSync_HostPortBreaksBeforeMake: when the new container needs a host
// port the old one holds, the old one stops first (once the image is
// there) and an event says why.
func TestSync_HostPortBreaksBeforeMake(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage, "app:2")
	hooks := &hookRuntime{}
	mgr := &fakeManager{}
	h := startHooked(t, fake, hooks, mgr, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1", func(t *v1.Task) { t.Spec.Ports = []v1.Port{{ContainerPort: 8080, HostPort: 18080}} })
	h.mustAssign(t, token, task, http.StatusCreated)
	old := h.mustRunning(t, token, task.Metadata.UID, 0)

	var oldGoneAtCreate atomic.Bool
	hooks.beforeCreate = func(runtime.ContainerSpec) {
		_, err := fake.Inspect(context.Background(), old.ID)
		oldGoneAtCreate.Store(errors.Is(err, runtime.ErrNotFound))
	}
	h.mustAssign(t, token, newGeneration(task, 2, func(t *v1.Task) { t.Spec.Image = "app:2" }), http.StatusOK)
	h.mustStatus(t, token, task.Metadata.UID, "updated", func(st v1.TaskStatus) bool {
		return st.ObservedGeneration == 2 && st.Phase == v1.PhaseRunning && st.ContainerID != old.ID
	})
	if !oldGoneAtCreate.Load() {
		t.Error("the new container was created while the old one held its host port")
	}
	mustEventually(t, "a BreakBeforeMake event reported", func() bool {
		for _, r := range mgr.succeeded() {
			for _, tr := range r.Tasks {
				for _, e := range tr.Events {
					if tr.UID == task.Metadata.UID && e.Reason == v1.ReasonBreakBeforeMake && strings.Contains(e.Message, "same host port") {
						return true
					}
				}
			}
		}
		return false
	})
}

// TestSync_CreatedIsNotExited: a container created and never started (the
// worker stopped between create and start) is started, not judged by the
// exit code 0 of a process that never ran.
func TestSync_CreatedIsNotExited(t *testing.T) {
	t.Parallel()
	for _, policy := range []v1.RestartPolicy{v1.RestartNever, v1.RestartOnFailure} {
		t.Run(string(policy), func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			task := newTask("job", "uid-job-1", func(t *v1.Task) { t.Spec.RestartPolicy = policy })
			id, err := fake.Create(t.Context(), runtime.ContainerSpec{Name: "mk-job", Image: testImage, Labels: mustTaskLabels(t, task, workerName)})
			if err != nil {
				t.Fatal(err)
			}
			h := mustStartWorker(t, fake, &fakeManager{}, nil)
			token := h.mustRegistered(t, 1)
			st := h.mustStatus(t, token, task.Metadata.UID, "Running", func(st v1.TaskStatus) bool { return st.Phase == v1.PhaseRunning })
			if st.ContainerID != id {
				t.Errorf("running container %s; want the one created before, %s", shortID(st.ContainerID), shortID(id))
			}
			if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
				t.Errorf("Create called %d times; want only the one before the worker", n)
			}
		})
	}
}

// TestSync_RuntimeUnreachable: with the runtime gone the worker reports
// itself NotReady (RuntimeReady False), refuses new tasks, says its tasks'
// status is the last seen; back, it re-observes them and restarts nothing.
func TestSync_RuntimeUnreachable(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1")
	h.mustAssign(t, token, task, http.StatusCreated)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)
	creates, starts := fake.Calls(runtimetest.MethodCreate), fake.Calls(runtimetest.MethodStart)

	fake.SetUnreachable(errors.New("dial unix /var/run/docker.sock: connect: connection refused"))
	mustEventually(t, "a report of the runtime unreachable", func() bool {
		return reportedRuntime(mgr, v1.ConditionFalse)
	})
	st := h.mustStatus(t, token, task.Metadata.UID, "marked as the last state seen", func(st v1.TaskStatus) bool {
		return st.Reason == v1.ReasonRuntimeUnreachable
	})
	if ready := condition(st, v1.TaskReady); ready.Status != v1.ConditionUnknown || st.ContainerID != c.ID || st.Phase != v1.PhaseRunning ||
		!strings.Contains(st.Message, "connection refused") {
		t.Errorf("status with the runtime gone = %+v; want the last state seen, Ready Unknown, saying why", st)
	}
	code, body := h.do(t, http.MethodPost, "/api/v1/tasks", token, newTask("new", "uid-new-1"))
	if code != http.StatusServiceUnavailable || !strings.Contains(string(body), "cannot reach its container runtime") {
		t.Errorf("assign with the runtime gone = %d %s; want 503 saying why", code, body)
	}

	fake.SetUnreachable(nil)
	mustEventually(t, "a report of the runtime back", func() bool { return reportedRuntime(mgr, v1.ConditionTrue) && lastRuntime(mgr) == v1.ConditionTrue })
	h.mustStatus(t, token, task.Metadata.UID, "Ready again", func(st v1.TaskStatus) bool {
		return st.Reason == "" && condition(st, v1.TaskReady).Status == v1.ConditionTrue && st.ContainerID == c.ID
	})
	if fake.Calls(runtimetest.MethodCreate) != creates || fake.Calls(runtimetest.MethodStart) != starts {
		t.Errorf("creates %d, starts %d after the outage; want %d, %d: nothing restarted",
			fake.Calls(runtimetest.MethodCreate), fake.Calls(runtimetest.MethodStart), creates, starts)
	}
	h.mustAssign(t, token, newTask("new", "uid-new-1"), http.StatusCreated)
}

// TestSync_RuntimeDownAtStart: a worker whose runtime is down when it
// starts waits for it instead of exiting, registers NotReady, and adopts
// its containers once the runtime answers.
func TestSync_RuntimeDownAtStart(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	task := newTask("web", "uid-web-1")
	id := mustRunContainer(t, fake, "mk-web", mustTaskLabels(t, task, workerName))
	fake.SetUnreachable(errors.New("connection refused"))
	mgr := &fakeManager{}
	mgr.setTasks(task)
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	regs := mgr.registered()
	if len(regs) != 1 || len(regs[0].Conditions) != 1 || regs[0].Conditions[0].Status != v1.ConditionFalse {
		t.Errorf("registration = %+v; want RuntimeReady False", regs)
	}
	fake.SetUnreachable(nil)
	st := h.mustStatus(t, token, task.Metadata.UID, "adopted and Running", func(st v1.TaskStatus) bool {
		return st.Phase == v1.PhaseRunning && st.ContainerID == id
	})
	if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
		t.Errorf("Create called %d times; want the one before the worker only (status %+v)", n, st)
	}
}

func reportedRuntime(mgr *fakeManager, status v1.ConditionStatus) bool {
	for _, r := range mgr.succeeded() {
		for _, c := range r.Conditions {
			if c.Type == v1.WorkerRuntimeReady && c.Status == status {
				return true
			}
		}
	}
	return false
}

func lastRuntime(mgr *fakeManager) v1.ConditionStatus {
	reps := mgr.succeeded()
	if len(reps) == 0 || len(reps[len(reps)-1].Conditions) == 0 {
		return ""
	}
	return reps[len(reps)-1].Conditions[0].Status
}

// TestSync_NoHeadOfLineBlocking: while ten tasks' containers take their
// time to stop, another task's crashed container is restarted.
func TestSync_NoHeadOfLineBlocking(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	release := make(chan struct{})
	var releaseOnce sync.Once
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })
	var blocked atomic.Int32
	slow := map[string]bool{}
	var slowMu sync.Mutex
	hooks := &hookRuntime{beforeStop: func(ctx context.Context, id string) {
		slowMu.Lock()
		isSlow := slow[id]
		slowMu.Unlock()
		if isSlow {
			blocked.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}}
	h := startHooked(t, fake, hooks, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	const stopping = 10
	for i := range stopping {
		task := newTask(fmt.Sprintf("slow-%d", i), fmt.Sprintf("uid-slow-%d", i))
		h.mustAssign(t, token, task, http.StatusCreated)
		c := h.mustRunning(t, token, task.Metadata.UID, 0)
		slowMu.Lock()
		slow[c.ID] = true
		slowMu.Unlock()
	}
	h.mustAssign(t, token, newTask("web", "uid-web-1"), http.StatusCreated)
	web := h.mustRunning(t, token, "uid-web-1", 0)

	for i := range stopping {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, fmt.Sprintf("%s/api/v1/tasks/uid-slow-%d", h.url, i), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		go func() {
			if resp, err := h.http.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	mustEventually(t, "every slow stop under way", func() bool { return blocked.Load() == stopping })
	if err := fake.Exit(web.ID, 1); err != nil {
		t.Fatal(err)
	}
	h.mustRunning(t, token, "uid-web-1", 1)
	releaseOnce.Do(func() { close(release) })
}

// TestSync_OnePullPerImage: tasks that need the same missing image share
// one pull, which holds up no other task.
func TestSync_OnePullPerImage(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	release := make(chan struct{})
	var pulls atomic.Int32
	hooks := &hookRuntime{beforeEnsure: func(ctx context.Context, ref string) {
		if ref == "slow:1" && !fake.HasImage(ref) {
			pulls.Add(1)
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	}}
	h := startHooked(t, fake, hooks, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	const waiting = 5
	for i := range waiting {
		h.mustAssign(t, token, newTask(fmt.Sprintf("slow-%d", i), fmt.Sprintf("uid-slow-%d", i), func(t *v1.Task) { t.Spec.Image = "slow:1" }), http.StatusCreated)
	}
	for i := range waiting {
		h.mustStatus(t, token, fmt.Sprintf("uid-slow-%d", i), "pulling", func(st v1.TaskStatus) bool {
			return strings.Contains(st.Message, `pulling image "slow:1"`)
		})
	}
	h.mustAssign(t, token, newTask("web", "uid-web-1"), http.StatusCreated)
	h.mustRunning(t, token, "uid-web-1", 0)
	if n := pulls.Load(); n != 1 {
		t.Errorf("%d pulls of slow:1 under way; want 1 shared by %d tasks", n, waiting)
	}
	close(release)
	for i := range waiting {
		h.mustRunning(t, token, fmt.Sprintf("uid-slow-%d", i), 0)
	}
}

// TestSync_SteadyStateCostsOneListPerRelist: with nothing changing, a
// worker asks the runtime for one list per relist period, whatever the
// number of tasks: no per-task list, no inspect.
func TestSync_SteadyStateCostsOneListPerRelist(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	const tasks = 20
	for i := range tasks {
		uid := fmt.Sprintf("uid-%d", i)
		h.mustAssign(t, token, newTask(fmt.Sprintf("t-%d", i), uid), http.StatusCreated)
		h.mustRunning(t, token, uid, 0)
	}
	mustSettle(t, fake, 3)
	inspects, lists := fake.Calls(runtimetest.MethodInspect), fake.Calls(runtimetest.MethodSummaries)
	mustSettle(t, fake, 10)
	if n := fake.Calls(runtimetest.MethodInspect) - inspects; n != 0 {
		t.Errorf("%d inspects over 10 relists with nothing changing; want 0", n)
	}
	if n := fake.Calls(runtimetest.MethodSummaries) - lists; n > 12 {
		t.Errorf("%d lists over 10 relist periods; want about 10, one a period for the whole worker", n)
	}
}

// TestSync_RandomHostPortStays: a port left to the worker keeps its host
// port when the container restarts, and when it is made again.
func TestSync_RandomHostPortStays(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, func(o *workerd.Options) { o.PortHostIP = "127.0.0.1" })
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1", func(t *v1.Task) { t.Spec.Ports = []v1.Port{{Name: "http", ContainerPort: 8080}} })
	h.mustAssign(t, token, task, http.StatusCreated)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)
	port := c.Ports[0].HostPort
	if port == 0 {
		t.Fatal("no host port chosen")
	}
	if err := fake.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	st := h.mustStatus(t, token, task.Metadata.UID, "restarted", func(st v1.TaskStatus) bool {
		return st.RestartCount == 1 && st.Phase == v1.PhaseRunning && len(st.Ports) == 1
	})
	if st.Ports[0].HostPort != port {
		t.Errorf("host port after a restart = %d; want %d", st.Ports[0].HostPort, port)
	}
	if err := fake.Exit(c.ID, 0); err != nil {
		t.Fatal(err)
	}
	mustEventually(t, "the container stopped", func() bool {
		got, err := fake.Inspect(t.Context(), c.ID)
		return err == nil && !got.State.Running
	})
	if err := fake.Remove(t.Context(), c.ID); err != nil {
		t.Fatal(err)
	}
	st = h.mustStatus(t, token, task.Metadata.UID, "made again", func(st v1.TaskStatus) bool {
		return st.Phase == v1.PhaseRunning && st.ContainerID != c.ID && len(st.Ports) == 1
	})
	if st.Ports[0].HostPort != port {
		t.Errorf("host port of the container made again = %d; want %d", st.Ports[0].HostPort, port)
	}
}

func shortID(id string) string { return id[:min(12, len(id))] }
