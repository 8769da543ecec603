package apiserver_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
)

// fakeReach answers a call back with err, and records whom it called.
type fakeReach struct {
	mu    sync.Mutex
	err   error
	calls []string // worker@address/manager token
}

func (f *fakeReach) Reach(_ context.Context, w *v1.Worker, cred *v1.Credential) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, w.Metadata.Name+"@"+w.Spec.Address+"/"+cred.ManagerToken)
	return f.err
}

func (f *fakeReach) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

func (f *fakeReach) called() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// mustReachable checks a worker's phase and Reachable condition.
func mustReachable(t *testing.T, step string, w *v1.Worker, phase v1.WorkerPhase, status v1.ConditionStatus, reason, message string) {
	t.Helper()
	c := v1.FindCondition(w.Status.Conditions, v1.WorkerReachable)
	if w.Status.Phase != phase || c == nil || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, message) {
		t.Errorf("%s: phase %s, Reachable %+v; want %s, Reachable %s (%s) saying %q", step, w.Status.Phase, c, phase, status, reason, message)
	}
}

// TestWorkers_Reachable: a worker is Ready only once the manager has
// called it back at the address it registered with. A new worker is
// NotReady (Reachable Unknown) until its first report; a worker that
// cannot be reached is NotReady with the call's error and is called again
// on each report; once reached, it is not called again until it
// registers at another address.
func TestWorkers_Reachable(t *testing.T) {
	reach := &fakeReach{err: errors.New("dial tcp 127.0.0.1:7071: connect: connection refused")}
	e := mustAPIEnvWith(t, apiserver.Options{Reach: reach})
	e.mustAPIWorker(t, "w2")
	arriving := e.mustStoredTask(t, "arriving", nil, v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w2"})

	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	mustReachable(t, "registered", &reg.Worker, v1.WorkerNotReady, v1.ConditionUnknown, v1.ReasonNotCheckedYet, "registered at 127.0.0.1:7071")
	if got := reach.called(); len(got) != 0 {
		t.Fatalf("called back at registration: %v; the worker serves its certificate only once registered", got)
	}

	// Its first report: the call back fails. It holds a copy of a task
	// that moved to w2 and has not started there: a worker just
	// registered is not one coming back from being lost, so the copy
	// runs on until the task starts on w2 (make before break).
	report := v1.StatusReport{Full: true, Stats: registerRequest("w1").Stats, Tasks: []v1.TaskReport{
		{UID: arriving.Metadata.UID, Name: "arriving", Generation: 1, Status: v1.TaskStatus{Phase: v1.PhaseRunning}},
	}}
	if reply := e.mustHeartbeat(t, "w1", reg.Token, report); len(reply.Stop) != 0 {
		t.Errorf("the first report after registering is told to stop %v, want nothing", reply.Stop)
	}
	mustReachable(t, "first report, unreachable", e.mustGetWorker(t, "w1"), v1.WorkerNotReady, v1.ConditionFalse, v1.ReasonWorkerUnreachable, "connection refused")
	want := []string{"w1@127.0.0.1:7071/" + reg.ManagerToken}
	if got := reach.called(); !slices.Equal(got, want) {
		t.Errorf("calls back %v, want %v", got, want)
	}

	// Each report calls again while it cannot be reached.
	e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Heartbeat: true})
	mustReachable(t, "second report, unreachable", e.mustGetWorker(t, "w1"), v1.WorkerNotReady, v1.ConditionFalse, v1.ReasonWorkerUnreachable, "connection refused")
	// The manager token refused is not reached either; an answer of
	// 5xx is the worker's own trouble, past its certificate and the
	// token: reached.
	reach.set(fmt.Errorf("the worker refused the request: %w", &v1.Status{Code: http.StatusUnauthorized, Message: "bad token"}))
	e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Heartbeat: true})
	mustReachable(t, "token refused", e.mustGetWorker(t, "w1"), v1.WorkerNotReady, v1.ConditionFalse, v1.ReasonWorkerUnreachable, "bad token")
	reach.set(fmt.Errorf("the worker failed: %w", &v1.Status{Code: http.StatusInternalServerError, Message: "sampling stats"}))
	e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Heartbeat: true})
	mustReachable(t, "reached", e.mustGetWorker(t, "w1"), v1.WorkerReady, v1.ConditionTrue, v1.ReasonReached, "127.0.0.1:7071")
	if got := len(reach.called()); got != 4 {
		t.Errorf("%d calls back after four reports, want 4", got)
	}
	reach.set(nil)

	// Reached: later reports, and a registration at the same address (a
	// restarted worker), call nothing.
	e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Heartbeat: true})
	again := e.mustRegisterWith(t, reg.Token, registerRequest("w1"), http.StatusOK)
	mustReachable(t, "registered again where it was", &again.Worker, v1.WorkerReady, v1.ConditionTrue, v1.ReasonReached, "127.0.0.1:7071")
	e.mustHeartbeat(t, "w1", again.Token, v1.StatusReport{Heartbeat: true})
	if got := len(reach.called()); got != 4 {
		t.Errorf("%d calls back, want still 4: a worker reached at its address is not called again", got)
	}

	// A registration at another address is checked anew.
	moved := registerRequest("w1")
	moved.Address = "127.0.0.1:7072"
	third := e.mustRegisterWith(t, again.Token, moved, http.StatusOK)
	mustReachable(t, "registered at a new address", &third.Worker, v1.WorkerNotReady, v1.ConditionUnknown, v1.ReasonNotCheckedYet, "127.0.0.1:7072")
	e.mustHeartbeat(t, "w1", third.Token, v1.StatusReport{Heartbeat: true})
	mustReachable(t, "reached at the new address", e.mustGetWorker(t, "w1"), v1.WorkerReady, v1.ConditionTrue, v1.ReasonReached, "127.0.0.1:7072")
	if got := reach.called(); len(got) != 5 || got[4] != "w1@127.0.0.1:7072/"+third.ManagerToken {
		t.Errorf("calls back %v, want a fifth at the new address with the new manager token", got)
	}

	// The transitions are events: unreachable once, reached twice.
	e.mustWorkerEvents(t, "w1", map[string]int32{v1.ReasonWorkerUnreachable: 1, v1.ReasonReached: 2})

	// No worker reports the manager's own condition.
	bad := v1.StatusReport{Conditions: []v1.Condition{{Type: v1.WorkerReachable, Status: v1.ConditionTrue}}}
	st := mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/workers/w1/status", third.Token, bad), http.StatusUnprocessableEntity, v1.StatusReasonInvalid)
	if len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "conditions[0].type" {
		t.Errorf("refusal causes %+v, want conditions[0].type named", st.Details.Causes)
	}
}

