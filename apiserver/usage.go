package apiserver

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// WorkerStats reads what workers observe of themselves, for mkctl top and
// for Prometheus through the manager. It is defined here, by its user, and
// implemented over the worker API.
type WorkerStats interface {
	// Stats samples the worker host's load.
	Stats(ctx context.Context, worker *v1.Worker, cred *v1.Credential) (*v1.WorkerStats, error)
	// TaskUsage returns the last readings of the worker's running task
	// containers.
	TaskUsage(ctx context.Context, worker *v1.Worker, cred *v1.Credential) (*v1.TaskUsageList, error)
	// Metrics opens the worker's /metrics in the Prometheus text format.
	Metrics(ctx context.Context, worker *v1.Worker, cred *v1.Credential) (io.ReadCloser, error)
}

// Bounds of the questions a usage request asks the workers.
const (
	usageTimeout     = 5 * time.Second
	usageConcurrency = 16
)

// askWorkers calls ask for every worker that is Ready and has
// credentials, at most usageConcurrency at once and each within
// usageTimeout. It returns, by worker name, the error of those that could
// not be asked; ask records its own results.
func (s *Server) askWorkers(ctx context.Context, workers []*v1.Worker, ask func(ctx context.Context, w *v1.Worker, cred *v1.Credential) error) map[string]error {
	var mu sync.Mutex
	failed := map[string]error{}
	fail := func(name string, err error) {
		mu.Lock()
		failed[name] = err
		mu.Unlock()
	}
	sem := make(chan struct{}, usageConcurrency)
	var wg sync.WaitGroup
	for _, w := range workers {
		name := w.Metadata.Name
		cred, ok := s.st.CredentialCache.Get(name)
		switch {
		case s.stats == nil:
			fail(name, fmt.Errorf("this manager cannot reach workers"))
			continue
		case w.Status.Phase != v1.WorkerReady:
			fail(name, fmt.Errorf("worker %s is %s", name, orUnknown(string(w.Status.Phase))))
			continue
		case !ok:
			fail(name, fmt.Errorf("worker %s has no credentials", name))
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			actx, cancel := context.WithTimeout(ctx, usageTimeout)
			defer cancel()
			if err := ask(actx, w, cred); err != nil {
				fail(name, err)
			}
		})
	}
	wg.Wait()
	return failed
}

func orUnknown(s string) string {
	if s == "" {
		return "Unknown"
	}
	return s
}

// taskUsage serves GET /api/v1/usage/tasks?labelSelector=&worker=: the
// CPU and memory of the running tasks, asked of their workers now. Only
// the readings of a task's current incarnation on its current worker are
// kept; a worker that cannot be asked is named in errors.
func (s *Server) taskUsage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	f, err := parseTaskFilter(r)
	if err != nil {
		return err
	}
	want := map[string]*v1.Task{} // by uid
	onWorker := map[string]bool{}
	for _, t := range s.st.TaskCache.List() {
		if t.Status.Worker != "" && f.match(t) {
			want[t.Metadata.UID] = t
			onWorker[t.Status.Worker] = true
		}
	}
	var workers []*v1.Worker
	for _, wk := range s.st.WorkerCache.List() {
		if onWorker[wk.Metadata.Name] {
			workers = append(workers, wk)
		}
	}
	list := v1.TaskUsageList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskUsageList}, Items: []v1.TaskUsage{}}
	var mu sync.Mutex
	failed := s.askWorkers(r.Context(), workers, func(ctx context.Context, wk *v1.Worker, cred *v1.Credential) error {
		got, err := s.stats.TaskUsage(ctx, wk, cred)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		for _, u := range got.Items {
			if t, ok := want[u.UID]; ok && t.Status.Worker == wk.Metadata.Name {
				u.Name, u.Worker = t.Metadata.Name, wk.Metadata.Name
				list.Items = append(list.Items, u)
			}
		}
		return nil
	})
	for name, err := range failed {
		list.Errors = append(list.Errors, fmt.Sprintf("worker %s: %v", name, err))
	}
	slices.Sort(list.Errors)
	slices.SortFunc(list.Items, func(a, b v1.TaskUsage) int { return strings.Compare(a.Name, b.Name) })
	writeJSON(w, http.StatusOK, list)
	return nil
}

// workerUsage serves GET /api/v1/usage/workers: each worker's CPU, memory
// and disk, sampled now; a worker that cannot be asked says why.
func (s *Server) workerUsage(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	workers := s.st.WorkerCache.List()
	items := make([]v1.WorkerUsage, len(workers))
	index := map[string]int{}
	for i, wk := range workers {
		items[i].Name = wk.Metadata.Name
		index[wk.Metadata.Name] = i
	}
	failed := s.askWorkers(r.Context(), workers, func(ctx context.Context, wk *v1.Worker, cred *v1.Credential) error {
		st, err := s.stats.Stats(ctx, wk, cred)
		if err != nil {
			return err
		}
		items[index[wk.Metadata.Name]] = v1.WorkerUsage{
			Name: wk.Metadata.Name, CPUPercent: st.CPUPercent, CPUs: st.CPUs,
			MemoryUsed: max(st.MemoryTotal-st.MemoryAvailable, 0), MemoryTotal: st.MemoryTotal,
			DiskFree: st.DiskFree, DiskTotal: st.DiskTotal, Tasks: st.Tasks, Timestamp: s.now().UTC(),
		}
		return nil
	})
	for name, err := range failed {
		items[index[name]].Error = err.Error()
	}
	writeJSON(w, http.StatusOK, v1.WorkerUsageList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorkerUsageList}, Items: items})
	return nil
}

// workerMetrics serves GET /api/v1/workers/:name/metrics: the worker's
// /metrics, fetched with the manager's credential, so that Prometheus
// scrapes every worker through the manager with the metrics token.
func (s *Server) workerMetrics(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	wk, ok := s.st.WorkerCache.Get(name)
	if !ok {
		return errNotFound("worker", name)
	}
	if s.stats == nil {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "this manager cannot reach workers")
	}
	cred, ok := s.st.CredentialCache.Get(name)
	if !ok {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "worker %q cannot be reached: it has no credentials", name)
	}
	ctx, cancel := context.WithTimeout(r.Context(), usageTimeout)
	defer cancel()
	rc, err := s.stats.Metrics(ctx, wk, cred)
	if err != nil {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "metrics of worker %q: %v", name, err)
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, rc)
	return nil
}
