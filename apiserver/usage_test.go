package apiserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
)

// fakeWorkerStats answers for worker "w1" and fails for any other.
type fakeWorkerStats struct {
	usage []v1.TaskUsage
}

func (f *fakeWorkerStats) check(w *v1.Worker, cred *v1.Credential) error {
	if w.Metadata.Name != "w1" {
		return errors.New("connection refused")
	}
	if cred.ManagerToken != "manager-token-w1" {
		return errors.New("wrong credential")
	}
	return nil
}

func (f *fakeWorkerStats) Stats(_ context.Context, w *v1.Worker, cred *v1.Credential) (*v1.WorkerStats, error) {
	if err := f.check(w, cred); err != nil {
		return nil, err
	}
	return &v1.WorkerStats{CPUPercent: 40, CPUs: 2, MemoryTotal: 4 << 30, MemoryAvailable: 1 << 30, DiskFree: 9, DiskTotal: 10, Tasks: 2}, nil
}

func (f *fakeWorkerStats) TaskUsage(_ context.Context, w *v1.Worker, cred *v1.Credential) (*v1.TaskUsageList, error) {
	if err := f.check(w, cred); err != nil {
		return nil, err
	}
	return &v1.TaskUsageList{Items: f.usage}, nil
}

func (f *fakeWorkerStats) Metrics(_ context.Context, w *v1.Worker, cred *v1.Credential) (io.ReadCloser, error) {
	if err := f.check(w, cred); err != nil {
		return nil, err
	}
	return io.NopCloser(strings.NewReader("minkube_worker_cpus 2\n")), nil
}

// TestServer_Usage checks mkctl top's two lists: a task's readings are
// kept only for its current incarnation on its own worker, a task filter
// applies, and a worker that cannot be asked is named.
func TestServer_Usage(t *testing.T) {
	fake := &fakeWorkerStats{}
	e := mustAPIEnvWith(t, apiserver.Options{Stats: fake, MetricsToken: apiMetricsToken})
	e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	web := e.mustStoredTask(t, "web", map[string]string{"app": "web"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	db := e.mustStoredTask(t, "db", map[string]string{"app": "db"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	e.mustStoredTask(t, "far", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w2"})
	half := 0.5
	fake.usage = []v1.TaskUsage{
		{Name: "web", UID: web.Metadata.UID, CPU: &half, Memory: 100},
		{Name: "db", UID: db.Metadata.UID, Memory: 200},
		{Name: "web", UID: "an-old-incarnation", Memory: 300},
	}

	var list v1.TaskUsageList
	mustDecode(t, e.do(t, http.MethodGet, "/api/v1/usage/tasks", apiAdminToken, nil), &list)
	if len(list.Items) != 2 || list.Items[0].Name != "db" || list.Items[1].Name != "web" || *list.Items[1].CPU != 0.5 || list.Items[1].Worker != "w1" {
		t.Errorf("usage items = %+v, want db and web from w1", list.Items)
	}
	if len(list.Errors) != 1 || !strings.Contains(list.Errors[0], "worker w2: connection refused") {
		t.Errorf("errors = %v, want worker w2 named", list.Errors)
	}
	list = v1.TaskUsageList{}
	mustDecode(t, e.do(t, http.MethodGet, "/api/v1/usage/tasks?labelSelector=app%3Dweb", apiAdminToken, nil), &list)
	if len(list.Items) != 1 || list.Items[0].Name != "web" || len(list.Errors) != 0 {
		t.Errorf("usage of app=web = %+v (errors %v), want web only and no worker asked in vain", list.Items, list.Errors)
	}

	var workers v1.WorkerUsageList
	mustDecode(t, e.do(t, http.MethodGet, "/api/v1/usage/workers", apiAdminToken, nil), &workers)
	if len(workers.Items) != 2 || workers.Items[0].Name != "w1" || workers.Items[0].MemoryUsed != 3<<30 || workers.Items[0].CPUPercent != 40 ||
		workers.Items[1].Name != "w2" || workers.Items[1].Error == "" {
		t.Errorf("worker usage = %+v, want w1's figures and w2's error", workers.Items)
	}

	r := e.do(t, http.MethodGet, "/api/v1/workers/w1/metrics", apiMetricsToken, nil)
	if r.Code != http.StatusOK || string(r.Body) != "minkube_worker_cpus 2\n" {
		t.Errorf("worker metrics through the manager = %d %q", r.Code, r.Body)
	}
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/workers/w2/metrics", apiMetricsToken, nil), http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable)
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/workers/nope/metrics", apiMetricsToken, nil), http.StatusNotFound, v1.StatusReasonNotFound)
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/usage/tasks", apiMetricsToken, nil), http.StatusForbidden, v1.StatusReasonForbidden)
}
