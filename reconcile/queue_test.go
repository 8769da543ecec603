package reconcile

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// failsafe bounds every wait in these tests; it only turns a hang into a
// failure and asserts nothing about speed.
const failsafe = 10 * time.Second

// mustGet returns the next key of q, failing the test if Get reports
// shutdown or no key comes.
func mustGet(t *testing.T, q *Queue) string {
	t.Helper()
	type got struct {
		key      string
		shutdown bool
	}
	ch := make(chan got, 1)
	go func() {
		key, shutdown := q.Get()
		ch <- got{key, shutdown}
	}()
	select {
	case g := <-ch:
		if g.shutdown {
			t.Fatal("Get: queue shut down, want a key")
		}
		return g.key
	case <-time.After(failsafe):
		// Unblock the Get goroutine so it does not outlive the test.
		q.ShutDown()
		t.Fatal("Get: no key came")
		return ""
	}
}

// mustEventually waits, yielding, until cond holds.
func mustEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(failsafe)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never happened: %s", what)
		}
		runtime.Gosched()
	}
}

// newTestQueue returns a Queue on a fake clock, shut down at cleanup.
func newTestQueue(t *testing.T, opts QueueOptions) (*Queue, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	opts.Clock = clock
	q := NewQueue(opts)
	t.Cleanup(q.ShutDown)
	return q, clock
}

// waitingAt returns the deadline until which q holds key back.
func waitingAt(q *Queue, key string) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e, ok := q.waitingByKey[key]
	if !ok {
		return time.Time{}, false
	}
	return e.readyAt, true
}

func TestQueue_Dedup(t *testing.T) {
	tests := []struct {
		name string
		add  func(q *Queue)
		want []string
	}{
		{
			name: "same key twice",
			add:  func(q *Queue) { q.Add("a"); q.Add("a") },
			want: []string{"a"},
		},
		{
			name: "first add sets the order",
			add:  func(q *Queue) { q.Add("a"); q.Add("b"); q.Add("a"); q.Add("c"); q.Add("b") },
			want: []string{"a", "b", "c"},
		},
		{
			name: "AddAfter zero is Add",
			add:  func(q *Queue) { q.AddAfter("a", 0); q.Add("a"); q.AddAfter("a", -time.Second) },
			want: []string{"a"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := newTestQueue(t, QueueOptions{})
			tt.add(q)
			if got := q.Len(); got != len(tt.want) {
				t.Fatalf("Len = %d, want %d", got, len(tt.want))
			}
			for _, want := range tt.want {
				key := mustGet(t, q)
				if key != want {
					t.Fatalf("Get = %q, want %q", key, want)
				}
				q.Done(key)
			}
			if got := q.Len(); got != 0 {
				t.Fatalf("Len after draining = %d, want 0", got)
			}
		})
	}
}

func TestQueue_DirtyRequeue(t *testing.T) {
	q, _ := newTestQueue(t, QueueOptions{})
	q.Add("a")
	if key := mustGet(t, q); key != "a" {
		t.Fatalf("Get = %q, want a", key)
	}

	// Added while processing: marked dirty, not handed out.
	q.Add("a")
	q.Add("a")
	if got := q.Len(); got != 0 {
		t.Fatalf("Len while a is processing = %d, want 0", got)
	}
	q.Add("b")
	if key := mustGet(t, q); key != "b" {
		t.Fatalf("Get = %q, want b (a is still processing)", key)
	}
	q.Done("b")

	// Done queues the dirty key again, once.
	q.Done("a")
	if got := q.Len(); got != 1 {
		t.Fatalf("Len after Done(a) = %d, want 1", got)
	}
	if key := mustGet(t, q); key != "a" {
		t.Fatalf("Get = %q, want a", key)
	}
	q.Done("a")
	if got := q.Len(); got != 0 {
		t.Fatalf("Len after the second Done(a) = %d, want 0", got)
	}
}

