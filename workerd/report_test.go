package workerd_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// A task whose container starts at once is told to the manager Running in
// the answer to its push: no report carries its status (nor the steps on
// the way), the next heartbeat names it with its phase for the manager to
// check, and the heartbeats' digest counts it.
func TestReport_TaskThatStartsAtOnceIsAnsweredRunning(t *testing.T) {
	t.Parallel()
	mgr := &fakeManager{}
	task := mustAnswerRunning(t, mgr)
	var want v1.TaskDigest
	want.Add(task.Metadata.UID)
	n := heartbeats(mgr)
	mustEventually(t, "two heartbeats after the answer", func() bool { return heartbeats(mgr) >= n+2 })
	reps := mgr.succeeded()
	if last := reps[len(reps)-1]; last.Heartbeat && last.Digest != want.String() {
		t.Errorf("heartbeat digest = %s; want %s: the answered task counted", last.Digest, want.String())
	}
	carried, named := reportsOf(reps, task.Metadata.UID)
	if len(carried) != 0 {
		t.Errorf("reports carrying the answered task's status: %q; want none", carried)
	}
	if len(named) != 1 || named[0] != "heartbeat=true Running" {
		t.Errorf("reports naming the answered task: %q; want one heartbeat, Running", named)
	}
}

// To a manager that does not check the answered tasks a heartbeat names
// (an older one), the next heartbeat carries the answered status again.
func TestReport_AnsweredStatusGoesAgainToAnOlderManager(t *testing.T) {
	t.Parallel()
	mgr := &fakeManager{older: true}
	task := mustAnswerRunning(t, mgr)
	n := heartbeats(mgr)
	mustEventually(t, "two heartbeats after the answer", func() bool { return heartbeats(mgr) >= n+2 })
	carried, named := reportsOf(mgr.succeeded(), task.Metadata.UID)
	if len(carried) != 1 || carried[0] != "heartbeat=true Running" || len(named) != 0 {
		t.Errorf("reports carrying the answered task: %q, naming it: %q; want one heartbeat carrying it Running, none naming it", carried, named)
	}
}

// When the manager does not record the status a push was answered with
// (the heartbeat that names it is answered with Resend), the worker
// reports that status again at once.
func TestReport_AnsweredStatusTheManagerLacksIsReportedAgain(t *testing.T) {
	t.Parallel()
	mgr := &fakeManager{resendAnswered: true}
	task := mustAnswerRunning(t, mgr)
	mustEventually(t, "a report carrying the status again", func() bool {
		carried, _ := reportsOf(mgr.succeeded(), task.Metadata.UID)
		return len(carried) > 0
	})
	carried, named := reportsOf(mgr.succeeded(), task.Metadata.UID)
	if carried[0] != "heartbeat=false Running" {
		t.Errorf("reports carrying the status: %q; want first a report of changes, Running", carried)
	}
	if len(named) == 0 || named[0] != "heartbeat=true Running" {
		t.Errorf("reports naming the answered task: %q; want a heartbeat first, Running", named)
	}
}

// mustAnswerRunning starts a registered worker reporting to mgr with
// heartbeats every 20 ms, whose pushes wait for Running, pushes it task
// a (uid-a) and checks that the push was answered Running.
func mustAnswerRunning(t *testing.T, mgr *fakeManager) *v1.Task {
	t.Helper()
	mgr.setReplies(20*time.Millisecond, 0)
	h := mustStartWorker(t, runtimetest.New(testImage), mgr, func(o *workerd.Options) {
		o.PendingReportDelay = time.Hour // the push waits for Running
	})
	token := h.mustRegistered(t, 1)
	task := newTask("a", "uid-a")
	h.mustAssign(t, token, task, http.StatusCreated)
	tr, ok := mgr.answer(task.Metadata.UID)
	if !ok || tr.Name != "a" || tr.Generation != 1 || tr.Status.Phase != v1.PhaseRunning || tr.Status.ContainerID == "" {
		t.Fatalf("the push was answered with %+v (%v); want task a Running in its container", tr, ok)
	}
	return task
}

