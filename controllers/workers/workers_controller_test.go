package workers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/workers"
	"github.com/minkube/minkube/reconcile"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// Short lifecycle deadlines. The gap between them is wide so that the
// Unknown phase in between is seen even on a slow, raced run.
const (
	testTimeout         = 200 * time.Millisecond
	testRescheduleAfter = 1200 * time.Millisecond
	waitTimeout         = 10 * time.Second
)

// seen is one state of a task the task cache delivered.
type seen struct {
	Phase  v1.Phase
	Reason string
	Worker string
}

// env is a worker lifecycle controller over a real bolt store, with a
// record of every state each task and worker went through.
type env struct {
	st *store.State

	mu          sync.Mutex
	taskHistory map[string][]seen
	workerPhase map[string][]v1.WorkerPhase
}

func mustStart(t *testing.T, timeout, rescheduleAfter time.Duration) *env {
	t.Helper()
	e := newEnv(t)
	e.mustRun(t, timeout, rescheduleAfter)
	return e
}

// newEnv returns an env whose store is not running yet, for a test to
// store what was there before the controller started.
func newEnv(t *testing.T) *env {
	t.Helper()
	st := statetest.New(t, nil)
	e := &env{st: st, taskHistory: map[string][]seen{}, workerPhase: map[string][]v1.WorkerPhase{}}
	st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		e.mu.Lock()
		defer e.mu.Unlock()
		s := ev.New.Status
		e.taskHistory[ev.New.Metadata.Name] = append(e.taskHistory[ev.New.Metadata.Name], seen{s.Phase, s.Reason, s.Worker})
	})
	st.WorkerCache.AddHandler(func(ev store.CacheEvent[*v1.Worker]) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.workerPhase[ev.New.Metadata.Name] = append(e.workerPhase[ev.New.Metadata.Name], ev.New.Status.Phase)
	})
	return e
}

// mustRun starts the store's caches and the controller.
func (e *env) mustRun(t *testing.T, timeout, rescheduleAfter time.Duration) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	c := workers.New(workers.Options{State: e.st, Timeout: timeout, RescheduleAfter: rescheduleAfter, Logger: logger})
	statetest.Run(t, e.st, c)
}

func (e *env) history(task string) []seen {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.taskHistory[task])
}

func (e *env) phases(worker string) []v1.WorkerPhase {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.workerPhase[worker])
}

// mustWorker stores a Ready worker whose last heartbeat is now.
func (e *env) mustWorker(t *testing.T, name string) {
	t.Helper()
	now := time.Now().UTC()
	_, err := e.st.Workers.Create(t.Context(), &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: name, UID: store.NewUID(), CreationTimestamp: &now},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &now},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// heartbeat records a heartbeat of the worker, as the API server does.
func (e *env) heartbeat(ctx context.Context, name string) error {
	now := time.Now().UTC()
	_, err := e.st.Workers.GuaranteedUpdate(ctx, name, func(w *v1.Worker) (*v1.Worker, error) {
		w.Status.Phase = v1.WorkerReady
		w.Status.LastHeartbeatTime = &now
		return w, nil
	})
	return err
}