func TestQueue_NoConcurrentProcessing(t *testing.T) {
	const (
		getters = 8
		keys    = 3
		rounds  = 300
	)
	q := NewQueue(QueueOptions{})
	t.Cleanup(q.ShutDown)

	var inFlight [keys]int32
	violations := make(chan string, getters)
	done := make(chan struct{})
	for range getters {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				key, shutdown := q.Get()
				if shutdown {
					return
				}
				i := int(key[0] - 'a')
				q.mu.Lock() // inFlight is guarded by q.mu for the race detector
				inFlight[i]++
				n := inFlight[i]
				q.mu.Unlock()
				if n != 1 {
					select {
					case violations <- key:
					default:
					}
				}
				runtime.Gosched()
				q.mu.Lock()
				inFlight[i]--
				q.mu.Unlock()
				q.Done(key)
			}
		}()
	}
	for r := range rounds {
		q.Add(string(rune('a' + r%keys)))
		runtime.Gosched()
	}
	q.ShutDown()
	for range getters {
		<-done
	}
	select {
	case key := <-violations:
		t.Fatalf("key %q was handed to two goroutines at once", key)
	default:
	}
}

func TestBackoff(t *testing.T) {
	tests := []struct {
		base, max time.Duration
		n         int
		want      time.Duration
	}{
		{5 * time.Millisecond, 5 * time.Minute, 0, 5 * time.Millisecond},
		{5 * time.Millisecond, 5 * time.Minute, 1, 10 * time.Millisecond},
		{5 * time.Millisecond, 5 * time.Minute, 10, 5120 * time.Millisecond},
		{5 * time.Millisecond, 5 * time.Minute, 15, 163840 * time.Millisecond},
		{5 * time.Millisecond, 5 * time.Minute, 16, 5 * time.Minute},
		{5 * time.Millisecond, 5 * time.Minute, 63, 5 * time.Minute},
		{5 * time.Millisecond, 5 * time.Minute, 1000, 5 * time.Minute},
		{time.Second, time.Second, 3, time.Second},
		{time.Minute, time.Second, 0, time.Second},
		{1, 1<<62 + 1, 62, 1 << 62},
		{1, 1<<62 + 1, 63, 1<<62 + 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v/%d", tt.base, tt.max, tt.n), func(t *testing.T) {
			if got := backoff(tt.base, tt.max, tt.n); got != tt.want {
				t.Fatalf("backoff(%v, %v, %d) = %v, want %v", tt.base, tt.max, tt.n, got, tt.want)
			}
		})
	}
}

func TestQueue_AddRateLimited(t *testing.T) {
	tests := []struct {
		name      string
		base, max time.Duration
		want      []time.Duration // delay of each successive failure
	}{
		{
			name: "defaults",
			want: []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		},
		{
			name: "capped",
			base: time.Second, max: 5 * time.Second,
			want: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second},
		},
		{
			name: "base above max",
			base: time.Minute, max: time.Second,
			want: []time.Duration{time.Second, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, clock := newTestQueue(t, QueueOptions{BaseDelay: tt.base, MaxDelay: tt.max})
			fail := func(i int, want time.Duration) {
				t.Helper()
				q.AddRateLimited("k")
				at, ok := waitingAt(q, "k")
				if !ok {
					t.Fatalf("failure %d: k is not held back", i)
				}
				if got := at.Sub(clock.Now()); got != want {
					t.Fatalf("failure %d: delay = %v, want %v", i, got, want)
				}
				if got := q.Len(); got != 0 {
					t.Fatalf("failure %d: Len = %d before the delay, want 0", i, got)
				}
				clock.Step(want)
				if key := mustGet(t, q); key != "k" {
					t.Fatalf("failure %d: Get = %q, want k", i, key)
				}
				q.Done("k")
			}
			for i, want := range tt.want {
				fail(i, want)
				if got := q.NumRequeues("k"); got != i+1 {
					t.Fatalf("NumRequeues after failure %d = %d, want %d", i, got, i+1)
				}
			}

			q.Forget("k")
			if got := q.NumRequeues("k"); got != 0 {
				t.Fatalf("NumRequeues after Forget = %d, want 0", got)
			}
			fail(0, tt.want[0])
		})
	}
}

