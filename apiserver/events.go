package apiserver

import (
	"context"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// listEvents serves GET /api/v1/events?task=NAME, oldest first, from the
// store.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	task := r.URL.Query().Get("task")
	kind := ""
	if task != "" {
		kind = v1.KindTask
	}
	items, rev, err := s.st.ListEvents(r.Context(), kind, task)
	if err != nil {
		return err
	}
	writeList(w, v1.KindEventList, rev, items, nil)
	return nil
}

// statusEvent is an event a status change calls for.
type statusEvent struct{ typ, reason, message string }

// transitionEvents returns the events that the change of a task's status
// from old to cur, reported by a worker, calls for.
func transitionEvents(old, cur *v1.TaskStatus) []statusEvent {
	var out []statusEvent
	if cur.Reason != old.Reason || (cur.Message != old.Message && cur.Reason != v1.ReasonCrashLoopBackOff) {
		switch cur.Reason {
		case v1.ReasonErrImagePull, v1.ReasonImagePullBackOff, v1.ReasonCrashLoopBackOff,
			v1.ReasonStartError, v1.ReasonUnhealthy, v1.ReasonInsufficientDisk:
			out = append(out, statusEvent{v1.EventWarning, cur.Reason, cur.Message})
		}
	}
	if cur.RestartCount > old.RestartCount {
		msg := fmt.Sprintf("restarted the container (restart %d)", cur.RestartCount)
		if cur.ExitCode != nil {
			msg += fmt.Sprintf("; it had exited with code %d", *cur.ExitCode)
		}
		out = append(out, statusEvent{v1.EventNormal, "Restarted", msg})
	}
	if cur.ContainerID != "" && cur.ContainerID != old.ContainerID && cur.Phase == v1.PhaseRunning {
		out = append(out, statusEvent{v1.EventNormal, "Started", fmt.Sprintf("started container %s on worker %s", shortID(cur.ContainerID), cur.Worker)})
	}
	if cur.Phase != old.Phase {
		switch cur.Phase {
		case v1.PhaseSucceeded:
			out = append(out, statusEvent{v1.EventNormal, v1.ReasonCompleted, cur.Message})
		case v1.PhaseFailed:
			out = append(out, statusEvent{v1.EventWarning, "Failed", cur.Message})
		}
	}
	return out
}

// recordReported records the events a worker reported for t.
func (s *Server) recordReported(ctx context.Context, t *v1.Task, events []v1.ReportedEvent) {
	for _, e := range events {
		typ := v1.EventNormal
		if e.Type == v1.EventWarning {
			typ = v1.EventWarning
		}
		s.events.Eventf(ctx, store.TaskRef(t), typ, e.Reason, e.Message)
	}
}

// recordTransitions records the events of a status change.
func (s *Server) recordTransitions(ctx context.Context, t *v1.Task, old *v1.TaskStatus) {
	for _, e := range transitionEvents(old, &t.Status) {
		s.events.Eventf(ctx, store.TaskRef(t), e.typ, e.reason, e.message)
	}
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
