package scheduler_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/scheduler"
)

// unschedulable waits until the task is Pending, Unschedulable, with no
// worker.
func unschedulable(t *v1.Task) bool {
	return t.Status.Reason == v1.ReasonUnschedulable && t.Status.Worker == "" && t.Status.Phase == v1.PhasePending
}

// acceptedPushes counts, per worker, the tasks whose push it accepted.
func (f *fakeWorkers) acceptedPerWorker() map[string][]string {
	out := map[string][]string{}
	for _, p := range f.Pushes() {
		if p.Accepted && !slices.Contains(out[p.Worker], p.Task) {
			out[p.Worker] = append(out[p.Worker], p.Task)
		}
	}
	return out
}

// TestController_NeverOvercommits applies sixteen one-CPU tasks at once
// on two 2-CPU workers: the scheduler places them sixteen at a time, and
// each placement must see the ones decided before it (reservations), not
// only those the cache already shows.
func TestController_NeverOvercommits(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1") // 2 CPUs
	e.mustWorker(t, "w2")
	for i := range 16 {
		task := newTask(fmt.Sprintf("cpu-%02d", i))
		task.Spec.Resources.CPU = "1"
		e.mustApply(t, task)
	}
	placed := 0
	for i := range 16 {
		name := fmt.Sprintf("cpu-%02d", i)
		got := e.mustEventually(t, name, "placed or unschedulable", func(t *v1.Task) bool {
			return unschedulable(t) || (t.Status.Worker != "" && e.workers.accepted(t.Status.Worker, t.Metadata.UID))
		})
		if got.Status.Worker != "" {
			placed++
			continue
		}
		if want := "0/2 workers fit: 2 insufficient cpu"; got.Status.Message != want {
			t.Errorf("%s: message %q, want %q", name, got.Status.Message, want)
		}
	}
	per := e.workers.acceptedPerWorker()
	if placed != 4 || len(per["w1"]) != 2 || len(per["w2"]) != 2 {
		t.Errorf("%d placed, accepted per worker %v; want 2 on each of the 2-CPU workers", placed, per)
	}
}

// TestController_HostPorts: a host port is a placement constraint: a
// second task with the same hostPort goes to the other worker, a third
// fits nowhere and says which port.
func TestController_HostPorts(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1")
	e.mustWorker(t, "w2")
	withPort := func(name string) *v1.Task {
		task := newTask(name)
		task.Spec.Ports = []v1.Port{{Name: "http", ContainerPort: 8080, HostPort: 18080}}
		return task
	}
	e.mustApply(t, withPort("p1"))
	p1 := e.mustScheduled(t, "p1")
	e.mustApply(t, withPort("p2"))
	p2 := e.mustScheduled(t, "p2")
	if p1.Status.Worker == p2.Status.Worker {
		t.Errorf("both tasks publishing host port 18080 on %s", p1.Status.Worker)
	}
	e.mustApply(t, withPort("p3"))
	p3 := e.mustEventually(t, "p3", "unschedulable", unschedulable)
	if want := "0/2 workers fit: 2 host port 18080/TCP in use"; p3.Status.Message != want {
		t.Errorf("message = %q, want %q", p3.Status.Message, want)
	}

	// Deleting one frees its port: the waiting task is placed at once.
	e.mustDelete(t, "p1")
	e.mustGone(t, "p1")
	if got := e.mustScheduled(t, "p3"); got.Status.Worker != p1.Status.Worker {
		t.Errorf("p3 placed on %s, want %s where the port was freed", got.Status.Worker, p1.Status.Worker)
	}
}

// TestController_RefusalKeepsTheTurns: a worker that refuses must not give
// the worker after it a double share of the round-robin.
func TestController_RefusalKeepsTheTurns(t *testing.T) {
	e := mustStart(t)
	e.workers.setRefuse("w2", fmt.Errorf("push: %w", scheduler.ErrInsufficientStorage))
	for _, w := range []string{"w1", "w2", "w3"} {
		e.mustWorker(t, w)
	}
	for i := range 6 {
		name := fmt.Sprintf("rr-%d", i)
		e.mustApply(t, newTask(name))
		e.mustScheduled(t, name)
	}
	per := e.workers.acceptedPerWorker()
	if len(per["w1"]) != 3 || len(per["w3"]) != 3 || len(per["w2"]) != 0 {
		t.Errorf("accepted per worker %v, want 3 on w1 and 3 on w3 (w2 refuses)", per)
	}
}

