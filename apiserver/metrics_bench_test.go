package apiserver_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// BenchmarkMetrics_10000Tasks measures one scrape of the manager's
// /metrics with 10,000 tasks (in every phase) on 100 workers, after the
// API has served requests on every route family: the time to answer and
// the bytes sent (bytes/scrape).
func BenchmarkMetrics_10000Tasks(b *testing.B) {
	h := benchAPI10000(b)
	for _, path := range []string{"/api/v1/tasks/task-00001", "/api/v1/tasks/missing", "/api/v1/workers", "/api/v1/events", "/version"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+apiAdminToken)
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	scrape := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+apiAdminToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET /metrics = %d", rec.Code)
		}
		return rec
	}
	size := scrape().Body.Len()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		scrape()
	}
	b.ReportMetric(float64(size), "bytes/scrape")
}

// benchAPI10000 returns the handler of an API over 10,000 tasks (in every
// phase) on 100 workers, in the caches.
func benchAPI10000(b *testing.B) http.Handler {
	b.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(b, logger)
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	statetest.Run(b, st)
	ctx := b.Context()
	now := time.Now().UTC()
	for i := range 100 {
		if _, err := st.Workers.Create(ctx, &v1.Worker{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
			Metadata: v1.ObjectMeta{Name: fmt.Sprintf("w%03d", i), UID: store.NewUID(), CreationTimestamp: &now},
			Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
			Status:   v1.WorkerStatus{Phase: v1.WorkerReady},
		}); err != nil {
			b.Fatal(err)
		}
	}
	phases := []v1.Phase{v1.PhasePending, v1.PhaseScheduled, v1.PhaseRunning, v1.PhaseRunning, v1.PhaseRunning, v1.PhaseSucceeded, v1.PhaseFailed}
	var last *v1.Task
	for i := range 10000 {
		task := store.NewTask(&v1.Task{
			Metadata: v1.ObjectMeta{Name: fmt.Sprintf("task-%05d", i), Labels: map[string]string{"app": "bench"}},
			Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", RestartPolicy: v1.RestartAlways},
		}, now)
		task.Status = v1.TaskStatus{Phase: phases[i%len(phases)], Worker: fmt.Sprintf("w%03d", i%100)}
		if last, err = st.Tasks.Create(ctx, task); err != nil {
			b.Fatal(err)
		}
	}
	rev, _ := store.ParseResourceVersion(last.Metadata.ResourceVersion)
	if err := st.TaskCache.WaitForRevision(ctx, rev); err != nil {
		b.Fatal(err)
	}
	return srv.Handler()
}