func TestQueue_AddAfterOrder(t *testing.T) {
	q, clock := newTestQueue(t, QueueOptions{})
	t0 := clock.Now()
	q.AddAfter("c", 3*time.Second)
	q.AddAfter("a", time.Second)
	q.AddAfter("b", 2*time.Second)
	q.AddAfter("a", 5*time.Second) // later: the earlier deadline stands
	q.AddAfter("d", 10*time.Second)
	q.AddAfter("d", 4*time.Second) // earlier: the deadline moves

	for key, want := range map[string]time.Duration{"a": time.Second, "b": 2 * time.Second, "c": 3 * time.Second, "d": 4 * time.Second} {
		at, ok := waitingAt(q, key)
		if !ok || !at.Equal(t0.Add(want)) {
			t.Fatalf("%s held back until %v (held %v), want %v", key, at, ok, t0.Add(want))
		}
	}
	if got := q.Len(); got != 0 {
		t.Fatalf("Len before any deadline = %d, want 0", got)
	}
	mustWaitForTimer(t, clock, t0.Add(time.Second))

	clock.Step(3500 * time.Millisecond)
	for _, want := range []string{"a", "b", "c"} {
		if key := mustGet(t, q); key != want {
			t.Fatalf("Get = %q, want %q", key, want)
		}
		q.Done(want)
	}
	if got := q.Len(); got != 0 {
		t.Fatalf("Len before d's deadline = %d, want 0", got)
	}
	if _, ok := waitingAt(q, "d"); !ok {
		t.Fatal("d is no longer held back before its deadline")
	}

	clock.Step(500 * time.Millisecond)
	if key := mustGet(t, q); key != "d" {
		t.Fatalf("Get = %q, want d", key)
	}
	q.Done("d")
	if _, ok := waitingAt(q, "a"); ok {
		t.Fatal("a is still held back after it was released")
	}
}

func TestQueue_AddAfterRealClock(t *testing.T) {
	q := NewQueue(QueueOptions{})
	t.Cleanup(q.ShutDown)
	q.AddAfter("later", 2*time.Millisecond)
	q.AddAfter("sooner", time.Millisecond)
	if key := mustGet(t, q); key != "sooner" && key != "later" {
		t.Fatalf("Get = %q, want sooner or later", key)
	}
}

func TestQueue_ShutDown(t *testing.T) {
	t.Run("wakes a blocked Get", func(t *testing.T) {
		q, _ := newTestQueue(t, QueueOptions{})
		result := make(chan bool, 1)
		go func() {
			_, shutdown := q.Get()
			result <- shutdown
		}()
		mustEventually(t, "Get blocks", func() bool {
			q.mu.Lock()
			defer q.mu.Unlock()
			return q.getWaiters == 1
		})
		q.ShutDown()
		select {
		case shutdown := <-result:
			if !shutdown {
				t.Fatal("Get returned shutdown false")
			}
		case <-time.After(failsafe):
			t.Fatal("Get stayed blocked after ShutDown")
		}
	})

	t.Run("stops the timer goroutine before returning", func(t *testing.T) {
		q, _ := newTestQueue(t, QueueOptions{})
		q.AddAfter("k", time.Hour)
		q.ShutDown()
		select {
		case <-q.timerDone:
		default:
			t.Fatal("ShutDown returned before the timer goroutine")
		}
		q.ShutDown() // a second call is harmless
	})

	t.Run("starts no goroutine without AddAfter", func(t *testing.T) {
		q, _ := newTestQueue(t, QueueOptions{})
		q.Add("k")
		q.ShutDown()
		if q.timerStarted {
			t.Fatal("a timer goroutine was started by Add")
		}
	})

	t.Run("ignores adds and does not drain", func(t *testing.T) {
		q, _ := newTestQueue(t, QueueOptions{})
		q.Add("waiting")
		q.ShutDown()
		if !q.ShuttingDown() {
			t.Fatal("ShuttingDown = false after ShutDown")
		}
		q.Add("a")
		q.AddAfter("b", time.Second)
		q.AddRateLimited("c")
		if got := q.Len(); got != 1 {
			t.Fatalf("Len = %d, want 1 (only the key added before ShutDown)", got)
		}
		if got := q.NumRequeues("c"); got != 0 {
			t.Fatalf("NumRequeues(c) = %d, want 0", got)
		}
		if key, shutdown := q.Get(); !shutdown || key != "" {
			t.Fatalf("Get = %q, %v; want \"\", true", key, shutdown)
		}
		if q.timerStarted {
			t.Fatal("AddAfter after ShutDown started a timer goroutine")
		}
	})

	t.Run("Done of a dirty key does not requeue", func(t *testing.T) {
		q, _ := newTestQueue(t, QueueOptions{})
		q.Add("a")
		key := mustGet(t, q)
		q.Add("a")
		q.ShutDown()
		q.Done(key)
		if got := q.Len(); got != 0 {
			t.Fatalf("Len = %d, want 0", got)
		}
	})
}
