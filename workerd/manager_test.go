package workerd_test

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

func TestManager_HeartbeatReportsAndStops(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, nil)
	token := h.mustRegistered(t, 1)
	a, b := newTask("a", "uid-a"), newTask("b", "uid-b")
	h.mustAssign(t, token, a, http.StatusCreated)
	h.mustAssign(t, token, b, http.StatusCreated)
	ca := h.mustRunning(t, token, a.Metadata.UID, 0)
	cb := h.mustRunning(t, token, b.Metadata.UID, 0)

	// Heartbeats carry the stats and the digest of the tasks reported,
	// not every task.
	mustEventually(t, "a heartbeat with the digest of both tasks Running", func() bool {
		rs := mgr.succeeded()
		r := rs[len(rs)-1]
		return r.Heartbeat && !r.Full && r.Stats.Tasks == 2 && r.Stats.DiskFree == 50<<30 && len(r.Tasks) == 0 &&
			r.Digest == digestOf(a.Metadata.UID, b.Metadata.UID)
	})
	// A full report, every task changed or not, when the manager asks.
	mgr.askFull()
	mustEventually(t, "a full report with both tasks Running", func() bool {
		for _, r := range mgr.succeeded() {
			if r.Full && !r.More && len(r.Tasks) == 2 &&
				r.Tasks[0].UID == a.Metadata.UID && r.Tasks[1].UID == b.Metadata.UID &&
				r.Tasks[0].Status.Phase == v1.PhaseRunning && r.Tasks[1].Status.Phase == v1.PhaseRunning {
				return true
			}
		}
		return false
	})

	mgr.setStop(a.Metadata.UID, "uid-not-held")
	mustEventually(t, "task a to be stopped and forgotten", func() bool {
		_, held := h.status(t, token, a.Metadata.UID)
		return !held && len(h.containers(t, a.Metadata.UID)) == 0
	})
	if _, err := fake.Inspect(t.Context(), ca.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("task a's container: Inspect = %v; want ErrNotFound", err)
	}
	mustSettle(t, fake, 3)
	if c, err := fake.Inspect(t.Context(), cb.ID); err != nil || !c.State.Running {
		t.Errorf("task b's container = %+v, %v; want it running", c.State, err)
	}
	mustEventually(t, "a heartbeat with task b only", func() bool {
		rs := mgr.succeeded()
		r := rs[len(rs)-1]
		return r.Heartbeat && r.Digest == digestOf(b.Metadata.UID) && r.Stats.Tasks == 1
	})
}

// digestOf is the digest of a heartbeat from a worker holding uids.
func digestOf(uids ...string) string {
	var d v1.TaskDigest
	for _, uid := range uids {
		d.Add(uid)
	}
	return d.String()
}