// mustTask stores a task held by worker in the given phase.
func (e *env) mustTask(t *testing.T, name, worker string, phase v1.Phase, policy v1.RestartPolicy, deleting bool) *v1.Task {
	t.Helper()
	now := time.Now().UTC()
	task := store.NewTask(&v1.Task{
		Metadata: v1.ObjectMeta{Name: name},
		Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", RestartPolicy: policy},
	}, now)
	task.Status = v1.TaskStatus{Phase: phase, Worker: worker, HostIP: "127.0.0.1", ContainerID: "c-" + name, ObservedGeneration: 1}
	if deleting {
		task.Metadata.DeletionTimestamp = &now
	}
	out, err := e.st.Tasks.Create(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (e *env) mustGetTask(t *testing.T, name string) *v1.Task {
	t.Helper()
	task, err := e.st.Tasks.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// mustEventually waits until the stored task satisfies cond.
func (e *env) mustEventually(t *testing.T, name, what string, cond func(*v1.Task) bool) *v1.Task {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		task := e.mustGetTask(t, name)
		if cond(task) {
			return task
		}
		if time.Now().After(deadline) {
			t.Fatalf("task %s: %s: not within %s; status %+v; history %+v", name, what, waitTimeout, task.Status, e.history(name))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (e *env) mustEvent(t *testing.T, kind, name, typ, reason string) *v1.Event {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		for _, ev := range statetest.Events(t, e.st, kind, name) {
			if ev.Type == typ && ev.Reason == reason {
				return ev
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, ev := range statetest.Events(t, e.st, kind, name) {
				got = append(got, fmt.Sprintf("%s/%s: %s", ev.Type, ev.Reason, ev.Message))
			}
			t.Fatalf("no %s %s event about %s/%s; seen %q", typ, reason, kind, name, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestController_WorkerLost(t *testing.T) {
	t.Parallel()
	e := mustStart(t, testTimeout, testRescheduleAfter)
	e.mustWorker(t, "w1")
	e.mustWorker(t, "w2")
	always := e.mustTask(t, "always", "w1", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustTask(t, "onfailure", "w1", v1.PhaseScheduled, v1.RestartOnFailure, false)
	e.mustTask(t, "never", "w1", v1.PhaseRunning, v1.RestartNever, false)
	e.mustTask(t, "done", "w1", v1.PhaseSucceeded, v1.RestartNever, false)
	e.mustTask(t, "deleting", "w1", v1.PhaseRunning, v1.RestartAlways, true)
	e.mustTask(t, "elsewhere", "w2", v1.PhaseRunning, v1.RestartAlways, false)

	// w2 keeps sending heartbeats; w1 is silent from the start.
	hbCtx, stopHeartbeats := context.WithCancel(t.Context())
	var hb sync.WaitGroup
	hb.Go(func() {
		tick := time.NewTicker(testTimeout / 4)
		defer tick.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-tick.C:
				if err := e.heartbeat(hbCtx, "w2"); err != nil && hbCtx.Err() == nil {
					t.Errorf("heartbeat: %v", err)
				}
			}
		}
	})
	t.Cleanup(func() { stopHeartbeats(); hb.Wait() })

	got := e.mustEventually(t, "always", "moved off w1", func(t *v1.Task) bool { return t.Status.Worker == "" })
	if got.Status.Phase != v1.PhasePending || got.Status.Reason != v1.ReasonWorkerLost {
		t.Errorf("moved task: phase %s reason %q, want Pending/WorkerLost", got.Status.Phase, got.Status.Reason)
	}
	if got.Status.ContainerID != "" || got.Status.HostIP != "" || got.Status.ObservedGeneration != 0 {
		t.Errorf("moved task keeps what its old worker reported: %+v", got.Status)
	}
	if got.Metadata.UID != always.Metadata.UID {
		t.Errorf("uid changed from %s to %s", always.Metadata.UID, got.Metadata.UID)
	}
	if c := v1.FindCondition(got.Status.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionFalse || c.Reason != v1.ReasonWorkerLost {
		t.Errorf("Scheduled condition = %+v, want False/WorkerLost", c)
	}
	e.mustEventually(t, "onfailure", "moved off w1", func(t *v1.Task) bool {
		return t.Status.Worker == "" && t.Status.Phase == v1.PhasePending && t.Status.Reason == v1.ReasonWorkerLost
	})
	never := e.mustEventually(t, "never", "failed", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseFailed })
	if never.Status.Reason != v1.ReasonWorkerLost || never.Status.Worker != "w1" {
		t.Errorf("never task: reason %q worker %q, want WorkerLost on w1", never.Status.Reason, never.Status.Worker)
	}

	// Each went Unknown (WorkerLost) on w1 before it moved or failed. The
	// history comes from the cache, which may trail the store just read.
	for _, name := range []string{"always", "onfailure", "never"} {
		if err := e.st.TaskCache.WaitFor(t.Context(), e.mustGetTask(t, name)); err != nil {
			t.Fatal(err)
		}
		h := e.history(name)
		i := slices.Index(h, seen{v1.PhaseUnknown, v1.ReasonWorkerLost, "w1"})
		if i < 0 {
			t.Errorf("task %s never went Unknown/WorkerLost on w1; history %+v", name, h)
			continue
		}
		if !slices.ContainsFunc(h[i:], func(s seen) bool { return s.Phase == v1.PhasePending || s.Phase == v1.PhaseFailed }) {
			t.Errorf("task %s: Unknown came after it moved; history %+v", name, h)
		}
	}

	w1, err := e.st.Workers.Get(t.Context(), "w1")
	if err != nil {
		t.Fatal(err)
	}
	if w1.Status.Phase != v1.WorkerNotReady {
		t.Errorf("w1 phase = %s, want NotReady", w1.Status.Phase)
	}
	ev := e.mustEvent(t, v1.KindWorker, "w1", v1.EventWarning, "NodeNotReady")
	if ev.Count != 1 {
		t.Errorf("NodeNotReady recorded %d times, want once", ev.Count)
	}
	e.mustEvent(t, v1.KindTask, "always", v1.EventWarning, v1.ReasonWorkerLost)
	e.mustEvent(t, v1.KindTask, "always", v1.EventWarning, "Rescheduling")
	e.mustEvent(t, v1.KindTask, "never", v1.EventWarning, "Failed")

	// What is finished, being deleted or on a live worker is left alone.
	for name, want := range map[string]seen{
		"done":      {v1.PhaseSucceeded, "", "w1"},
		"deleting":  {v1.PhaseRunning, "", "w1"},
		"elsewhere": {v1.PhaseRunning, "", "w2"},
	} {
		s := e.mustGetTask(t, name).Status
		if got := (seen{s.Phase, s.Reason, s.Worker}); got != want {
			t.Errorf("task %s = %+v, want it left at %+v", name, got, want)
		}
	}
	if slices.Contains(e.phases("w2"), v1.WorkerNotReady) {
		t.Errorf("w2 went NotReady although it sent heartbeats: %v", e.phases("w2"))
	}
}

func TestController_HeartbeatKeepsReady(t *testing.T) {
	t.Parallel()
	// A wider timeout than the other test: heartbeats every tenth of it
	// must not be late on a loaded machine.
	const timeout = time.Second
	e := mustStart(t, timeout, 2*timeout)
	e.mustWorker(t, "w1")
	e.mustTask(t, "web", "w1", v1.PhaseRunning, v1.RestartAlways, false)

	tick := time.NewTicker(timeout / 10)
	defer tick.Stop()
	end := time.After(3 * timeout)
loop:
	for {
		select {
		case <-end:
			break loop
		case <-tick.C:
			if err := e.heartbeat(t.Context(), "w1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if phases := e.phases("w1"); slices.Contains(phases, v1.WorkerNotReady) {
		t.Errorf("w1 went NotReady although it sent heartbeats: %v", phases)
	}
	for _, s := range e.history("web") {
		if s != (seen{v1.PhaseRunning, "", "w1"}) {
			t.Errorf("task changed to %+v although its worker sent heartbeats", s)
		}
	}

	// Silence now takes it NotReady: the test above could fail.
	e.mustEventually(t, "web", "Unknown", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseUnknown })
	if w, err := e.st.Workers.Get(t.Context(), "w1"); err != nil || w.Status.Phase != v1.WorkerNotReady {
		t.Errorf("w1 = %+v (%v), want NotReady", w, err)
	}
}

func TestController_WorkerBackBeforeReschedule(t *testing.T) {
	t.Parallel()
	e := mustStart(t, testTimeout, testRescheduleAfter)
	e.mustWorker(t, "w1")
	e.mustTask(t, "web", "w1", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustEventually(t, "web", "Unknown", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseUnknown })

	// The worker comes back in time and keeps sending heartbeats: its
	// task stays on it.
	deadline := time.Now().Add(2 * testRescheduleAfter)
	for time.Now().Before(deadline) {
		if err := e.heartbeat(t.Context(), "w1"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(testTimeout / 4)
	}
	got := e.mustGetTask(t, "web")
	if got.Status.Worker != "w1" {
		t.Errorf("task moved to %q although its worker came back: history %+v", got.Status.Worker, e.history("web"))
	}
}

// TestController_FreshGraceAfterStart covers a manager that was down for
// longer than the reschedule delay: the workers' last heartbeats are old,
// but they could not send any while it was away. Each gets a grace period
// from the start: one that heartbeats within it stays Ready with its
// tasks; one that stays silent is judged by its silence since the start.
func TestController_FreshGraceAfterStart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	st := e.st
	// Stored before the controller starts, last heard from an hour ago.
	longAgo := time.Now().Add(-time.Hour).UTC()
	for _, name := range []string{"alive", "silent"} {
		if _, err := st.Workers.Create(t.Context(), &v1.Worker{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
			Metadata: v1.ObjectMeta{Name: name, UID: store.NewUID(), CreationTimestamp: &longAgo},
			Status:   v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &longAgo},
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.mustTask(t, "kept", "alive", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustTask(t, "moved", "silent", v1.PhaseRunning, v1.RestartAlways, false)

	// Wide enough that the first heartbeat after the start is in time on a
	// loaded machine.
	const timeout, rescheduleAfter = 2 * time.Second, 4 * time.Second
	started := time.Now()
	e.mustRun(t, timeout, rescheduleAfter)
	// "alive" sends heartbeats from the start, as workers do when their
	// manager is back.
	hbCtx, stopHeartbeats := context.WithCancel(t.Context())
	var hb sync.WaitGroup
	hb.Go(func() {
		for hbCtx.Err() == nil {
			if err := e.heartbeat(hbCtx, "alive"); err != nil && hbCtx.Err() == nil {
				t.Errorf("heartbeat: %v", err)
			}
			time.Sleep(timeout / 10)
		}
	})
	t.Cleanup(func() { stopHeartbeats(); hb.Wait() })

	moved := e.mustEventually(t, "moved", "moved off the silent worker", func(t *v1.Task) bool { return t.Status.Worker == "" })
	if waited := time.Since(started); waited < rescheduleAfter {
		t.Errorf("the silent worker's task moved %s after the start, before --reschedule-after (%s) of silence since it", waited, rescheduleAfter)
	}
	if moved.Status.Reason != v1.ReasonWorkerLost {
		t.Errorf("moved task reason %q, want WorkerLost", moved.Status.Reason)
	}
	if slices.Contains(e.phases("alive"), v1.WorkerNotReady) {
		t.Errorf("the worker that heartbeats after the start went NotReady: %v", e.phases("alive"))
	}
	if got := e.mustGetTask(t, "kept"); got.Status.Worker != "alive" || got.Status.Phase != v1.PhaseRunning {
		t.Errorf("task of the live worker = %+v, want it left Running on alive", got.Status)
	}
}

// TestController_TaskShownAfterItsWorkerWasDeleted: a task that reaches
// the task cache on a worker whose delete the controller has handled
// already (the caches follow the store apart, or a placement raced the
// delete) is placed elsewhere too, not left Running on a worker that is
// gone.
func TestController_TaskShownAfterItsWorkerWasDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(t, time.Hour, 2*time.Hour)
	e.mustWorker(t, "w1")
	if err := e.st.Workers.Delete(t.Context(), "w1", ""); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(waitTimeout); ; time.Sleep(5 * time.Millisecond) {
		if _, ok := e.st.WorkerCache.Get("w1"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the worker cache still holds w1")
		}
	}
	time.Sleep(200 * time.Millisecond) // the pass the delete queued has run
	e.mustTask(t, "late", "w1", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustEventually(t, "late", "placed elsewhere", func(task *v1.Task) bool {
		return task.Status.Worker == "" && task.Status.Phase == v1.PhasePending && task.Status.Reason == v1.ReasonWorkerDeleted
	})
}

// TestController_WorkerDeleted: the tasks of a deleted worker are placed
// elsewhere at once, without waiting out the worker timeout; so are those
// of a worker deleted while no controller ran.
func TestController_WorkerDeleted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// Deleted before the controller starts: only its tasks tell of it.
	e.mustTask(t, "orphan", "gone-before", v1.PhaseRunning, v1.RestartAlways, false)
	// Long timeouts: nothing here is about silence.
	e.mustRun(t, time.Hour, 2*time.Hour)
	e.mustWorker(t, "w1")
	always := e.mustTask(t, "always", "w1", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustTask(t, "never", "w1", v1.PhaseRunning, v1.RestartNever, false)
	e.mustTask(t, "done", "w1", v1.PhaseSucceeded, v1.RestartNever, false)

	e.mustEventually(t, "orphan", "placed elsewhere", func(task *v1.Task) bool {
		return task.Status.Worker == "" && task.Status.Phase == v1.PhasePending && task.Status.Reason == v1.ReasonWorkerDeleted
	})
	if got := e.mustGetTask(t, "always"); got.Status.Worker != "w1" {
		t.Fatalf("a task of a live worker moved: %+v", got.Status)
	}
	if err := e.st.Workers.Delete(t.Context(), "w1", ""); err != nil {
		t.Fatal(err)
	}
	moved := e.mustEventually(t, "always", "placed elsewhere", func(task *v1.Task) bool {
		return task.Status.Worker == "" && task.Status.Phase == v1.PhasePending && task.Status.Reason == v1.ReasonWorkerDeleted
	})
	if moved.Metadata.UID != always.Metadata.UID {
		t.Errorf("the task was replaced, not moved")
	}
	e.mustEventually(t, "never", "failed", func(task *v1.Task) bool {
		return task.Status.Phase == v1.PhaseFailed && task.Status.Reason == v1.ReasonWorkerDeleted
	})
	if got := e.mustGetTask(t, "done"); got.Status.Phase != v1.PhaseSucceeded || got.Status.Worker != "w1" {
		t.Errorf("a finished task changed: %+v", got.Status)
	}
}

// TestController_WorkerCacheBehind: the worker cache and the task cache
// follow the store each on its own, so a task can be seen on a worker
// the worker cache does not show yet (at a manager's start, the two
// caches list at different revisions). The worker is not judged deleted
// until the store says so.
func TestController_WorkerCacheBehind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustWorker(t, "w1")
	e.mustTask(t, "web", "w1", v1.PhaseRunning, v1.RestartAlways, false)
	e.mustTask(t, "orphan", "gone", v1.PhaseRunning, v1.RestartAlways, false)
	// Only the task cache runs: the worker cache shows no worker at all.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.st.TaskCache.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	if err := e.st.TaskCache.WaitForSync(ctx); err != nil {
		t.Fatal(err)
	}
	c := workers.New(workers.Options{State: e.st, Timeout: time.Hour, RescheduleAfter: 2 * time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, w := range []string{"w1", "gone"} {
		if _, err := c.Reconcile(ctx, reconcile.Request{Key: w}); err != nil {
			t.Fatalf("reconcile %s: %v", w, err)
		}
	}
	if got := e.mustGetTask(t, "web"); got.Status.Worker != "w1" || got.Status.Phase != v1.PhaseRunning {
		t.Errorf("the task of a stored worker the cache did not show yet moved: %+v", got.Status)
	}
	e.mustEventually(t, "orphan", "placed elsewhere", func(task *v1.Task) bool {
		return task.Status.Worker == "" && task.Status.Reason == v1.ReasonWorkerDeleted
	})
}
