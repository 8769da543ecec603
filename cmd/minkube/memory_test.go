package main

import (
	"context"
	"runtime"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"
)

// The release follows a spell of few allocations with much to give back,
// and only then.
func TestIdleReleaser(t *testing.T) {
	var allocated, spare uint64
	released := 0
	r := &idleReleaser{
		read:    func() (uint64, uint64) { return allocated, spare },
		release: func() { released++; spare = 0 },
	}
	const mb = 1 << 20
	steps := []struct {
		what             string
		allocated, spare uint64
		want             bool
	}{
		{"busy: allocated more than half of what could be given back", 500 * mb, 64 * mb, false},
		{"quiet, much to give back", 510 * mb, 64 * mb, true},
		{"quiet, nothing to give back since", 515 * mb, 0, false},
		{"quiet, a little to give back", 520 * mb, 8 * mb, false},
		{"busy again", 900 * mb, 64 * mb, false},
		{"allocating just half of what could be given back", 932 * mb, 64 * mb, false},
		{"quiet after it", 940 * mb, 64 * mb, true},
	}
	for _, s := range steps {
		allocated, spare = s.allocated, s.spare
		if got := r.look(); got != s.want {
			t.Errorf("%s: released %v, want %v", s.what, got, s.want)
		}
	}
	if released != 2 {
		t.Errorf("released %d times, want 2", released)
	}
}

// The readings are the runtime's: allocations count, and garbage not
// collected yet counts as something to give back.
func TestHeapReadings(t *testing.T) {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1)) // no collection while the garbage is made
	a0, spare0 := heapReadings()
	garbage := make([][]byte, 0, 64)
	for range 64 {
		garbage = append(garbage, make([]byte, 1<<20))
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	a1, spare1 := heapReadings()
	if a1-a0 < 64<<20 {
		t.Errorf("allocated %d bytes by the readings, want at least 64 MiB", a1-a0)
	}
	if spare1 < 60<<20 {
		t.Errorf("could give back %d bytes with 64 MiB of garbage not collected (%d before it)", spare1, spare0)
	}
}

// The collector's goal follows the rate of allocation: the quiet goal
// while the process allocates its live heap more slowly than over
// quietSpan, the busy one as soon as it allocates faster, measured over
// each look and, while quiet, between collections; a busy goal follows
// the live heap.
func TestQuietCollector(t *testing.T) {
	const mb = 1 << 20
	var allocated uint64
	live := uint64(32 * mb) // quiet below 2 MB a second
	var set []int
	q := &quietCollector{
		read:       func() (uint64, uint64) { return allocated, live },
		setPercent: func(p int) int { set = append(set, p); return 0 },
	}
	t0 := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	q.lookAt = t0
	steps := []struct {
		what      string
		gc        bool // a collection, not a look
		s         float64
		allocated uint64
		live      uint64 // 0: as before
		want      []int
	}{
		{"busy to begin with: 8 MB in the first second, the busy goal for 32 MB live", false, 1, 8 * mb, 0, []int{50}},
		{"1 MB a second: quiet", false, 2, 9 * mb, 0, []int{quietPercent}},
		{"still quiet", false, 3, 10 * mb, 0, nil},
		{"a collection while quiet: the first, nothing to compare", true, 3.5, 10 * mb, 0, nil},
		{"a collection 4.5 s later after 4 MB: quiet", true, 8, 14 * mb, 0, nil},
		{"a burst: 8 MB a collection 0.1 s after it", true, 8.1, 22 * mb, 0, []int{50}},
		{"busy: collections do not decide", true, 8.15, 22*mb + 1, 0, nil},
		{"the look sees the burst", false, 9, 200 * mb, 0, nil},
		{"1.9 MB in the next second: quiet again", false, 10, 200*mb + 19*mb/10, 0, []int{quietPercent}},
		{"a look at the same instant decides nothing", false, 10, 300 * mb, 0, nil},
		{"2.1 MB a second over the next: busy", false, 11, 300*mb + 21*mb/10, 0, []int{50}},
		{"busy, a collection finds 20 MB live: the goal follows it", true, 11.1, 310 * mb, 20 * mb, []int{80}},
		{"a collection finds 64 MB live: never under GOGC 50", true, 11.2, 320 * mb, 64 * mb, []int{50}},
		{"a look, busy, 8 MB live: the default", false, 12, 400 * mb, 8 * mb, []int{100}},
		{"a collection, the same live heap: nothing to set", true, 12.1, 410 * mb, 0, nil},
	}
	for _, s := range steps {
		set = nil
		allocated = s.allocated
		if s.live != 0 {
			live = s.live
		}
		if s.gc {
			q.collected(at(s.s))
		} else {
			q.look(at(s.s))
		}
		if !slices.Equal(set, s.want) {
			t.Errorf("%s: set %v, want %v", s.what, set, s.want)
		}
	}
}

// The busy goal holds busyHeadroom over the live heap, between GOGC 50
// and 100, in steps of 10.
func TestBusyPercent(t *testing.T) {
	const mb = 1 << 20
	for _, c := range []struct {
		live uint64
		want int
	}{
		{0, 100}, {1 * mb, 100}, {16 * mb, 100}, {17 * mb, 90}, {20 * mb, 80},
		{30 * mb, 50}, {32 * mb, 50}, {33 * mb, 50}, {1 << 30, 50},
	} {
		if got := busyPercent(c.live); got != c.want {
			t.Errorf("busyPercent(%d MB) = %d, want %d", c.live/mb, got, c.want)
		}
	}
}

// The busy goal holds from the start: the runtime begins at its own
// default (GOGC 100), and a manager started right before a burst would
// otherwise not have the busy goal until it had been quiet once.
func TestQuietCollector_StartSetsTheBusyGoal(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var mu sync.Mutex
	var set []int
	q := &quietCollector{
		read: func() (uint64, uint64) { return 0, 32 << 20 },
		setPercent: func(p int) int {
			mu.Lock()
			defer mu.Unlock()
			set = append(set, p)
			return 0
		},
	}
	q.start(ctx)
	mu.Lock()
	defer mu.Unlock()
	if want := busyPercent(32 << 20); len(set) == 0 || set[0] != want {
		t.Errorf("set %v when started, want [%d] before any look", set, want)
	}
}

// onCollection calls back after each collection, and no more once its
// context ends.
func TestOnCollection(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	calls := make(chan struct{}, 100)
	onCollection(ctx, func() { calls <- struct{}{} })
	for i := range 3 {
		runtime.GC()
		select {
		case <-calls:
		case <-time.After(10 * time.Second):
			t.Fatalf("no call after collection %d", i+1)
		}
	}
	cancel()
	runtime.GC()
	runtime.GC()
	time.Sleep(100 * time.Millisecond) // the finalizer goroutine's turn
	for len(calls) > 0 {
		<-calls
	}
	runtime.GC()
	select {
	case <-calls:
		t.Error("a call after the context ended")
	case <-time.After(200 * time.Millisecond):
	}
}
