package latency

import (
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func task(worker string, phase v1.Phase, conds ...v1.Condition) *v1.Task {
	return &v1.Task{Metadata: v1.ObjectMeta{Name: "web", UID: "u1"}, Status: v1.TaskStatus{Worker: worker, Phase: phase, Conditions: conds}}
}

var (
	scheduledTrue = v1.Condition{Type: v1.TaskScheduled, Status: v1.ConditionTrue, Reason: "Assigned"}
	unschedulable = v1.Condition{Type: v1.TaskScheduled, Status: v1.ConditionFalse, Reason: v1.ReasonUnschedulable}
	workerLost    = v1.Condition{Type: v1.TaskScheduled, Status: v1.ConditionFalse, Reason: v1.ReasonWorkerLost}
	startedTrue   = v1.Condition{Type: v1.TaskStarted, Status: v1.ConditionTrue}
	startedFalse  = v1.Condition{Type: v1.TaskStarted, Status: v1.ConditionFalse}
)

func TestTransitions(t *testing.T) {
	other := task("", v1.PhasePending)
	other.Metadata.UID = "u2"
	for _, tc := range []struct {
		name          string
		old, cur      *v1.Task
		placed, first bool
	}{
		{"first placement", task("", v1.PhasePending), task("w1", v1.PhasePending, scheduledTrue), true, false},
		{"placed after waiting Unschedulable", task("", v1.PhasePending, unschedulable), task("w1", v1.PhasePending, scheduledTrue), true, false},
		{"placed again after its worker was lost", task("", v1.PhasePending, workerLost, startedTrue), task("w2", v1.PhasePending, scheduledTrue, startedTrue), false, false},
		{"placed again, lost before it started", task("", v1.PhasePending, workerLost), task("w2", v1.PhasePending, scheduledTrue), false, false},
		{"worker accepted", task("w1", v1.PhasePending, scheduledTrue), task("w1", v1.PhaseScheduled, scheduledTrue, startedFalse), false, false},
		{"first run", task("w1", v1.PhaseScheduled, scheduledTrue, startedFalse), task("w1", v1.PhaseRunning, scheduledTrue, startedTrue), false, true},
		{"placed and running in one change (a relist)", task("", v1.PhasePending), task("w1", v1.PhaseRunning, scheduledTrue, startedTrue), true, true},
		{"running again after a crash", task("w1", v1.PhaseRunning, startedTrue), task("w1", v1.PhaseRunning, startedTrue), false, false},
		{"running after a move", task("w2", v1.PhaseScheduled, scheduledTrue, startedTrue), task("w2", v1.PhaseRunning, scheduledTrue, startedTrue), false, false},
		{"status unchanged", task("w1", v1.PhaseRunning, startedTrue), task("w1", v1.PhaseRunning, startedTrue), false, false},
		{"another incarnation", other, task("w1", v1.PhaseRunning, startedTrue), false, false},
		{"no old object", nil, task("w1", v1.PhaseRunning), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			placed, first := Transitions(tc.old, tc.cur)
			if placed != tc.placed || first != tc.first {
				t.Fatalf("Transitions = (placed %v, first run %v), want (%v, %v)", placed, first, tc.placed, tc.first)
			}
		})
	}
}
