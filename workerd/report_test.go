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
// the answer to its push: no report of its own carries it (nor the steps
// on the way), the next heartbeat carries it again for the manager to
// acknowledge, and the heartbeats' digest counts it.
func TestReport_TaskThatStartsAtOnceIsAnsweredRunning(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{}
	mgr.setReplies(20*time.Millisecond, 0)
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.PendingReportDelay = time.Hour // the push waits for Running
	})
	token := h.mustRegistered(t, 1)
	task := newTask("a", "uid-a")
	h.mustAssign(t, token, task, http.StatusCreated)
	tr, ok := mgr.answer(task.Metadata.UID)
	if !ok || tr.Name != "a" || tr.Generation != 1 || tr.Status.Phase != v1.PhaseRunning || tr.Status.ContainerID == "" {
		t.Fatalf("the push was answered with %+v (%v); want task a Running in its container", tr, ok)
	}
	var want v1.TaskDigest
	want.Add(task.Metadata.UID)
	n := heartbeats(mgr)
	mustEventually(t, "two heartbeats after the answer", func() bool { return heartbeats(mgr) >= n+2 })
	reps := mgr.succeeded()
	if last := reps[len(reps)-1]; last.Heartbeat && last.Digest != want.String() {
		t.Errorf("heartbeat digest = %s; want %s: the answered task counted", last.Digest, want.String())
	}
	// The first heartbeat after the answer carries it again, for the
	// manager to acknowledge; no other report carries it.
	var carried []string
	for _, r := range reps {
		for _, tr := range r.Tasks {
			if tr.UID == task.Metadata.UID {
				carried = append(carried, fmt.Sprintf("heartbeat=%v full=%v %s", r.Heartbeat, r.Full, tr.Status.Phase))
			}
		}
	}
	if len(carried) != 1 || carried[0] != "heartbeat=true full=false Running" {
		t.Errorf("reports carrying the answered task: %q; want one heartbeat, Running", carried)
	}
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
