package workerd_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// A task whose container starts at once is reported once, Running: the
// steps on the way (taken, being created) are not sent on their own.
func TestReport_TaskThatStartsAtOnceIsReportedRunning(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{interval: time.Hour}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.HeartbeatInterval = time.Hour
		o.PendingReportDelay = time.Hour // only Running can be reported
	})
	token := h.mustRegistered(t, 1)
	task := newTask("a", "uid-a")
	h.mustAssign(t, token, task, http.StatusCreated)
	mustEventually(t, "the task reported Running", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseRunning })
	})
	if mgr.sawTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase != v1.PhaseRunning }) {
		for _, r := range mgr.succeeded() {
			t.Logf("report: %+v", r.Tasks)
		}
		t.Errorf("the task was reported before it ran; want one report, Running")
	}
}

// A task whose container takes long to create is reported on its way
// (Scheduled, ContainerCreating) PendingReportDelay after it was taken,
// with no heartbeat to carry it, and Running once it runs.
func TestReport_SlowStartIsReportedOnTheWay(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	mgr := &fakeManager{interval: time.Hour}
	release := make(chan struct{})
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) {
		o.HeartbeatInterval = time.Hour
		o.PendingReportDelay = 20 * time.Millisecond
		o.Runtime = slowCreate{Runtime: o.Runtime, release: release}
	})
	token := h.mustRegistered(t, 1)
	task := newTask("a", "uid-a")
	h.mustAssign(t, token, task, http.StatusCreated)
	mustEventually(t, "the task reported ContainerCreating while its container is created", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(tr v1.TaskReport) bool {
			return tr.Status.Phase == v1.PhaseScheduled && tr.Status.Reason == v1.ReasonContainerCreate
		})
	})
	close(release)
	mustEventually(t, "the task reported Running", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(tr v1.TaskReport) bool { return tr.Status.Phase == v1.PhaseRunning })
	})
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
