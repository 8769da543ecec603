package reconcile

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// recordingMetrics counts what a Controller tells its Metrics.
type recordingMetrics struct {
	mu       sync.Mutex
	added    int
	retried  int
	depths   []int
	outcomes []string
}

func (m *recordingMetrics) Added()   { m.mu.Lock(); m.added++; m.mu.Unlock() }
func (m *recordingMetrics) Retried() { m.mu.Lock(); m.retried++; m.mu.Unlock() }
func (m *recordingMetrics) Depth(n int) {
	m.mu.Lock()
	m.depths = append(m.depths, n)
	m.mu.Unlock()
}

func (m *recordingMetrics) Reconciled(_ time.Duration, outcome string) {
	m.mu.Lock()
	m.outcomes = append(m.outcomes, outcome)
	m.mu.Unlock()
}

func (m *recordingMetrics) snapshot() recordingMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	return recordingMetrics{added: m.added, retried: m.retried,
		depths: append([]int(nil), m.depths...), outcomes: append([]string(nil), m.outcomes...)}
}

// TestController_Metrics checks that every outcome of a Reconcile, every
// retry and the queue's depth reach Options.Metrics.
func TestController_Metrics(t *testing.T) {
	m := &recordingMetrics{}
	done := make(chan string, 10)
	calls := map[string]int{}
	var mu sync.Mutex
	r := Func(func(_ context.Context, req Request) (Result, error) {
		mu.Lock()
		calls[req.Key]++
		n := calls[req.Key]
		mu.Unlock()
		defer func() { done <- req.Key }()
		switch {
		case req.Key == "flaky" && n == 1:
			return Result{}, errors.New("first try fails")
		case req.Key == "poll" && n == 1:
			return Result{RequeueAfter: time.Hour}, nil
		case req.Key == "bad":
			return Result{}, TerminalError(errors.New("cannot be fixed"))
		}
		return Result{}, nil
	})
	c := New(r, Options{Name: "test", BaseDelay: time.Millisecond, Metrics: m})
	c.Enqueue("flaky")
	c.Enqueue("flaky") // de-duplicated: not an add
	c.Enqueue("poll")
	c.Enqueue("bad")
	if got := m.snapshot(); got.added != 3 || len(got.depths) == 0 || got.depths[len(got.depths)-1] != 3 {
		t.Fatalf("before Start: added %d, depths %v; want 3 adds and a depth of 3", got.added, got.depths)
	}
	mustStart(t, c)
	for range 4 { // flaky twice, poll, bad
		mustReceive(t, done, "a reconcile")
	}
	waitUntil(t, func() bool { return len(m.snapshot().outcomes) == 4 })
	got := m.snapshot()
	want := map[string]int{OutcomeError: 1, OutcomeSuccess: 1, OutcomeRequeue: 1, OutcomeTerminal: 1}
	for _, o := range got.outcomes {
		want[o]--
	}
	for o, n := range want {
		if n != 0 {
			t.Errorf("outcomes %v: %s off by %d", got.outcomes, o, -n)
		}
	}
	if got.retried != 1 {
		t.Errorf("retried %d, want 1 (flaky's first error)", got.retried)
	}
	if got.added != 4 {
		t.Errorf("added %d, want 4 (three keys and flaky's retry)", got.added)
	}
	if got.depths[len(got.depths)-1] != 0 {
		t.Errorf("depth %d after every key was handed out, want 0", got.depths[len(got.depths)-1])
	}
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(failsafe)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
