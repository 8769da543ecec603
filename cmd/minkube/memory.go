package main

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
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

// releaseIdleMemory looks every idleLook until ctx ends, and paces the
// collector (see quietCollector) unless GOGC or GOMEMLIMIT is set.
func releaseIdleMemory(ctx context.Context) error {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		q := &quietCollector{read: liveReadings, setPercent: debug.SetGCPercent}
		q.start(ctx)
	}
	r := &idleReleaser{read: heapReadings, release: debug.FreeOSMemory}
	r.allocated, _ = r.read()
	every(ctx, idleLook, func() { r.look() })
	return nil
}

// Between bursts a manager allocates little: the heartbeats of its
// workers. With the collector's default goal (the heap may grow to twice
// what is live) that little garbage still fills the heap to the goal set
// by the last burst's collections, and the memory stays resident: at
// 10,000 tasks and 100 idle workers the manager's RSS went from 87 MB
// after a release back to 102-103 MB in 20-40 seconds, again and again.
// While it is quiet, the quiet collector lowers the goal to a quarter
// of the headroom (GOGC 25): the heartbeats' garbage is collected every
// few seconds, and the heap stays near what is live (92-97 MB resident
// in the same 90 seconds, for no more CPU). As soon as the process
// allocates faster, the busy goal comes back (see busyPercent), so that
// a burst of work is not slowed by collections. GOGC or GOMEMLIMIT in
// the environment turns it off: whoever set them chose the collector's
// pace.
const (
	// quietLook is how often the quiet collector measures the rate of
	// allocation.
	quietLook = time.Second
	// quietSpan: a process is quiet while it takes longer than this to
	// allocate as much as it holds live. At the quiet goal (a quarter of
	// the live heap of headroom) it then collects at most every
	// quietSpan/4.
	quietSpan = 16 * time.Second
	// quietPercent is the collector's goal while quiet, as a GOGC.
	quietPercent = 25
	// busyHeadroom is how far the heap of a busy process may grow past
	// what is live before a collection, as long as that is between half
	// the live heap and all of it (GOGC 50 to 100): see busyPercent.
	busyHeadroom = 16 << 20
)

// busyPercent is the collector's goal while busy, as a GOGC, for live
// bytes live: busyHeadroom over the live heap, in steps of 10, between
// 50 and Go's default of 100. The headroom is what a busy manager keeps
// resident beyond what it holds live, and the collections it saves cost
// CPU: while the heap is small (at most busyHeadroom, as in a burst of
// 1,000 tasks) the default's headroom is small too and collections come
// often enough; as it grows, the headroom is held to busyHeadroom (at
// 10,000 tasks, about 30 MB live: GOGC 50 and a peak 10-15 MB lower),
// and never less than half the live heap, so that the collections of a
// larger cluster cost no more per task than those of a smaller one.
func busyPercent(live uint64) int {
	if live == 0 {
		return 100
	}
	p := int(min(busyHeadroom*100/live, 100)) / 10 * 10
	return max(p, 50)
}

// quietCollector sets the collector's goal from the rate of allocation:
// quietPercent while quiet (see quietSpan), busyPercent of the live
// heap otherwise. It measures the rate every quietLook, and after every
// collection, so that a burst that starts while quiet costs at most a
// collection or two at the low goal, and a busy goal follows the live
// heap. Its readings and the setting are functions so that a test
// can drive it.
type quietCollector struct {
	// read returns the bytes allocated so far and those the last
	// collection found live.
	read       func() (allocated, live uint64)
	setPercent func(int) int

	mu    sync.Mutex
	quiet bool
	// percent is the goal set last, 0 before the first.
	percent int
	// The readings at the last look and at the last collection.
	lookAllocated, gcAllocated uint64
	lookAt, gcAt               time.Time
}

// look measures the rate since the last look and sets the goal for it.
func (q *quietCollector) look(now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	allocated, live := q.read()
	q.decide(allocated-q.lookAllocated, now.Sub(q.lookAt), live)
	q.lookAllocated, q.lookAt = allocated, now
}

// collected measures the rate since the last collection, called after
// each. Only a quiet process heeds the rate: a busy one collects often
// anyway, and the looks say when it is quiet again; a busy one's goal
// follows the live heap the collection found.
func (q *quietCollector) collected(now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	allocated, live := q.read()
	if q.quiet && !q.gcAt.IsZero() {
		q.decide(allocated-q.gcAllocated, now.Sub(q.gcAt), live)
	} else {
		q.setGoal(live)
	}
	q.gcAllocated, q.gcAt = allocated, now
}

// decide sets the goal for having allocated bytes over elapsed with live
// bytes live. q.mu is held.
func (q *quietCollector) decide(allocated uint64, elapsed time.Duration, live uint64) {
	if elapsed > 0 {
		q.quiet = float64(allocated)*quietSpan.Seconds() < float64(live)*elapsed.Seconds()
	}
	q.setGoal(live)
}

// setGoal sets the goal for being quiet or not with live bytes live, if
// it is not the one set last. q.mu is held.
func (q *quietCollector) setGoal(live uint64) {
	want := quietPercent
	if !q.quiet {
		want = busyPercent(live)
	}
	if want != q.percent {
		q.percent = want
		q.setPercent(want)
	}
}

// start sets the busy goal (the runtime begins at its own default) and
// takes the first readings, then looks every quietLook and after every
// collection until ctx ends, when it sets the busy goal back.
func (q *quietCollector) start(ctx context.Context) {
	now := time.Now()
	allocated, live := q.read()
	q.mu.Lock()
	q.setGoal(live)
	q.lookAllocated, q.lookAt = allocated, now
	q.mu.Unlock()
	onCollection(ctx, func() { q.collected(time.Now()) })
	go func() {
		every(ctx, quietLook, func() { q.look(time.Now()) })
		q.mu.Lock()
		defer q.mu.Unlock()
		_, live := q.read()
		q.quiet = false
		q.setGoal(live)
	}()
}

// onCollection calls fn after each collection until ctx ends: a finalizer
// of an object nothing refers to runs once a collection has found it
// unreachable, and sets itself again on a new one.
func onCollection(ctx context.Context, fn func()) {
	var arm func()
	arm = func() {
		runtime.SetFinalizer(new(collectionSentinel), func(*collectionSentinel) {
			if ctx.Err() != nil {
				return
			}
			fn()
			arm()
		})
	}
	arm()
}

// collectionSentinel is a heap object of its own for onCollection: not
// zero-sized (which could share an address and never be collected) nor
// under 16 bytes (which the runtime packs with others, whose finalizers
// may never run).
type collectionSentinel struct{ _ [16]byte }

// heapReading is what the runtime says of its heap (runtime/metrics):
// the bytes allocated so far, the free heap, the heap objects, and those
// the last collection found live.
type heapReading struct{ allocated, free, objects, live uint64 }

func readHeap() heapReading {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/live:bytes"},
	}
	metrics.Read(s)
	return heapReading{s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64(), s[3].Value.Uint64()}
}

// liveReadings reads the bytes allocated so far, and the heap the last
// collection found live: the quiet collector's readings.
func liveReadings() (allocated, live uint64) {
	h := readHeap()
	return h.allocated, h.live
}

// heapReadings reads the bytes allocated so far, and what a collection
// would give back: the free heap, and the heap objects beyond those the
// last collection found live.
func heapReadings() (allocated, spare uint64) {
	h := readHeap()
	return h.allocated, h.free + h.objects - min(h.live, h.objects)
}
