package apiserver

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// WorkerReach calls a worker back. It is defined here, by its user, and
// implemented over the worker API.
type WorkerReach interface {
	// Reach makes a call to the worker's API at its address as a push
	// makes it: over a connection to that address, verifying the
	// worker's certificate, with the manager token of cred. It returns
	// nil once the worker has answered, and otherwise the error that
	// says why it did not; an answer with an error status wraps a
	// *v1.Status, and one of 5xx counts as reached.
	Reach(ctx context.Context, w *v1.Worker, cred *v1.Credential) error
}

// reachTimeout bounds a call back to a worker. A report waits for it
// before it is read, outside the report gate (beats.go), so that a
// worker that cannot be reached holds up no other worker's report.
const reachTimeout = 5 * time.Second

// checkReach calls the worker named back when the manager has not reached
// it yet, and returns the Reachable condition the call gives it; nil when
// there is nothing to check: no Reach, no such worker or credential, or
// a worker already reached. A worker whose registration gave it a new
// address is checked on its first report; one that could not be reached
// is checked again on each report, so its heartbeats pace the calls.
//
// A worker is Ready only once reached: the manager pushes tasks to the
// address a worker gave, and a worker that heartbeats but cannot be
// called (an --advertise address that does not route back, a firewall on
// its port) would otherwise be shown Ready while every push to it fails.
func (s *Server) checkReach(ctx context.Context, name string) *v1.Condition {
	if s.reach == nil {
		return nil
	}
	wk, ok := s.st.WorkerCache.Get(name)
	if !ok || reached(wk) {
		return nil
	}
	cred, ok := s.st.CredentialCache.Get(name)
	if !ok || cred.Revoked() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	err := s.reach.Reach(ctx, wk, cred)
	var st *v1.Status
	if errors.As(err, &st) && st.Code >= 500 {
		// The worker's own trouble (its stats could not be read): it
		// answered, past its certificate and the manager token.
		err = nil
	}
	if err == nil {
		return &v1.Condition{
			Type: v1.WorkerReachable, Status: v1.ConditionTrue, Reason: v1.ReasonReached,
			Message: fmt.Sprintf("the manager called the worker's API at %s and was answered", wk.Spec.Address),
		}
	}
	cond := &v1.Condition{Type: v1.WorkerReachable, Status: v1.ConditionFalse, Reason: v1.ReasonWorkerUnreachable, Message: err.Error()}
	if old := v1.FindCondition(wk.Status.Conditions, v1.WorkerReachable); old == nil || old.Status != cond.Status || old.Message != cond.Message {
		s.log.Warn("the manager cannot call a worker's API at the address it registered with; the worker stays NotReady and is given no task until it can",
			"worker", name, "address", wk.Spec.Address, "err", err)
	}
	return cond
}

// reached reports whether a manager has reached wk at its address, or
// checks nothing (a worker with no Reachable condition).
func reached(wk *v1.Worker) bool {
	c := v1.FindCondition(wk.Status.Conditions, v1.WorkerReachable)
	return c == nil || c.Status == v1.ConditionTrue
}

// notCheckedYet reports whether wk registered at its address and no
// manager has called it back yet.
func notCheckedYet(wk *v1.Worker) bool {
	c := v1.FindCondition(wk.Status.Conditions, v1.WorkerReachable)
	return c != nil && c.Status == v1.ConditionUnknown
}

// registeredReach is the Reachable condition a registration at address
// sets: nil keeps the one the worker holds, as at that same address (a
// restarted worker is where it was) or when the manager checks nothing;
// a new address, or a new worker, has not been checked yet.
func registeredReach(wk *v1.Worker, address string, checks bool) *v1.Condition {
	held := v1.FindCondition(wk.Status.Conditions, v1.WorkerReachable)
	if !checks || (held != nil && wk.Spec.Address == address) {
		return nil
	}
	return &v1.Condition{
		Type: v1.WorkerReachable, Status: v1.ConditionUnknown, Reason: v1.ReasonNotCheckedYet,
		Message: fmt.Sprintf("the worker registered at %s; the manager calls it back on its first report", address),
	}
}
