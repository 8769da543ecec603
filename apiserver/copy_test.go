package apiserver

import (
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func TestJudgeCopy(t *testing.T) {
	// task is the stored task: on worker (none when ""), at generation
	// assigned, which the worker accepted (the Scheduled condition).
	task := func(worker string, phase v1.Phase, assigned int64) *v1.Task {
		st := v1.TaskStatus{Worker: worker, Phase: phase}
		if worker != "" {
			st.Conditions = []v1.Condition{{Type: v1.TaskScheduled, Status: v1.ConditionTrue, ObservedGeneration: assigned}}
		}
		return &v1.Task{Metadata: v1.ObjectMeta{Name: "web", UID: "u1", Generation: assigned}, Status: st}
	}
	report := func(uid string, gen int64, phase v1.Phase) v1.TaskReport {
		return v1.TaskReport{UID: uid, Name: "web", Generation: gen, Status: v1.TaskStatus{Phase: phase}}
	}
	tests := []struct {
		name      string
		task      *v1.Task
		report    v1.TaskReport
		returning bool
		want      copyAction
	}{
		{"mine", task("w1", v1.PhaseRunning, 1), report("u1", 1, v1.PhaseRunning), false, copyRecord},
		{"mine, assigned and not yet reported", task("w1", v1.PhasePending, 1), report("u1", 1, v1.PhaseScheduled), false, copyRecord},
		{"mine, from a worker coming back", task("w1", v1.PhaseUnknown, 1), report("u1", 1, v1.PhaseRunning), true, copyRecord},
		{"mine, report of an older spec", task("w1", v1.PhaseRunning, 2), report("u1", 1, v1.PhaseRunning), false, copyIgnore},
		{"mine, my copy ended too", task("w1", v1.PhaseSucceeded, 1), report("u1", 1, v1.PhaseSucceeded), false, copyRecord},
		{"gone", nil, report("u1", 1, v1.PhaseRunning), false, copyStop},
		{"another incarnation", task("w1", v1.PhaseRunning, 1), report("u0", 1, v1.PhaseRunning), false, copyStop},
		{"ended by the manager", task("w1", v1.PhaseFailed, 1), report("u1", 1, v1.PhaseRunning), false, copyStop},
		{"moved and running elsewhere", task("w2", v1.PhaseRunning, 1), report("u1", 1, v1.PhaseRunning), false, copyStop},
		{"moved and finished elsewhere", task("w2", v1.PhaseSucceeded, 1), report("u1", 1, v1.PhaseSucceeded), false, copyStop},
		{"moved, not started elsewhere yet", task("w2", v1.PhaseScheduled, 1), report("u1", 1, v1.PhaseRunning), false, copyIgnore},
		{"moved, assigned elsewhere and not accepted yet", task("w2", v1.PhasePending, 1), report("u1", 1, v1.PhaseRunning), false, copyIgnore},
		{"moved, waiting for a worker", task("", v1.PhasePending, 0), report("u1", 1, v1.PhaseRunning), false, copyIgnore},
		{"moved off a worker that comes back", task("w2", v1.PhaseScheduled, 1), report("u1", 1, v1.PhaseRunning), true, copyStop},
		{"waiting for a worker, reported by one coming back", task("", v1.PhasePending, 0), report("u1", 1, v1.PhaseRunning), true, copyStop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeCopy(tt.task, tt.report, "w1", tt.returning); got != tt.want {
				t.Errorf("judgeCopy = %d, want %d", got, tt.want)
			}
		})
	}
}
