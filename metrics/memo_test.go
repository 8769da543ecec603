package metrics_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/minkube/minkube/metrics"
)

// TestMemo: a Memo hands out the vector's own child for each label
// value, resolving it once, from goroutines at once.
func TestMemo(t *testing.T) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "calls_total"}, []string{"op"})
	resolved := map[string]int{}
	var mu sync.Mutex
	m := metrics.NewMemo(func(op string) prometheus.Counter {
		mu.Lock()
		resolved[op]++
		mu.Unlock()
		return vec.WithLabelValues(op)
	})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				m.Get(fmt.Sprintf("op%d", (g+i)%4)).Inc()
			}
		})
	}
	wg.Wait()
	for i := range 4 {
		op := fmt.Sprintf("op%d", i)
		if got := testutil.ToFloat64(vec.WithLabelValues(op)); got != 2000 {
			t.Errorf("calls_total{op=%q} = %v, want 2000", op, got)
		}
		// Goroutines that miss at once may each resolve the child; the
		// vector gives them the same one, and the memo keeps one.
		if resolved[op] < 1 || resolved[op] > 8 {
			t.Errorf("child of %q resolved %d times, want 1 to 8", op, resolved[op])
		}
	}
	before := resolved["op0"]
	m.Get("op0").Inc()
	if resolved["op0"] != before {
		t.Errorf("a child already held was resolved again")
	}
}
