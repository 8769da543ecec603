package apiserver

import (
	"encoding/json"
	"net/http"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// watchTasks streams changes as JSON lines. Without a resourceVersion the
// stream starts with an ADDED event for every task, as Kubernetes does; with
// one, it starts with the changes after it, or answers 410 Gone when those
// are no longer kept. The stream ends when the client goes or the store
// cannot keep up with it; the client then lists and watches again.
func (s *Server) watchTasks(w http.ResponseWriter, r *http.Request, f taskFilter) error {
	rev, err := store.ParseResourceVersion(r.URL.Query().Get("resourceVersion"))
	if err != nil {
		return errBadRequest("resourceVersion: %v", err)
	}
	var initial []*v1.Task
	if rev == 0 {
		initial, rev = s.st.TaskCache.ListRevision()
	}
	ch, err := s.st.Tasks.Watch(r.Context(), rev)
	if err != nil {
		return err
	}
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
	for {
		select {
		case <-r.Context().Done():
			return nil
		case ev, ok := <-ch:
			if !ok {
				return nil
			}
			if !f.match(ev.Object) {
				continue
			}
			if enc.Encode(v1.WatchEvent[*v1.Task]{Type: ev.Type, Object: ev.Object}) != nil {
				return nil
			}
			if len(ch) == 0 && rc.Flush() != nil {
				return nil
			}
		}
	}
}
