package workerd_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/minkube/minkube/metrics/metricstest"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

const metricsToken = "worker-metrics-token"

// mustScrape reads the worker's /metrics and parses it with Prometheus'
// text parser.
func (h *harness) mustScrape(t *testing.T, token string) map[string]*dto.MetricFamily {
	t.Helper()
	code, body := h.do(t, http.MethodGet, "/metrics", token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", code, body)
	}
	families, err := metricstest.Parse(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return families
}

// value is metricstest.Value, -1 when there is no such series.
func value(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	if v, ok := metricstest.Value(families, name, labels); ok {
		return v
	}
	return -1
}

func TestServer_MetricsAuth(t *testing.T) {
	t.Parallel()
	h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, func(o *workerd.Options) { o.MetricsToken = metricsToken })
	token := h.mustRegistered(t, 1)
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/metrics", "", http.StatusUnauthorized},
		{"a wrong token", "/metrics", "nope", http.StatusUnauthorized},
		{"the manager's token", "/metrics", token, http.StatusOK},
		{"the metrics token", "/metrics", metricsToken, http.StatusOK},
		{"the metrics token lists no task", "/api/v1/tasks", metricsToken, http.StatusUnauthorized},
		{"no pprof unless asked", "/debug/pprof/", token, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := h.do(t, http.MethodGet, tc.path, tc.token, nil); code != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, code, body, tc.want)
			}
		})
	}
}

func TestServer_Pprof(t *testing.T) {
	t.Parallel()
	h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, func(o *workerd.Options) { o.Pprof = true })
	token := h.mustRegistered(t, 1)
	if code, body := h.do(t, http.MethodGet, "/debug/pprof/goroutine?debug=1", token, nil); code != http.StatusOK || !bytes.Contains(body, []byte("goroutine")) {
		t.Fatalf("GET /debug/pprof/goroutine = %d %.200s", code, body)
	}
	if code, _ := h.do(t, http.MethodGet, "/debug/pprof/", "", nil); code != http.StatusUnauthorized {
		t.Fatalf("GET /debug/pprof/ without a token = %d, want 401", code)
	}
}

// TestWorker_Metrics runs a task that crashes once and checks what the
// worker's families say of it: a start, a restart by reason, a pull, the
// runtime calls, the reconcile passes and the API's requests by route;
// then the task's CPU and memory as the runtime reports them, also served
// at GET /api/v1/stats/tasks with CPU in cores once read twice.
func TestWorker_Metrics(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, func(o *workerd.Options) { o.UsageInterval = 20 * time.Millisecond })
	token := h.mustRegistered(t, 1)
	task := newTask("web", "0123456789abcdef")
	h.mustAssign(t, token, task, http.StatusCreated)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)
	if err := fake.Exit(c.ID, 3); err != nil {
		t.Fatal(err)
	}
	c = h.mustRunning(t, token, task.Metadata.UID, 1)
	fake.SetUsage(c.ID, 1.5, 64<<20)

	var list v1.TaskUsageList
	mustEventually(t, "the task's usage read twice at 1.5 CPU seconds", func() bool {
		code, body := h.do(t, http.MethodGet, "/api/v1/stats/tasks", token, nil)
		if code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Items) != 1 {
			return false
		}
		u := list.Items[0]
		return u.CPUSeconds == 1.5 && u.CPU != nil && *u.CPU == 0 && u.Window.Duration > 0
	})
	if u := list.Items[0]; u.Name != "web" || u.UID != task.Metadata.UID || u.Worker != workerName || u.Memory != 64<<20 || list.Kind != v1.KindTaskUsageList {
		t.Errorf("usage = %+v (kind %q); want task web on %s with 64Mi", u, list.Kind, workerName)
	}

	families := h.mustScrape(t, token)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"minkube_worker_container_starts_total", nil, 2},
		{"minkube_worker_container_restarts_total", map[string]string{"reason": "Error"}, 1},
		{"minkube_worker_image_pull_duration_seconds", map[string]string{"result": "ok"}, 1},
		{"minkube_worker_runtime_operations_total", map[string]string{"operation": "create"}, 1},
		{"minkube_worker_runtime_operations_total", map[string]string{"operation": "stats"}, 1},
		{"minkube_worker_runtime_operation_duration_seconds", map[string]string{"operation": "start"}, 2},
		{"minkube_reconcile_duration_seconds", map[string]string{"controller": "workerd"}, 1},
		{"minkube_worker_api_requests_total", map[string]string{"route": "/api/v1/tasks", "method": "POST", "code": "201"}, 1},
		{"minkube_worker_task_cpu_seconds_total", map[string]string{"task": "web"}, 1.5},
		{"minkube_worker_task_memory_working_set_bytes", map[string]string{"task": "web"}, 64 << 20},
		{"go_goroutines", nil, 1},
	} {
		if got := value(families, tc.name, tc.labels); got < tc.min {
			t.Errorf("%s%v = %v, want at least %v", tc.name, tc.labels, got, tc.min)
		}
	}

	// A task stopped keeps no figures: they are never carried over.
	if code, body := h.do(t, http.MethodDelete, "/api/v1/tasks/"+task.Metadata.UID, token, nil); code != http.StatusOK {
		t.Fatalf("DELETE = %d %s", code, body)
	}
	mustEventually(t, "no usage for a task that does not run", func() bool {
		code, body := h.do(t, http.MethodGet, "/api/v1/stats/tasks", token, nil)
		return code == http.StatusOK && json.Unmarshal(body, &list) == nil && len(list.Items) == 0
	})
	if got := value(h.mustScrape(t, token), "minkube_worker_container_stops_total", map[string]string{"reason": "Deleted"}); got != 1 {
		t.Errorf("container stops for a deleted task = %v, want 1", got)
	}
}
