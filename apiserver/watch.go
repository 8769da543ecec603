package apiserver

import (
	"net/http"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// watchTasks streams changes as JSON lines. Without a resourceVersion the
// stream starts with an ADDED event for every task, as Kubernetes does; with
// one, it starts with the changes after it, or answers 410 Gone when those
// are no longer kept. The stream ends when the client goes or the store
// cannot keep up with it; the client then lists and watches again.
//
// A filtered watch (?worker=, a label selector) follows each task in and
// out of the filter, as a Kubernetes watch does: a task that starts to
// match comes as ADDED, one that stops matching as DELETED (with its new
// state), so a watcher learns that a task left its worker or its
// selector.
func (s *Server) watchTasks(w http.ResponseWriter, r *http.Request, f taskFilter) error {
	rev, err := store.ParseResourceVersion(r.URL.Query().Get("resourceVersion"))
	if err != nil {
		return errBadRequest("resourceVersion: %v", err)
	}
	var initial []*v1.Task
	var seen *matchSet
	switch {
	case rev == 0:
		initial, rev = s.st.TaskCache.ListRevision()
		seen = newMatchSet(f, initial, rev)
	case !f.everything():
		// What matched at rev is what the client holds: known from the
		// cache for the tasks unchanged since, unknown for the others.
		if err := s.st.TaskCache.WaitForRevision(r.Context(), rev); err != nil {
			return nil // the client went away
		}
		tasks, _ := s.st.TaskCache.ListRevision()
		seen = newMatchSet(f, tasks, rev)
	}
	// The cache's watch hands out the objects it decoded once for every
	// watcher; from a revision it no longer keeps the changes of, the
	// store's watch replays its own history.
	ch, ok := s.st.TaskCache.Watch(r.Context(), rev)
	if !ok {
		if ch, err = s.st.Tasks.Watch(r.Context(), rev); err != nil {
			return err
		}
	}
	s.metrics.watches.Inc()
	defer s.metrics.watches.Dec()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	for _, t := range initial {
		if f.match(t) {
			if enc.Encode(v1.WatchEvent[*v1.Task]{Type: v1.Added, Object: t}) != nil {
				return nil
			}
		}
	}
	if rc.Flush() != nil {
		return nil
	}
	// Events are flushed once no more are ready, and whatever the last
	// ready one was: an event the filter passes, followed by one it drops,
	// must not wait in the buffer for the next change.
	pending := false
	for {
		select {
		case <-r.Context().Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			typ := ev.Type
			if seen != nil {
				typ = seen.next(ev.Type, ev.Object)
			}
			if typ != "" {
				if enc.Encode(v1.WatchEvent[*v1.Task]{Type: typ, Object: ev.Object}) != nil {
					return nil
				}
				pending = true
			}
			if pending && len(ch) == 0 {
				if rc.Flush() != nil {
					return nil
				}
				pending = false
			}
		}
	}
}

// matchSet follows which tasks a filtered watcher holds, to turn a store
// change into the event the watcher must see.
type matchSet struct {
	f taskFilter
	// held maps a task name to true when the watcher holds it, false when
	// it may or may not (the task changed after the revision the watch
	// resumed from). A name absent is not held.
	held map[string]bool
}

// newMatchSet starts from the tasks read at or after rev: those unchanged
// since rev are held when they match; the others are unknown.
func newMatchSet(f taskFilter, tasks []*v1.Task, rev int64) *matchSet {
	if f.everything() {
		return nil
	}
	m := &matchSet{f: f, held: map[string]bool{}}
	for _, t := range tasks {
		tr, _ := store.ParseResourceVersion(t.Metadata.ResourceVersion)
		switch {
		case tr > rev:
			m.held[t.Metadata.Name] = false
		case f.match(t):
			m.held[t.Metadata.Name] = true
		}
	}
	return m
}

// next returns the event the watcher must see for a store change of type
// typ to t, "" for none, and notes what the watcher then holds.
func (m *matchSet) next(typ v1.WatchEventType, t *v1.Task) v1.WatchEventType {
	name := t.Metadata.Name
	held, known := m.held[name]
	maybe := known && !held
	if typ == v1.Added {
		held, maybe = false, false // it did not exist before this change
	}
	matches := typ != v1.Deleted && m.f.match(t)
	if matches {
		m.held[name] = true
	} else {
		delete(m.held, name)
	}
	switch {
	case typ == v1.Deleted && (held || maybe || m.f.match(t)):
		return v1.Deleted
	case typ == v1.Deleted:
		return ""
	case matches && (held || maybe):
		return v1.Modified
	case matches:
		return v1.Added
	case held || maybe:
		return v1.Deleted // it left the filter
	}
	return ""
}