// reportsOf says which reports carried uid's status and which named it
// as answered: "heartbeat=BOOL PHASE" for each, in order.
func reportsOf(reps []v1.StatusReport, uid string) (carried, named []string) {
	for _, r := range reps {
		for _, tr := range r.Tasks {
			if tr.UID == uid {
				carried = append(carried, fmt.Sprintf("heartbeat=%v %s", r.Heartbeat, tr.Status.Phase))
			}
		}
		for _, a := range r.Answered {
			if a.UID == uid {
				named = append(named, fmt.Sprintf("heartbeat=%v %s", r.Heartbeat, a.Phase))
			}
		}
	}
	return carried, named
}

// A task whose container takes long to create is answered on its way
// (Scheduled, ContainerCreating) PendingReportDelay after it was taken,
// and reported Running once it runs.
func TestReport_SlowStartIsAnsweredOnTheWay(t *testing.T) {
	t.Parallel()
	h, mgr, token, release := mustStartSlowCreate(t, 20*time.Millisecond)
	task := newTask("a", "uid-a")
	h.mustAssign(t, token, task, http.StatusCreated)
	if tr, ok := mgr.answer(task.Metadata.UID); !ok || tr.Status.Phase != v1.PhaseScheduled || tr.Status.Reason != v1.ReasonContainerCreate {
		t.Fatalf("the push was answered with %+v (%v); want Scheduled, ContainerCreating", tr, ok)
	}
	close(release)
	mustEventually(t, "the task reported Running", func() bool {
		return mgr.reportedTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseRunning })
	})
	if mgr.reportedTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseScheduled }) {
		t.Error("a report carried the step the push was answered with")
	}
}

// A push whose caller went away before the answer (its timeout) gives the
// task's status back to the reports: nothing is lost with the answer.
func TestReport_PushWhoseCallerLeftLeavesTheStatusToReports(t *testing.T) {
	t.Parallel()
	h, mgr, token, release := mustStartSlowCreate(t, time.Hour)
	task := newTask("a", "uid-a")
	impatient := *h.http
	impatient.Timeout = 200 * time.Millisecond
	if code, body, err := h.try(t, &impatient, http.MethodPost, "/api/v1/tasks?answer=status", token, task); err == nil {
		t.Fatalf("the push was answered %d %s before its container was created; want its caller to give up first", code, body)
	}
	mustEventually(t, "the task reported on its way", func() bool {
		return mgr.reportedTask(task.Metadata.UID, func(tr v1.TaskReport) bool {
			return tr.Status.Phase == v1.PhaseScheduled && tr.Status.Reason == v1.ReasonContainerCreate
		})
	})
	close(release)
	mustEventually(t, "the task reported Running", func() bool {
		return mgr.reportedTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseRunning })
	})
}

// A push that does not ask for the first status (a new spec, or a task
// the manager recorded from an earlier copy) is answered at once, and
// reports carry the task's statuses, as before.
func TestReport_PushWithoutAnswerIsReported(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{interval: time.Hour}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.HeartbeatInterval = time.Hour })
	token := h.mustRegistered(t, 1)
	task := newTask("a", "uid-a")
	if code, body := h.do(t, http.MethodPost, "/api/v1/tasks", token, task); code != http.StatusCreated || string(body) != "{}\n" {
		t.Fatalf("POST /api/v1/tasks = %d %q; want 201 {}", code, body)
	}
	mustEventually(t, "the task reported Running", func() bool {
		return mgr.reportedTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseRunning })
	})
}

// mustStartSlowCreate starts a registered worker with no heartbeats whose
// container creates wait until release is closed, and whose steps on the
// way to Running are reported (or answered) after pending.
func mustStartSlowCreate(t *testing.T, pending time.Duration) (h *harness, mgr *fakeManager, token string, release chan struct{}) {
	t.Helper()
	mgr = &fakeManager{interval: time.Hour}
	release = make(chan struct{})
	h = mustStartWorker(t, runtimetest.New(testImage), mgr, func(o *workerd.Options) {
		o.HeartbeatInterval = time.Hour
		o.PendingReportDelay = pending
		o.Runtime = slowCreate{Runtime: o.Runtime, release: release}
	})
	return h, mgr, h.mustRegistered(t, 1), release
}

// slowCreate holds every container create until release is closed.
type slowCreate struct {
	runtime.Runtime
	release chan struct{}
}

func (s slowCreate) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return s.Runtime.Create(ctx, spec)
}