func TestManager_ResyncWithTheManagersList(t *testing.T) {
	t.Parallel()
	clk := newTestClock()
	fake := runtimetest.New(testImage)
	fake.Now = clk.Now
	listed := newTask("listed", "uid-listed", func(t *v1.Task) { t.Status.RestartCount = 3 })
	mgr := &fakeManager{}
	mgr.setTasks(listed)
	const resync = 60 * time.Millisecond // the grace is a third of it
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.Now = clk.Now
		o.ResyncInterval = resync
	})
	token := h.mustRegistered(t, 1)

	// A task the manager lists is taken, with the restart count it had.
	c := h.mustRunning(t, token, listed.Metadata.UID, 3)

	// A task pushed a moment ago survives resyncs that do not list it yet.
	pushed := newTask("pushed", "uid-pushed")
	h.mustAssign(t, token, pushed, http.StatusCreated)
	p := h.mustRunning(t, token, pushed.Metadata.UID, 0)
	calls := mgr.workerTasksCalls()
	mustEventually(t, "three more resyncs", func() bool { return mgr.workerTasksCalls() >= calls+3 })
	if cs := h.containers(t, pushed.Metadata.UID); len(cs) != 1 || cs[0].ID != p.ID {
		t.Fatalf("containers of the pushed task within the grace = %+v; want %s kept", cs, p.ID)
	}

	// Once older than the grace, a task the manager does not list is
	// dropped; the listed one stays.
	clk.Advance(resync)
	mustEventually(t, "the unlisted task to be dropped", func() bool {
		_, held := h.status(t, token, pushed.Metadata.UID)
		return !held && len(h.containers(t, pushed.Metadata.UID)) == 0
	})
	if got, err := fake.Inspect(t.Context(), c.ID); err != nil || !got.State.Running {
		t.Fatalf("listed task's container = %+v, %v; want it running", got.State, err)
	}

	// A newer generation in the list replaces the container.
	gen2 := listed.DeepCopy()
	gen2.Metadata.Generation = 2
	gen2.Spec.Args = []string{"serve", "--verbose"}
	mgr.setTasks(gen2)
	mustEventually(t, "generation 2 from the list to run", func() bool {
		cs := h.containers(t, listed.Metadata.UID)
		return len(cs) == 1 && cs[0].ID != c.ID && cs[0].Labels[runtime.LabelSpecHash] == gen2.Spec.Hash() && cs[0].State.Running
	})

	// A task listed with a deletion timestamp is stopped and forgotten.
	deleting := gen2.DeepCopy()
	now := clk.Now()
	deleting.Metadata.DeletionTimestamp = &now
	mgr.setTasks(deleting)
	mustEventually(t, "the deleted task to be stopped and forgotten", func() bool {
		_, held := h.status(t, token, listed.Metadata.UID)
		return !held && len(h.containers(t, listed.Metadata.UID)) == 0
	})
}

func TestManager_FailedReportIsSentAgain(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	// No heartbeats: only status changes send (partial) reports.
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.HeartbeatInterval = time.Hour })
	token := h.mustRegistered(t, 1)
	mustEventually(t, "the first full report", func() bool { return len(mgr.succeeded()) >= 1 })
	// Their pushes are answered with their first status; what changes
	// after goes by reports.
	a, b := newTask("a", "uid-a"), newTask("b", "uid-b")
	h.mustAssign(t, token, a, http.StatusCreated)
	h.mustAssign(t, token, b, http.StatusCreated)
	h.mustRunning(t, token, a.Metadata.UID, 0)
	h.mustRunning(t, token, b.Metadata.UID, 0)

	mgr.setReportErr(errors.New("manager unreachable"))
	a2 := nextGeneration(a)
	h.mustAssign(t, token, a2, http.StatusOK)
	runsA2 := func(tr v1.TaskReport) bool {
		return tr.Generation == 2 && tr.Status.Phase == v1.PhaseRunning && tr.Status.ObservedGeneration == 2
	}
	mustEventually(t, "a failed report of task a's generation 2 Running", func() bool {
		for _, c := range mgr.calls() {
			for _, tr := range c.report.Tasks {
				if c.err != nil && tr.UID == a.Metadata.UID && runsA2(tr) {
					return true
				}
			}
		}
		return false
	})
	if mgr.reportedTask(a.Metadata.UID, runsA2) {
		t.Fatal("the manager accepted a report of task a while failing every report")
	}

	// The next report, caused by another task's change, carries a's
	// status again.
	mgr.setReportErr(nil)
	h.mustAssign(t, token, nextGeneration(b), http.StatusOK)
	mustEventually(t, "a partial report carrying task a again", func() bool {
		for _, r := range mgr.succeeded() {
			for _, tr := range r.Tasks {
				if !r.Full && tr.UID == a.Metadata.UID && runsA2(tr) {
					return true
				}
			}
		}
		return false
	})
}

// nextGeneration returns task's next generation, with a spec of its own.
func nextGeneration(task *v1.Task) *v1.Task {
	next := task.DeepCopy()
	next.Metadata.Generation++
	next.Spec.Args = append(next.Spec.Args, fmt.Sprintf("--generation=%d", next.Metadata.Generation))
	return next
}

