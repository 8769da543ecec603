package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/metrics/metricstest"
	"github.com/minkube/minkube/reconcile"
)

// TestHTTP counts requests under their route pattern, leaves watches and
// followed logs out of the latency histogram, and streams through the
// recorder.
func TestHTTP(t *testing.T) {
	reg := metrics.NewRegistry()
	m := metrics.NewHTTP(reg, "test")
	r := httprouter.New()
	r.GET("/things/:name", metrics.Route("/things/:name", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		if p.ByName("name") == "missing" {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		if err := http.NewResponseController(w).Flush(); err != nil {
			t.Errorf("Flush through the instrumentation: %v", err)
		}
		_, _ = io.WriteString(w, "ok")
	}))
	r.POST("/things/:name/exec", metrics.Route("/things/:name/exec", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("Hijack through the instrumentation: %v", err)
			return
		}
		defer conn.Close()
		_, _ = rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n")
		_ = rw.Flush()
	}))
	// A route behind a middleware that wraps the response writer (with
	// Unwrap, as http.ResponseController expects) is named all the same.
	r.GET("/wrapped/:name", metrics.Route("/wrapped/:name", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		_, _ = io.WriteString(w, "ok")
	}))
	wrapping := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if strings.HasPrefix(req.URL.Path, "/wrapped/") {
			w = unwrapper{w}
		}
		r.ServeHTTP(w, req)
	})
	srv := httptest.NewServer(m.Handler(wrapping))
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/things/a/exec", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "test")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, path := range []string{"/things/a", "/things/b", "/things/missing", "/things/a?watch=true", "/nowhere", "/wrapped/a"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		// Read to the end: the handler flushes its headers early, and the
		// request is counted when it returns, before the body's end is
		// sent, not before its headers are.
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	body, err := testutil.CollectAndFormat(reg, expfmt.TypeTextPlain, "minkube_test_requests_total", "minkube_test_request_duration_seconds")
	if err != nil {
		t.Fatal(err)
	}
	got, err := metricstest.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"minkube_test_requests_total", map[string]string{"route": "/things/:name", "method": "GET", "code": "200"}, 3},
		{"minkube_test_requests_total", map[string]string{"route": "/things/:name", "method": "GET", "code": "404"}, 1},
		{"minkube_test_requests_total", map[string]string{"route": metrics.UnmatchedRoute, "code": "404"}, 1},
		{"minkube_test_request_duration_seconds", map[string]string{"route": "/things/:name"}, 3}, // the watch is not timed
		{"minkube_test_requests_total", map[string]string{"route": "/things/:name/exec", "method": "POST", "code": "101"}, 1},
		{"minkube_test_request_duration_seconds", map[string]string{"route": "/things/:name/exec"}, 0}, // nor the upgraded connection
		{"minkube_test_requests_total", map[string]string{"route": "/wrapped/:name", "method": "GET", "code": "200"}, 1},
	} {
		if v, _ := metricstest.Value(got, tc.name, tc.labels); v != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, v, tc.want)
		}
	}
}

// unwrapper is a middleware's response writer: it wraps another and
// says so through Unwrap.
type unwrapper struct{ http.ResponseWriter }

func (u unwrapper) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// TestControllers checks the reconcile families of one controller, and
// that a nil Controllers gives no metrics.
func TestControllers(t *testing.T) {
	if m := (*metrics.Controllers)(nil).For("x"); m != nil {
		t.Fatalf("nil Controllers gave %v, want a nil reconcile.Metrics", m)
	}
	reg := prometheus.NewPedanticRegistry()
	m := metrics.NewControllers(reg).For("demo")
	m.Added()
	m.Depth(4)
	m.Retried()
	m.Reconciled(30*time.Millisecond, reconcile.OutcomeError)
	want := `
# HELP minkube_reconcile_queue_depth Keys ready to be reconciled, by controller.
# TYPE minkube_reconcile_queue_depth gauge
minkube_reconcile_queue_depth{controller="demo"} 4
# HELP minkube_reconcile_retries_total Keys requeued with backoff after an error, by controller.
# TYPE minkube_reconcile_retries_total counter
minkube_reconcile_retries_total{controller="demo"} 1
# HELP minkube_reconcile_total Reconcile passes, by controller and outcome (success, requeue, error, terminal).
# TYPE minkube_reconcile_total counter
minkube_reconcile_total{controller="demo",outcome="error"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "minkube_reconcile_queue_depth", "minkube_reconcile_retries_total", "minkube_reconcile_total"); err != nil {
		t.Fatal(err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Fatalf("lint: %v %v", problems, err)
	}
}

// BenchmarkHTTP_Handler: what the instrumentation adds to a request that
// a route answers (the router's own work included).
func BenchmarkHTTP_Handler(b *testing.B) {
	m := metrics.NewHTTP(metrics.NewRegistry(), "bench")
	r := httprouter.New()
	r.PUT("/api/v1/workers/:name/status", metrics.Route("/api/v1/workers/:name/status", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		w.WriteHeader(http.StatusOK)
	}))
	h := m.Handler(r)
	req := httptest.NewRequest(http.MethodPut, "/api/v1/workers/w1/status", nil)
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
	if w.Code != http.StatusOK {
		b.Fatalf("status %d", w.Code)
	}
}
