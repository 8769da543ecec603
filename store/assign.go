package store

import (
	"context"
	"errors"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Unassign takes the task (the incarnation with uid) off its worker so the
// scheduler places it again: no worker, phase Pending, with reason and
// message saying why. Only a task still on worker is changed; one that is
// terminal, being deleted or already moved is left alone, and so is a
// missing one (nil error). The worker that held it is told to stop its
// copy on its next heartbeat, once the task is placed elsewhere. It
// reports whether it changed the task.
func (st *State) Unassign(ctx context.Context, name, uid, worker, reason, message string, now time.Time) (bool, error) {
	moved := false
	_, err := st.Tasks.GuaranteedUpdate(ctx, name, func(t *v1.Task) (*v1.Task, error) {
		moved = false
		if t.Metadata.UID != uid || t.Status.Worker != worker || t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
			return nil, nil
		}
		s := &t.Status
		s.Worker, s.HostIP, s.ContainerID, s.Ports = "", "", "", nil
		s.Phase, s.Reason, s.Message = v1.PhasePending, reason, message
		s.StartedAt, s.FinishedAt = nil, nil
		s.ObservedGeneration = 0
		s.Conditions = v1.SetCondition(s.Conditions, v1.Condition{Type: v1.TaskScheduled, Status: v1.ConditionFalse, Reason: reason, Message: message}, now)
		s.Conditions = v1.SetCondition(s.Conditions, v1.Condition{Type: v1.TaskReady, Status: v1.ConditionFalse, Reason: reason}, now)
		moved = true
		return t, nil
	})
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	return moved && err == nil, err
}
