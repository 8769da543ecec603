package apiserver_test

import (
	"net/http"
	"testing"

	dto "github.com/prometheus/client_model/go"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/metrics/metricstest"
)

const apiMetricsToken = "test-metrics-token"

// mustScrape reads /metrics with token and parses it with Prometheus'
// own text parser.
func (e *apiEnv) mustScrape(t *testing.T, token string) map[string]*dto.MetricFamily {
	t.Helper()
	r := e.do(t, http.MethodGet, "/metrics", token, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %s", r.Code, r.Body)
	}
	families, err := metricstest.Parse(r.Body)
	if err != nil {
		t.Fatalf("%v\n%s", err, r.Body)
	}
	return families
}

func TestServer_MetricsAuth(t *testing.T) {
	e := mustAPIEnvWith(t, apiserver.Options{MetricsToken: apiMetricsToken})
	worker := e.mustAPIWorker(t, "w1")
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"no token", "/metrics", "", http.StatusUnauthorized},
		{"a wrong token", "/metrics", "nope", http.StatusUnauthorized},
		{"the join token", "/metrics", apiJoinToken, http.StatusForbidden},
		{"a worker's token", "/metrics", worker, http.StatusForbidden},
		{"the metrics token", "/metrics", apiMetricsToken, http.StatusOK},
		{"the admin token", "/metrics", apiAdminToken, http.StatusOK},
		{"the metrics token reads no task", "/api/v1/tasks", apiMetricsToken, http.StatusForbidden},
		{"the metrics token has no pprof", "/debug/pprof/", apiMetricsToken, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := e.do(t, http.MethodGet, tc.path, tc.token, nil); r.Code != tc.want {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, r.Code, r.Body, tc.want)
			}
		})
	}
}

func TestServer_Pprof(t *testing.T) {
	off := mustAPIEnv(t)
	if r := off.do(t, http.MethodGet, "/debug/pprof/", apiAdminToken, nil); r.Code != http.StatusNotFound {
		t.Fatalf("GET /debug/pprof/ without Pprof = %d, want 404", r.Code)
	}
	on := mustAPIEnvWith(t, apiserver.Options{Pprof: true, MetricsToken: apiMetricsToken})
	for path, want := range map[string]int{
		"/debug/pprof/":                  http.StatusOK,
		"/debug/pprof/goroutine?debug=1": http.StatusOK,
		"/debug/pprof/cmdline":           http.StatusOK,
		"/debug/pprof/heap":              http.StatusOK,
		"/debug/pprof/no-such-profile":   http.StatusNotFound,
	} {
		if r := on.do(t, http.MethodGet, path, apiAdminToken, nil); r.Code != want {
			t.Errorf("GET %s = %d, want %d", path, r.Code, want)
		}
	}
	if r := on.do(t, http.MethodGet, "/debug/pprof/", apiMetricsToken, nil); r.Code != http.StatusForbidden {
		t.Errorf("GET /debug/pprof/ with the metrics token = %d, want 403", r.Code)
	}
}

// TestServer_Metrics checks the families the API serves: requests by
// route pattern (never a path with a name in it), tasks and workers by
// phase, open watches; and Go's and the process's collectors.
func TestServer_Metrics(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustAPIWorker(t, "w1")
	e.mustStoredTask(t, "a", nil, v1.TaskStatus{Phase: v1.PhaseRunning})
	e.mustStoredTask(t, "b", nil, v1.TaskStatus{Phase: v1.PhaseRunning})
	e.mustStoredTask(t, "c", nil, v1.TaskStatus{})
	for _, name := range []string{"a", "b", "missing"} {
		e.do(t, http.MethodGet, "/api/v1/tasks/"+name, apiAdminToken, nil)
	}
	e.do(t, http.MethodGet, "/no/such/route", apiAdminToken, nil)

	families := e.mustScrape(t, apiAdminToken)
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"minkube_apiserver_requests_total", map[string]string{"route": "/api/v1/tasks/:name", "method": "GET", "code": "200"}, 2},
		{"minkube_apiserver_requests_total", map[string]string{"route": "/api/v1/tasks/:name", "method": "GET", "code": "404"}, 1},
		{"minkube_apiserver_requests_total", map[string]string{"route": "other", "method": "GET", "code": "404"}, 1},
		{"minkube_apiserver_request_duration_seconds", map[string]string{"route": "/api/v1/tasks/:name", "method": "GET"}, 3},
		{"minkube_tasks", map[string]string{"phase": "Running"}, 2},
		{"minkube_tasks", map[string]string{"phase": "Pending"}, 1},
		{"minkube_tasks", map[string]string{"phase": "Failed"}, 0},
		{"minkube_workers", map[string]string{"phase": "Ready"}, 1},
		{"minkube_workers_unschedulable", nil, 0},
		{"minkube_apiserver_watch_streams", nil, 0},
	} {
		got, ok := metricstest.Value(families, tc.name, tc.labels)
		if !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := families[name]; !ok {
			t.Errorf("no %s: the Go and process collectors are missing", name)
		}
	}
	for _, m := range families["minkube_apiserver_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && (l.GetValue() == "/api/v1/tasks/a" || l.GetValue() == "/no/such/route") {
				t.Errorf("route label %q: a path, not a pattern", l.GetValue())
			}
		}
	}
}
