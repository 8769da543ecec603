package apiserver

import (
	"maps"
	"net/http"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// registeredLabels returns a worker's labels after a registration that
// gives labels: a three-way merge, as kubectl apply makes one. The keys
// whose value the worker's --labels changed since its last registration
// (set, changed or dropped) take the new value; every other label is kept
// as it is, so one set or removed with mkctl label survives a worker
// restart. A worker registering for the first time gets exactly the
// labels it gives.
func registeredLabels(wk *v1.Worker, labels map[string]string) map[string]string {
	before := wk.Status.RegisteredLabels
	out := maps.Clone(wk.Metadata.Labels)
	if out == nil {
		out = map[string]string{}
	}
	for k, v := range labels {
		if old, ok := before[k]; !ok || old != v {
			out[k] = v
		}
	}
	for k := range before {
		if _, ok := labels[k]; !ok {
			delete(out, k)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// patchWorker applies a merge patch of a worker's labels (PATCH
// /api/v1/workers/:name): each key set to a value is set, each set to
// null removed. The scheduler places waiting Tasks by the new labels at
// once; Tasks already running stay where they are, as in Kubernetes.
func (s *Server) patchWorker(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	var patch v1.LabelPatch
	if err := decodeJSON(r, &patch); err != nil {
		return err
	}
	set := map[string]string{}
	for k, v := range patch.Metadata.Labels {
		if v != nil {
			set[k] = *v
		} else if ferrs := v1.ValidateLabels(map[string]string{k: ""}, "metadata.labels"); len(ferrs) > 0 {
			return errInvalid("Worker", name, ferrs)
		}
	}
	if ferrs := v1.ValidateLabels(set, "metadata.labels"); len(ferrs) > 0 {
		return errInvalid("Worker", name, ferrs)
	}
	if _, ok := s.st.WorkerCache.Get(name); !ok {
		return errNotFound("worker", name)
	}
	out, err := s.st.Workers.GuaranteedUpdate(r.Context(), name, func(wk *v1.Worker) (*v1.Worker, error) {
		labels := maps.Clone(wk.Metadata.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		for k, v := range patch.Metadata.Labels {
			if v == nil {
				delete(labels, k)
			} else {
				labels[k] = *v
			}
		}
		if maps.Equal(labels, wk.Metadata.Labels) || len(labels) == 0 && len(wk.Metadata.Labels) == 0 {
			return nil, nil
		}
		if len(labels) == 0 {
			labels = nil
		}
		wk.Metadata.Labels = labels
		return wk, nil
	})
	if err != nil {
		return err
	}
	_ = s.st.WorkerCache.WaitFor(r.Context(), out)
	writeJSON(w, http.StatusOK, out)
	return nil
}
