package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// A busy manager's Go heap grows to about twice what it holds live, and
// the runtime gives the free part back to the system slowly. Once the
// process has been quiet for a while (no garbage collection between two
// looks, idleLook apart) and holds more than idleFree bytes of free heap,
// it gives that back at once: an idle manager after a burst does not keep
// the burst's memory.
const (
	idleLook = 10 * time.Second
	idleFree = 16 << 20
)

// idleReleaser decides when to give free heap back; its readings and the
// release are functions so that a test can drive it.
type idleReleaser struct {
	// read returns the garbage collections so far and the free heap
	// bytes not yet given back.
	read    func() (cycles, free uint64)
	release func()
	cycles  uint64 // the collections at the last look
}

// look gives the free heap back when no collection ran since the last
// look and enough of it is free; it reports whether it did.
func (r *idleReleaser) look() bool {
	cycles, free := r.read()
	quiet := cycles == r.cycles
	r.cycles = cycles
	if !quiet || free < idleFree {
		return false
	}
	r.release()
	r.cycles, _ = r.read() // the release collects once itself
	return true
}

// releaseIdleMemory looks every idleLook until ctx ends.
func releaseIdleMemory(ctx context.Context) error {
	r := &idleReleaser{read: heapReadings, release: debug.FreeOSMemory}
	r.cycles, _ = r.read()
	every(ctx, idleLook, func() { r.look() })
	return nil
}

// heapReadings reads the runtime's collection count and free heap.
func heapReadings() (cycles, free uint64) {
	s := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/memory/classes/heap/free:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64(), s[1].Value.Uint64()
}