func TestManager_RegistersAgainWhenForgotten(t *testing.T) {
	t.Parallel()
	unauthorized := &v1.Status{Code: http.StatusUnauthorized, Reason: v1.StatusReasonUnauthorized, Message: "unknown worker token"}
	notFound := &v1.Status{Code: http.StatusNotFound, Reason: v1.StatusReasonNotFound, Message: "no worker worker-1"}
	tests := []struct {
		name       string
		fail       func(*fakeManager)
		reregister bool
	}{
		{"report answered 401", func(m *fakeManager) { m.failNextReport(unauthorized) }, true},
		{"report answered 404", func(m *fakeManager) { m.failNextReport(notFound) }, true},
		{"task list answered 401", func(m *fakeManager) { m.failNextWorkerTasks(unauthorized) }, true},
		{"report failed in transit", func(m *fakeManager) { m.failNextReport(errors.New("connection reset by peer")) }, false},
		{"report answered 500", func(m *fakeManager) {
			m.failNextReport(&v1.Status{Code: http.StatusInternalServerError, Reason: v1.StatusReasonInternalError})
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			mgr := &fakeManager{}
			task := newTask("web", "uid-web-1")
			mgr.setTasks(task) // the frequent resyncs take it and keep it
			h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.ResyncInterval = 30 * time.Millisecond })
			token := h.mustRegistered(t, 1)
			c := h.mustRunning(t, token, task.Metadata.UID, 0)
			tasksCalls := mgr.workerTasksCalls()

			tt.fail(mgr)
			mustEventually(t, "the failure to be answered", func() bool {
				mgr.mu.Lock()
				defer mgr.mu.Unlock()
				return len(mgr.reportErrOnce) == 0 && len(mgr.tasksErrOnce) == 0
			})
			if !tt.reregister {
				n := len(mgr.succeeded())
				mustEventually(t, "more successful reports", func() bool { return len(mgr.succeeded()) >= n+3 })
				mustEventually(t, "more resyncs", func() bool { return mgr.workerTasksCalls() >= tasksCalls+2 })
				if regs := mgr.registered(); len(regs) != 1 {
					t.Fatalf("%d registrations after a transient failure; want 1", len(regs))
				}
				return
			}

			newToken := h.mustRegistered(t, 2)
			if code, _ := h.do(t, http.MethodGet, "/api/v1/tasks", token, nil); code != http.StatusUnauthorized {
				t.Errorf("GET with the old manager token = %d; want 401", code)
			}
			dialed := mgr.tokensDialed()
			if n := len(slices.DeleteFunc(dialed, func(s string) bool { return s != joinToken })); n != 2 {
				t.Errorf("dialed with the join token %d times; want 2 (one per registration)", n)
			}
			n := len(mgr.succeeded())
			mustEventually(t, "reports after registering again", func() bool {
				rs := mgr.succeeded()
				return len(rs) > n && mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool { return r.Status.ContainerID == c.ID })
			})
			// The task ran on through it all.
			if tasks := h.mustTasks(t, newToken); len(tasks) != 1 || tasks[0].Status.ContainerID != c.ID {
				t.Errorf("tasks after registering again = %+v; want the one running on %s", tasks, c.ID)
			}
			if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
				t.Errorf("Create called %d times; want 1", n)
			}
		})
	}
}

// fullReports counts the heartbeats the fake manager accepted.
func heartbeats(m *fakeManager) int {
	n := 0
	for _, r := range m.succeeded() {
		if r.Heartbeat {
			n++
		}
	}
	return n
}

