package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A busy manager's Go heap grows to about twice what it holds live, and
// the runtime gives the rest back to the system slowly (and garbage not
// collected yet, never). Once the process allocates little (less, between
// two looks idleLook apart, than half what it could give back) and could
// give back more than idleFree bytes (free heap and garbage the last
// collection did not find live), it collects and gives that back at once:
// an idle manager after a burst does not keep the burst's memory, and a
// busy one is left alone.
const (
	idleLook = 10 * time.Second
	idleFree = 16 << 20
)

// idleReleaser decides when to give memory back; its readings and the
// release are functions so that a test can drive it.
type idleReleaser struct {
	// read returns the bytes allocated so far and the heap bytes a
	// collection would give back.
	read      func() (allocated, spare uint64)
	release   func()
	allocated uint64 // at the last look
}

// look gives memory back when the process allocated less than half of
// what it could give back since the last look, and that is enough; it
// reports whether it did.
func (r *idleReleaser) look() bool {
	allocated, spare := r.read()
	quiet := allocated-r.allocated < spare/2
	r.allocated = allocated
	if !quiet || spare < idleFree {
		return false
	}
	r.release()
	return true
}

// releaseIdleMemory looks every idleLook until ctx ends.
func releaseIdleMemory(ctx context.Context) error {
	r := &idleReleaser{read: heapReadings, release: debug.FreeOSMemory}
	r.allocated, _ = r.read()
	every(ctx, idleLook, func() { r.look() })
	return nil
}

// heapReadings reads the runtime's count of bytes allocated, and what a
// collection would give back: the free heap, and the heap objects beyond
// those the last collection found live.
func heapReadings() (allocated, spare uint64) {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	allocated, free, objects, live := s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()
	return allocated, free + objects - min(live, objects)
}
