package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// Reasons of the events placement control records.
const (
	// ReasonCordoned is recorded about a worker that cordon or drain made
	// unschedulable.
	ReasonCordoned = "Cordoned"
	// ReasonUncordoned is recorded about a worker that uncordon made
	// schedulable again.
	ReasonUncordoned = "Uncordoned"
	// ReasonDrained is the reason of a task that drain moved off its
	// worker: its status reason while it waits for another worker, and the
	// reason of the event recorded about it.
	ReasonDrained = "Drained"
)

// cordonWorker serves POST /api/v1/workers/:name/cordon: the worker keeps
// its tasks but gets no new ones.
func (s *Server) cordonWorker(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	wk, err := s.setUnschedulable(r.Context(), p.ByName("name"), true)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

// uncordonWorker serves POST /api/v1/workers/:name/uncordon: the worker
// can be given tasks again.
func (s *Server) uncordonWorker(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	wk, err := s.setUnschedulable(r.Context(), p.ByName("name"), false)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

// drainWorker serves POST /api/v1/workers/:name/drain: it cordons the
// worker, then takes every task the worker holds that is neither finished
// nor being deleted off it, so that the scheduler places it on another
// worker; the drained worker is told to stop its copy on its next
// heartbeat once the task runs elsewhere. It answers with the worker as
// soon as the tasks are unassigned, without waiting for them to be placed:
// a client that wants to wait watches the tasks. Draining again is safe:
// it moves only what is still on the worker.
func (s *Server) drainWorker(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	ctx := r.Context()
	name := p.ByName("name")
	wk, err := s.setUnschedulable(ctx, name, true)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	msg := fmt.Sprintf("moved off worker %s by drain", name)
	moved := 0
	for _, t := range s.st.TaskCache.ByIndex(store.IndexWorker, name) {
		if t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
			continue
		}
		ok, err := s.st.Unassign(ctx, t.Metadata.Name, t.Metadata.UID, name, ReasonDrained, msg, now)
		if err != nil {
			return fmt.Errorf("drain worker %s: move task %q: %w", name, t.Metadata.Name, err)
		}
		if ok {
			moved++
			s.events.Eventf(ctx, store.TaskRef(t), v1.EventNormal, ReasonDrained, msg)
		}
	}
	if moved > 0 {
		s.log.Info("worker drained", "worker", name, "tasks", moved)
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

// setUnschedulable sets or clears the worker's spec.unschedulable and
// returns the worker as stored. An actual change is recorded as an event
// about the worker; setting what is already set writes nothing.
func (s *Server) setUnschedulable(ctx context.Context, name string, unschedulable bool) (*v1.Worker, error) {
	changed := false
	out, err := s.st.Workers.GuaranteedUpdate(ctx, name, func(wk *v1.Worker) (*v1.Worker, error) {
		changed = false
		if wk.Spec.Unschedulable == unschedulable {
			return nil, nil
		}
		wk.Spec.Unschedulable = unschedulable
		changed = true
		return wk, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound("worker", name)
	}
	if err != nil {
		return nil, err
	}
	if changed {
		ref := v1.ObjectReference{Kind: v1.KindWorker, Name: name}
		if unschedulable {
			s.events.Eventf(ctx, ref, v1.EventNormal, ReasonCordoned, fmt.Sprintf("worker %s marked unschedulable: it gets no new tasks", name))
		} else {
			s.events.Eventf(ctx, ref, v1.EventNormal, ReasonUncordoned, fmt.Sprintf("worker %s marked schedulable", name))
		}
		s.log.Info("worker scheduling changed", "worker", name, "unschedulable", unschedulable)
	}
	return out, nil
}
