package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics/metricstest"
)

// mustScrape reads a /metrics endpoint through get and parses it with
// Prometheus' own text parser.
func mustScrape(t *testing.T, what string, get func() (int, []byte, error)) map[string]*dto.MetricFamily {
	t.Helper()
	code, body, err := get()
	if err != nil || code != http.StatusOK {
		t.Fatalf("%s: %d %v %.300s", what, code, err, body)
	}
	families, err := metricstest.Parse(body)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return families
}

// sampleOf is metricstest.Value, -1 when there is no such series.
func sampleOf(families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	if v, ok := metricstest.Value(families, name, labels); ok {
		return v
	}
	return -1
}

// TestMetrics scrapes the manager's /metrics and a worker's (through the
// manager, and directly with the metrics token), parses both with
// Prometheus' text parser, applies tasks and watches the startup
// histograms move; then mkctl top shows the tasks' CPU and memory, read
// from Docker by the worker.
func TestMetrics(t *testing.T) {
	c := newCluster(t)
	metricsFile := filepath.Join(filepath.Dir(c.joinFile), "metrics-token")
	worker := c.addWorker("w1", "--usage-interval", "500ms", "--metrics-token-file", metricsFile)
	token := c.metricsToken()
	manager := func() (int, []byte, error) { return c.get("/metrics", token) }

	before := mustScrape(t, "the manager's /metrics", manager)
	scheduled := map[string]string{"phase": "Scheduled"}
	running := map[string]string{"phase": "Running"}
	base := [2]float64{max(sampleOf(before, "minkube_task_startup_duration_seconds", scheduled), 0),
		max(sampleOf(before, "minkube_task_startup_duration_seconds", running), 0)}

	var docs []string
	names := []string{"metrics-a", "metrics-b", "metrics-c"}
	for _, name := range names {
		docs = append(docs, fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: %s, labels: {app: metrics}}\nspec:\n  image: %s\n  args: [log, --every, 50ms]\n", name, testImage))
	}
	c.mkctl("apply", "-f", c.writeFile("metrics.yaml", strings.Join(docs, "---\n")))
	for _, name := range names {
		c.waitTask(name, 60*time.Second, "Running", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning })
	}

	var after map[string]*dto.MetricFamily
	waitFor(t, 20*time.Second, "the startup histograms to count three more tasks", func() bool {
		after = mustScrape(t, "the manager's /metrics", manager)
		return sampleOf(after, "minkube_task_startup_duration_seconds", scheduled) >= base[0]+3 &&
			sampleOf(after, "minkube_task_startup_duration_seconds", running) >= base[1]+3
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		min    float64
	}{
		{"minkube_tasks", map[string]string{"phase": "Running"}, 3},
		{"minkube_workers", map[string]string{"phase": "Ready"}, 1},
		// mkctl apply sends its three Tasks in one request.
		{"minkube_apiserver_requests_total", map[string]string{"route": "/api/v1/apply", "method": "POST", "code": "200"}, 1},
		{"minkube_reconcile_total", map[string]string{"controller": "scheduler"}, 3},
		{"minkube_store_operations_total", map[string]string{"operation": "create", "result": "ok"}, 3},
		{"process_resident_memory_bytes", nil, 1},
	} {
		if got := sampleOf(after, tc.name, tc.labels); got < tc.min {
			t.Errorf("manager: %s%v = %v, want at least %v", tc.name, tc.labels, got, tc.min)
		}
	}

	viaManager := mustScrape(t, "the worker's /metrics through the manager", func() (int, []byte, error) {
		return c.get("/api/v1/workers/"+worker+"/metrics", token)
	})
	var w v1.Worker
	if err := c.getJSON(&w, "get", "worker", worker); err != nil {
		t.Fatal(err)
	}
	direct := mustScrape(t, "the worker's /metrics", func() (int, []byte, error) {
		// The worker's certificate names the worker, as the manager
		// verifies it.
		cfg := c.tlsConfig()
		cfg.ServerName = worker
		req, _ := http.NewRequest(http.MethodGet, "https://"+w.Spec.Address+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}).Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		_, err = buf.ReadFrom(resp.Body)
		return resp.StatusCode, buf.Bytes(), err
	})
	for what, families := range map[string]map[string]*dto.MetricFamily{"through the manager": viaManager, "direct": direct} {
		for _, tc := range []struct {
			name   string
			labels map[string]string
			min    float64
		}{
			{"minkube_worker_container_starts_total", nil, 3},
			{"minkube_worker_runtime_operations_total", map[string]string{"operation": "create"}, 3},
			{"minkube_worker_image_pull_duration_seconds", map[string]string{"result": "ok"}, 1},
			{"minkube_worker_cpus", nil, 1},
			{"minkube_reconcile_duration_seconds", map[string]string{"controller": "workerd"}, 3},
			{"go_goroutines", nil, 1},
		} {
			if got := sampleOf(families, tc.name, tc.labels); got < tc.min {
				t.Errorf("worker (%s): %s%v = %v, want at least %v", what, tc.name, tc.labels, got, tc.min)
			}
		}
	}

	// mkctl top: every task with a CPU read twice and some memory.
	var out string
	waitFor(t, 30*time.Second, "mkctl top tasks to show the three tasks' CPU", func() bool {
		out = c.mkctl("top", "tasks", "-l", "app=metrics", "--sort-by", "memory")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || strings.Contains(out, "<unknown>") {
			return false
		}
		for _, name := range names {
			if !strings.Contains(out, name+" ") {
				return false
			}
		}
		return true
	})
	for _, line := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != worker || !strings.HasSuffix(f[2], "m") || !strings.HasSuffix(f[3], "Mi") {
			t.Errorf("top tasks row %q: want NAME %s CPUm MEMORYMi", line, worker)
		}
	}
	out = c.mkctl("top", "workers")
	if !strings.Contains(out, "CPU%") || !strings.Contains(out, worker) || strings.Contains(out, "<unknown>") {
		t.Errorf("top workers:\n%s", out)
	}
}