// TestController_UnknownPushKeepsTheAssignment: a push that ends without
// an answer may have reached the worker; placing the task elsewhere could
// run it twice, so it stays on that worker and is pushed there again.
func TestController_UnknownPushKeepsTheAssignment(t *testing.T) {
	e := mustStart(t)
	e.workers.setRefuse("w1", fmt.Errorf("push: %w", errTimeout))
	e.mustWorker(t, "w1")
	e.mustWorker(t, "w2")
	e.mustApply(t, newTask("web"))
	e.mustEvent(t, "web", v1.EventWarning, "FailedPush",
		"the push to worker w1 ended without an answer; the task stays assigned to it, and the worker takes it from its list of tasks")
	// Another task placed after it shows the scheduler has moved on.
	e.mustApply(t, newTask("other"))
	e.mustScheduled(t, "other")
	got, err := e.st.Tasks.Get(t.Context(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status.Worker != "w1" || got.Status.Phase != v1.PhasePending {
		t.Errorf("status = %+v, want Pending on w1", got.Status)
	}
	for _, p := range e.workers.Pushes() {
		if p.Task == "web" && p.Worker != "w1" {
			t.Errorf("web pushed to %s after a push to w1 ended without an answer", p.Worker)
		}
	}

	// Once w1 answers, the next look at the task hands it over.
	e.workers.setRefuse("w1", nil)
	relabelled := newTask("web")
	relabelled.Metadata.Labels = map[string]string{"nudge": "1"}
	e.mustApply(t, relabelled)
	if got := e.mustScheduled(t, "web"); got.Status.Worker != "w1" {
		t.Errorf("worker = %s, want w1", got.Status.Worker)
	}
}

// errTimeout is a push error that says nothing of whether the worker
// took the task.
var errTimeout = fmt.Errorf("context deadline exceeded")

// mustReported stores a worker's report of the task: Running at its
// generation, as the heartbeat handler would.
func (e *env) mustReported(t *testing.T, name string) *v1.Task {
	t.Helper()
	out, err := e.st.Tasks.GuaranteedUpdate(t.Context(), name, func(task *v1.Task) (*v1.Task, error) {
		task.Status.Phase = v1.PhaseRunning
		task.Status.ContainerID = "c-" + name
		task.Status.ObservedGeneration = task.Metadata.Generation
		return task, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustRevision(t, e.st.TaskCache.WaitForRevision, out.Metadata.ResourceVersion)
	return out
}

// TestController_SpecChangeThatNoLongerFits: a nodeSelector change that
// the current worker does not match moves the task to one that does; when
// none does, the task stays where it runs and says why.
func TestController_SpecChangeThatNoLongerFits(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "nc-a", withLabels(map[string]string{"zone": "a"}))
	e.mustWorker(t, "nc-b", withLabels(map[string]string{"zone": "b"}))
	task := newTask("web")
	task.Spec.NodeSelector = map[string]string{"zone": "b"}
	e.mustApply(t, task)
	e.mustScheduled(t, "web")
	e.mustReported(t, "web")

	// No worker is in zone c: the task keeps running generation 1 on
	// nc-b, and its Scheduled condition says why.
	task.Spec.NodeSelector = map[string]string{"zone": "c"}
	e.mustApply(t, task)
	const stuck = "generation 2 does not fit worker nc-b (does not match nodeSelector), nor any other (0/2 workers fit: 2 does not match nodeSelector); generation 1 keeps running on nc-b"
	got := e.mustEventually(t, "web", "Scheduled=False saying why", func(t *v1.Task) bool {
		c := v1.FindCondition(t.Status.Conditions, v1.TaskScheduled)
		return c != nil && c.Status == v1.ConditionFalse && c.Message == stuck
	})
	if got.Status.Worker != "nc-b" || got.Status.Phase != v1.PhaseRunning || got.Status.ObservedGeneration != 1 {
		t.Errorf("status = %+v, want Running generation 1 on nc-b", got.Status)
	}
	e.mustEvent(t, "web", v1.EventWarning, "FailedScheduling", stuck)
	for _, p := range e.workers.Pushes() {
		if p.Task == "web" && p.Generation == 2 {
			t.Errorf("generation 2 pushed to %s, which it does not fit", p.Worker)
		}
	}

	// Zone a exists: the task moves there, recorded first, then pushed.
	task.Spec.NodeSelector = map[string]string{"zone": "a"}
	e.mustApply(t, task)
	got = e.mustEventually(t, "web", "moved to nc-a", func(t *v1.Task) bool {
		return t.Status.Worker == "nc-a" && e.workers.accepted("nc-a", t.Metadata.UID)
	})
	if got.Status.AssignedGeneration() != 3 || got.Status.ObservedGeneration != 0 || got.Status.ContainerID != "" || got.Status.Phase != v1.PhasePending {
		t.Errorf("status = %+v, want generation 3 on nc-a, nothing kept of nc-b", got.Status)
	}
	if c := v1.FindCondition(got.Status.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionTrue {
		t.Errorf("Scheduled condition = %+v, want True", c)
	}
	e.mustEvent(t, "web", v1.EventNormal, "Rescheduling",
		"generation 3 does not fit worker nc-b (does not match nodeSelector): moving the task to worker nc-a")
	for _, p := range e.workers.Pushes() {
		if p.Task == "web" && p.Worker == "nc-b" && p.Generation > 1 {
			t.Errorf("a later generation pushed to nc-b: %+v", p)
		}
	}
}

// TestController_SpecChangeThatStillFits: a change the worker still fits
// (counting the task's own old request as free) is pushed to it.
func TestController_SpecChangeThatStillFits(t *testing.T) {
	e := mustStart(t)
	e.mustWorker(t, "w1") // 2 CPUs
	task := newTask("web")
	task.Spec.Resources.CPU = "1500m"
	task.Spec.Ports = []v1.Port{{ContainerPort: 80, HostPort: 18080}}
	e.mustApply(t, task)
	e.mustScheduled(t, "web")
	e.mustReported(t, "web")
	task.Spec.Resources.CPU = "2"
	task.Spec.Image = "minkube/testapp:v2"
	e.mustApply(t, task)
	got := e.mustEventually(t, "web", "generation 2 pushed", func(t *v1.Task) bool { return t.Status.AssignedGeneration() == 2 })
	if got.Status.Worker != "w1" {
		t.Errorf("worker = %s, want w1", got.Status.Worker)
	}
	if c := v1.FindCondition(got.Status.Conditions, v1.TaskScheduled); c == nil || c.Status != v1.ConditionTrue || strings.Contains(c.Message, "does not fit") {
		t.Errorf("Scheduled condition = %+v, want True", c)
	}
}
