package main

import (
	"runtime"
	"testing"
)

// The release follows a quiet spell with much free heap, and only then;
// it does not repeat while nothing changes.
func TestIdleReleaser(t *testing.T) {
	var cycles, free uint64
	released := 0
	r := &idleReleaser{
		read:    func() (uint64, uint64) { return cycles, free },
		release: func() { released++; cycles++; free = 0 },
	}
	steps := []struct {
		what         string
		cycles, free uint64
		want         bool
	}{
		{"busy: a collection since the last look", 3, 64 << 20, false},
		{"quiet, much free heap", 3, 64 << 20, true},
		{"quiet again, nothing free since", 4, 0, false},
		{"quiet, a little free heap", 4, 1 << 20, false},
		{"busy again", 9, 64 << 20, false},
		{"quiet after it", 9, 64 << 20, true},
	}
	for _, s := range steps {
		cycles, free = s.cycles, s.free
		if got := r.look(); got != s.want {
			t.Errorf("%s: released %v, want %v", s.what, got, s.want)
		}
	}
	if released != 2 {
		t.Errorf("released %d times, want 2", released)
	}
}

// The readings are the runtime's: a collection counts, and garbage
// collected is free heap.
func TestHeapReadings(t *testing.T) {
	c0, _ := heapReadings()
	garbage := make([][]byte, 0, 64)
	for range 64 {
		garbage = append(garbage, make([]byte, 1<<20))
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC()
	c1, free := heapReadings()
	if c1 <= c0 {
		t.Errorf("collections %d after runtime.GC, were %d", c1, c0)
	}
	if free == 0 {
		t.Error("no free heap after 64 MiB of garbage was collected")
	}
}