// TestWorkers_ReachableKeepsReportedConditions: the worker's own
// conditions and the manager's Reachable are recorded side by side; a
// report of the worker's conditions does not drop the manager's, and a
// condition the worker reports False makes it NotReady though reached.
func TestWorkers_ReachableKeepsReportedConditions(t *testing.T) {
	e := mustAPIEnvWith(t, apiserver.Options{Reach: &fakeReach{}})
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	up := []v1.Condition{{Type: v1.WorkerRuntimeReady, Status: v1.ConditionTrue, Reason: "RuntimeReachable"}}
	down := []v1.Condition{{Type: v1.WorkerRuntimeReady, Status: v1.ConditionFalse, Reason: v1.ReasonRuntimeUnreachable}}
	for i, step := range []struct {
		conds []v1.Condition
		want  v1.WorkerPhase
	}{
		{up, v1.WorkerReady},
		{down, v1.WorkerNotReady},
		{up, v1.WorkerReady},
	} {
		e.mustHeartbeat(t, "w1", reg.Token, v1.StatusReport{Conditions: step.conds})
		w := e.mustGetWorker(t, "w1")
		runtime, reached := v1.FindCondition(w.Status.Conditions, v1.WorkerRuntimeReady), v1.FindCondition(w.Status.Conditions, v1.WorkerReachable)
		if w.Status.Phase != step.want || len(w.Status.Conditions) != 2 || runtime == nil || runtime.Status != step.conds[0].Status ||
			reached == nil || reached.Status != v1.ConditionTrue {
			t.Errorf("step %d: phase %s, conditions %+v; want %s with RuntimeReady %s and Reachable True", i, w.Status.Phase, w.Status.Conditions, step.want, step.conds[0].Status)
		}
	}
}
