package metrics

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestMemo: a memo hands out the vector's own child for each label
// value, resolving it once, from goroutines at once.
func TestMemo(t *testing.T) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total"}, []string{"op"})
	resolved := map[string]int{}
	var mu sync.Mutex
	m := newMemo(func(op string) prometheus.Counter {
		mu.Lock()
		resolved[op]++
		mu.Unlock()
		return vec.WithLabelValues(op)
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.get(fmt.Sprintf("op%d", (g+i)%4)).Inc()
			}
		})
	}
	wg.Wait()
	for i := range 4 {
		op := fmt.Sprintf("op%d", i)
		if got := testutil.ToFloat64(vec.WithLabelValues(op)); got != 2000 {
			t.Errorf("calls_total{op=%q} = %v, want 2000", op, got)
		}
		if resolved[op] != 1 {
			t.Errorf("child of %q resolved %d times, want once", op, resolved[op])
		}
	}
	before := resolved["op0"]
	m.get("op0").Inc()
	if resolved["op0"] != before {
		t.Errorf("a child already held was resolved again")
	}
}

// BenchmarkMemo_Get: a child looked up from every CPU at once, as the
// workers' and the API's goroutines do.
func BenchmarkMemo_Get(b *testing.B) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total"}, []string{"op"})
	m := newMemo(func(op string) prometheus.Counter { return vec.WithLabelValues(op) })
	ops := []string{"create", "start", "inspect", "stop"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.get(ops[i%len(ops)])
			i++
		}
	})
}
