package apiserver_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// countingWriter is a ResponseWriter that keeps nothing of the body: the
// benchmarks count what the handler costs, not a recorder's buffer.
type countingWriter struct {
	header http.Header
	code   int
	n      int
}

func (w *countingWriter) Header() http.Header { return w.header }

func (w *countingWriter) WriteHeader(code int) { w.code = code }

func (w *countingWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// BenchmarkList_10000Tasks measures the manager's answer to GET
// /api/v1/tasks with 10,000 tasks in the caches: its time, the bytes it
// allocates (B/op, the figure that moves the manager's RSS when lists
// repeat) and the size of the answer (bytes/list).
//
//	go test -run '^$' -bench 'BenchmarkList_10000Tasks' -benchtime 20x -count 1 ./apiserver/
func BenchmarkList_10000Tasks(b *testing.B) {
	h := benchAPI10000(b)
	for _, bc := range []struct{ name, path string }{
		{"all", "/api/v1/tasks"},
		{"selector", "/api/v1/tasks?labelSelector=app%3Dbench"},
		{"worker", "/api/v1/tasks?worker=w007"},
		{"table", "/api/v1/tasks?as=table"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var size int
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, bc.path, nil)
				req.Header.Set("Authorization", "Bearer "+apiAdminToken)
				w := &countingWriter{header: http.Header{}}
				h.ServeHTTP(w, req)
				if w.code != http.StatusOK {
					b.Fatalf("GET %s = %d", bc.path, w.code)
				}
				size = w.n
			}
			b.ReportMetric(float64(size), "bytes/list")
		})
	}
}