func TestManager_FollowsTheManagersHeartbeatInterval(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	mgr.setReplies(20*time.Millisecond, 0)
	// The worker's own interval is an hour: only the manager's can make
	// heartbeats come.
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.HeartbeatInterval = time.Hour })
	token := h.mustRegistered(t, 1)
	nudge := newTask("nudge", "uid-nudge")
	h.mustAssign(t, token, nudge, http.StatusCreated)
	h.mustRunning(t, token, nudge.Metadata.UID, 0)
	mustEventually(t, "heartbeats at the interval the registration gave", func() bool { return heartbeats(mgr) >= 5 })

	// A new interval in a heartbeat reply is followed from then on.
	mgr.setReplies(time.Hour, 0)
	n := heartbeats(mgr)
	mustEventually(t, "the reply with the new interval", func() bool { return heartbeats(mgr) >= n+1 })
	n = heartbeats(mgr)
	mustSettle(t, fake, 5)
	if got := heartbeats(mgr); got > n+1 {
		t.Errorf("%d more heartbeats after the manager asked for one an hour", got-n)
	}
	// A partial report (a status change: the task's next generation runs)
	// carries a short interval back.
	mgr.setReplies(20*time.Millisecond, 0)
	h.mustAssign(t, token, nextGeneration(nudge), http.StatusOK)
	m := heartbeats(mgr)
	mustEventually(t, "heartbeats at 20ms again", func() bool { return heartbeats(mgr) >= m+5 })
}

// TestManager_ResyncAdmitsLikeAPush: a task the manager lists is taken
// only if the worker could take it from a push: one asking for more disk
// than is free is not, though the manager lists it.
func TestManager_ResyncAdmitsLikeAPush(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	big := newTask("big", "uid-big", func(t *v1.Task) { t.Spec.Resources.Disk = "100Gi" })
	small := newTask("small", "uid-small", func(t *v1.Task) { t.Spec.Resources.Disk = "1Gi" })
	mgr.setTasks(big, small)
	h := mustStartWorker(t, fake, mgr, nil) // 50Gi free
	token := h.mustRegistered(t, 1)
	h.mustRunning(t, token, small.Metadata.UID, 0)
	mustSettle(t, fake, 3)
	if _, held := h.status(t, token, big.Metadata.UID); held {
		t.Error("took a listed task that needs 100Gi of disk with 50Gi free")
	}
	if cs := h.containers(t, big.Metadata.UID); len(cs) != 0 {
		t.Errorf("containers of the task that does not fit: %+v", cs)
	}
}

// TestManager_ManyTasksKeepHeartbeating is one worker holding 5,000 tasks
// under a manager that refuses bodies over 1 MiB, as the real one does:
// its reports are split into pages under the limit, none is refused, and
// its heartbeats keep coming.
func TestManager_ManyTasksKeepHeartbeating(t *testing.T) {
	t.Parallel()
	const n = 5000
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{bodyLimit: 1 << 20}
	mgr.setReplies(50*time.Millisecond, 0)
	tasks := make([]*v1.Task, n)
	for i := range tasks {
		name := fmt.Sprintf("task-%05d", i)
		tasks[i] = newTask(name, "uid-"+name)
	}
	mgr.setTasks(tasks...)
	h := mustStartWorker(t, fake, mgr, nil)
	h.mustRegistered(t, 1)

	running := func(full bool) int {
		phase := map[string]v1.Phase{}
		for _, r := range mgr.succeeded() {
			if full && !r.Full {
				continue
			}
			for _, tr := range r.Tasks {
				phase[tr.UID] = tr.Status.Phase
			}
		}
		k := 0
		for _, p := range phase {
			if p == v1.PhaseRunning {
				k++
			}
		}
		return k
	}
	// 5,000 tasks take their time under the race detector.
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(2 * time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	eventually("every task reported Running", func() bool { return running(false) == n })
	mgr.askFull()
	eventually("a full report of every task Running", func() bool { return running(true) == n })

	beats := heartbeats(mgr)
	mustEventually(t, "heartbeats to keep coming", func() bool { return heartbeats(mgr) >= beats+3 })

	pages := 0
	for _, c := range mgr.calls() {
		if c.err != nil {
			t.Fatalf("a report was refused: %v", c.err)
		}
		if c.report.Full {
			pages++
		}
	}
	if pages < 2 {
		t.Errorf("full reports went in %d pages; 5,000 tasks do not fit one under 1 MiB, so the test shows nothing", pages)
	}
	rs := mgr.succeeded()
	if last := rs[len(rs)-1]; last.Stats.Tasks != n {
		t.Errorf("last report says %d tasks held, want %d", last.Stats.Tasks, n)
	}
}
