package workerd_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// TestFailover_followsTheManagersList checks that the list of managers a
// reply carries reaches OnManagers, and a changed list again, so the
// worker's clients fail over between the managers that are up now.
func TestFailover_followsTheManagersList(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var got [][]string
	mgr := &fakeManager{managers: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}}
	h := mustStartWorker(t, runtimetest.New(testImage), mgr, func(o *workerd.Options) {
		o.OnManagers = func(urls []string) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, urls)
		}
	})
	h.mustRegistered(t, 1)
	seen := func(want ...string) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) > 0 && slices.Equal(got[len(got)-1], want)
		}
	}
	mustEventually(t, "the registration's list", seen("http://127.0.0.1:1", "http://127.0.0.1:2"))
	mgr.mu.Lock()
	mgr.managers = []string{"http://127.0.0.1:2", "http://127.0.0.1:3"}
	mgr.mu.Unlock()
	mustEventually(t, "a heartbeat's new list", seen("http://127.0.0.1:2", "http://127.0.0.1:3"))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Errorf("OnManagers called %d times (%q); want once per change", len(got), got)
	}
}
