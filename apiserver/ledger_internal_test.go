package apiserver

import (
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestLedger follows tasks placed, run, moved, ended and deleted, and
// checks each worker's sums against a walk over the tasks.
func TestLedger(t *testing.T) {
	l := newLedger()
	tasks := map[string]*v1.Task{}
	set := func(name, uid, worker string, phase v1.Phase, cpu string) {
		task := &v1.Task{Metadata: v1.ObjectMeta{Name: name, UID: uid, Generation: 1},
			Spec:   v1.TaskSpec{Resources: v1.Resources{CPU: cpu, Memory: "1Mi"}},
			Status: v1.TaskStatus{Worker: worker, Phase: phase}}
		tasks[name] = task
		l.taskChanged(name, task)
	}
	check := func(worker string) {
		t.Helper()
		var want workerUsage
		for _, task := range tasks {
			if task.Status.Worker != worker {
				continue
			}
			want.tasks++
			if !task.Status.Phase.Terminal() {
				want.cpu += task.Spec.Resources.MilliCPU()
				want.mem += task.Spec.Resources.MemoryBytes()
			}
			if v1.Digested(task.Status.Phase) {
				want.digest.Add(task.Metadata.UID)
			}
		}
		if got := l.usage(worker); got != want {
			t.Errorf("usage of %s = %+v, want %+v", worker, got, want)
		}
		if got := l.digest(worker, nil); got != want.digest.String() {
			t.Errorf("digest of %s = %s, want %s", worker, got, want.digest.String())
		}
	}
	set("a", "ua", "", v1.PhasePending, "100m")
	set("b", "ub", "w1", v1.PhasePending, "200m")
	set("c", "uc", "w1", v1.PhaseRunning, "300m")
	check("w1")
	set("a", "ua", "w1", v1.PhaseScheduled, "100m")
	set("b", "ub", "w1", v1.PhaseRunning, "200m")
	check("w1")
	set("c", "uc", "w2", v1.PhasePending, "300m") // moved
	check("w1")
	check("w2")
	set("b", "ub", "w1", v1.PhaseSucceeded, "200m") // ended: counted, holds no place
	check("w1")
	delete(tasks, "a")
	l.taskChanged("a", nil)
	check("w1")
	set("c", "uc2", "w2", v1.PhaseRunning, "1") // another incarnation, another spec
	check("w2")

	// A report being answered counts as it records its tasks.
	recorded := map[string]reportedTask{"c": {uid: "uc2", phase: v1.PhaseFailed}, "d": {uid: "ud", phase: v1.PhaseRunning}}
	var want v1.TaskDigest
	want.Add("ud")
	if got := l.digest("w2", recorded); got != want.String() {
		t.Errorf("digest with a report = %s, want %s (c ended, d running)", got, want.String())
	}
}
