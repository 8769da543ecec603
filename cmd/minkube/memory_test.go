package main

import (
	"runtime"
	"runtime/debug"
	"testing"
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
