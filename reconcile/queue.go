package reconcile

import (
	"container/heap"
	"sync"
	"time"
)

// Default backoff of a Queue.
const (
	// DefaultBaseDelay is the delay before the first retry of a failed key.
	DefaultBaseDelay = 5 * time.Millisecond
	// DefaultMaxDelay caps the per-key exponential backoff.
	DefaultMaxDelay = 5 * time.Minute
)

// QueueOptions configures a Queue. The zero value is usable.
type QueueOptions struct {
	// BaseDelay is the delay AddRateLimited uses for a key's first
	// failure; each further failure doubles it. Zero or negative means
	// DefaultBaseDelay.
	BaseDelay time.Duration
	// MaxDelay caps the delay of AddRateLimited. Zero or negative means
	// DefaultMaxDelay.
	MaxDelay time.Duration
	// Clock is the time source for AddAfter and AddRateLimited. Nil means
	// the wall clock.
	Clock Clock
	// Metrics is told of adds, depth and retries; nil means none.
	Metrics Metrics
}

// Queue is a work queue of string keys with the discipline of client-go's
// rate-limited delaying workqueue:
//
//   - A key waiting in the queue is held once, however often it is added.
//   - A key is never handed to two goroutines at once: Get marks it as
//     processing until Done. A key added while it is processing is marked
//     dirty and queued again by Done.
//   - AddAfter holds a key back until a deadline, in one timer goroutine
//     with a heap; a key already held keeps the earlier of its deadlines.
//   - AddRateLimited holds a key back for BaseDelay * 2^n, n being the
//     number of times it was rate-limited since its last Forget, capped at
//     MaxDelay.
//
// Unlike client-go's, a shut-down Queue does not drain: Get returns at once
// with shutdown true, and keys still waiting are discarded. Level-based
// consumers lose nothing by that; the next start looks at everything again.
//
// Make a Queue with NewQueue and call ShutDown when done with it: ShutDown
// stops the timer goroutine, which AddAfter starts on first use. All methods
// are safe for concurrent use.
type Queue struct {
	baseDelay time.Duration
	maxDelay  time.Duration
	clock     Clock
	metrics   Metrics

	mu   sync.Mutex
	cond *sync.Cond

	// ready holds the keys waiting to be handed out by Get, in order.
	ready fifo
	// dirty holds the keys that need processing: those in ready and those
	// added again while processing.
	dirty map[string]struct{}
	// processing holds the keys handed out by Get and not yet Done.
	processing map[string]struct{}
	// failures counts AddRateLimited calls per key since its last Forget.
	failures map[string]int

	// waiting holds the keys AddAfter is holding back, earliest first;
	// waitingByKey indexes the same entries.
	waiting      waitHeap
	waitingByKey map[string]*waitEntry
	seq          uint64

	shuttingDown bool
	// getWaiters counts goroutines blocked in Get (for tests).
	getWaiters int

	timerStarted bool
	wake         chan struct{} // nudges the timer goroutine; capacity 1
	stop         chan struct{} // closed by ShutDown
	timerDone    chan struct{} // closed when the timer goroutine returns
}

// NewQueue returns an empty Queue. It starts no goroutine until the first
// AddAfter or AddRateLimited.
func NewQueue(opts QueueOptions) *Queue {
	q := &Queue{
		baseDelay:    opts.BaseDelay,
		maxDelay:     opts.MaxDelay,
		clock:        opts.Clock,
		metrics:      opts.Metrics,
		dirty:        make(map[string]struct{}),
		processing:   make(map[string]struct{}),
		failures:     make(map[string]int),
		waitingByKey: make(map[string]*waitEntry),
		wake:         make(chan struct{}, 1),
		stop:         make(chan struct{}),
		timerDone:    make(chan struct{}),
	}
	if q.baseDelay <= 0 {
		q.baseDelay = DefaultBaseDelay
	}
	if q.maxDelay <= 0 {
		q.maxDelay = DefaultMaxDelay
	}
	if q.clock == nil {
		q.clock = realClock{}
	}
	if q.metrics == nil {
		q.metrics = noMetrics{}
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Add queues key for processing now. It does nothing if key is already
// waiting, or if the Queue is shut down. If key is being processed, it is
// queued again when Done is called for it.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *Queue) addLocked(key string) {
	if q.shuttingDown {
		return
	}
	if _, ok := q.dirty[key]; ok {
		return
	}
	q.dirty[key] = struct{}{}
	q.metrics.Added()
	if _, ok := q.processing[key]; ok {
		return
	}
	q.ready.push(key)
	q.metrics.Depth(q.ready.len())
	q.cond.Signal()
}

// AddAfter queues key for processing once d has passed. A d of zero or
// less is Add. If key is already held back, it keeps the earlier of its
// two deadlines. AddAfter does nothing once the Queue is shut down.
func (q *Queue) AddAfter(key string, d time.Duration) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addAfterLocked(key, d)
}

func (q *Queue) addAfterLocked(key string, d time.Duration) {
	if q.shuttingDown {
		return
	}
	if d <= 0 {
		q.addLocked(key)
		return
	}
	readyAt := q.clock.Now().Add(d)
	if e, ok := q.waitingByKey[key]; ok {
		if !readyAt.Before(e.readyAt) {
			return
		}
		e.readyAt = readyAt
		heap.Fix(&q.waiting, e.index)
	} else {
		q.seq++
		e := &waitEntry{key: key, readyAt: readyAt, seq: q.seq}
		heap.Push(&q.waiting, e)
		q.waitingByKey[key] = e
	}
	if !q.timerStarted {
		q.timerStarted = true
		go q.runTimer()
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// AddRateLimited queues key after its backoff delay: BaseDelay * 2^n where
// n is the number of earlier AddRateLimited calls for key since its last
// Forget, capped at MaxDelay. It does nothing once the Queue is shut down.
func (q *Queue) AddRateLimited(key string) {
	q.addRateLimited(key)
}

// addRateLimited is AddRateLimited returning the delay it chose (zero if
// the Queue is shut down) and the key's failure count after the call.
func (q *Queue) addRateLimited(key string) (delay time.Duration, requeues int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.shuttingDown {
		return 0, q.failures[key]
	}
	n := q.failures[key]
	q.failures[key] = n + 1
	q.metrics.Retried()
	delay = backoff(q.baseDelay, q.maxDelay, n)
	q.addAfterLocked(key, delay)
	return delay, n + 1
}

// backoff returns base * 2^n capped at max, without overflowing.
func backoff(base, max time.Duration, n int) time.Duration {
	if base >= max {
		return max
	}
	d := base
	for range n {
		if d > max/2 {
			return max
		}
		d *= 2
	}
	return d
}

// Forget clears key's failure count, so that its next AddRateLimited waits
// BaseDelay again. It does not remove key from the queue.
func (q *Queue) Forget(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.failures, key)
}

// NumRequeues returns the number of AddRateLimited calls for key since its
// last Forget.
func (q *Queue) NumRequeues(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failures[key]
}

// Get blocks until a key is ready, marks it as processing and returns it.
// The caller must call Done(key) when finished with it. Get returns
// shutdown true, and no key, once ShutDown has been called.
func (q *Queue) Get() (key string, shutdown bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.ready.len() == 0 && !q.shuttingDown {
		q.getWaiters++
		q.cond.Wait()
		q.getWaiters--
	}
	if q.shuttingDown {
		return "", true
	}
	key = q.ready.pop()
	q.metrics.Depth(q.ready.len())
	q.processing[key] = struct{}{}
	delete(q.dirty, key)
	return key, false
}

// Done marks key as no longer processing. If key was added while it was
// processing, it is queued again now.
func (q *Queue) Done(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.processing, key)
	if _, ok := q.dirty[key]; ok && !q.shuttingDown {
		q.ready.push(key)
		q.metrics.Depth(q.ready.len())
		q.cond.Signal()
	}
}

// Len returns the number of keys ready to be handed out by Get; keys held
// back by AddAfter and keys processing are not counted.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ready.len()
}

// ShutDown stops the Queue: blocked and later calls to Get return with
// shutdown true, adds are ignored, and the timer goroutine is stopped.
// ShutDown returns after the timer goroutine has. It may be called more
// than once.
func (q *Queue) ShutDown() {
	q.mu.Lock()
	if !q.shuttingDown {
		q.shuttingDown = true
		q.metrics.Depth(0) // the keys still waiting are dropped
		close(q.stop)
		q.cond.Broadcast()
	}
	started := q.timerStarted
	q.mu.Unlock()
	if started {
		<-q.timerDone
	}
}

// ShuttingDown reports whether ShutDown has been called.
func (q *Queue) ShuttingDown() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.shuttingDown
}

// runTimer moves held-back keys to the ready queue when their deadlines
// pass. It is the Queue's only goroutine; it keeps one Timer, set for the
// earliest deadline, and returns when ShutDown is called.
func (q *Queue) runTimer() {
	defer close(q.timerDone)
	var (
		timer   Timer
		timerAt time.Time
	)
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		at, ok := q.releaseDue()
		switch {
		case !ok && timer != nil:
			timer.Stop()
			timer = nil
		case ok && (timer == nil || !at.Equal(timerAt)):
			if timer != nil {
				timer.Stop()
			}
			timer, timerAt = q.clock.NewTimerAt(at), at
		}
		var fired <-chan time.Time // nil, never ready, when no timer is set
		if timer != nil {
			fired = timer.C()
		}
		select {
		case <-q.stop:
			return
		case <-q.wake:
		case <-fired:
			timer = nil
		}
	}
}

// releaseDue adds every held-back key whose deadline has passed and
// returns the next deadline, ok false if no key is held back.
func (q *Queue) releaseDue() (next time.Time, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for len(q.waiting) > 0 {
		e := q.waiting[0]
		if e.readyAt.After(now) {
			return e.readyAt, true
		}
		heap.Pop(&q.waiting)
		delete(q.waitingByKey, e.key)
		q.addLocked(e.key)
	}
	return time.Time{}, false
}

// waitEntry is a key held back until readyAt.
type waitEntry struct {
	key     string
	readyAt time.Time
	seq     uint64 // insertion order: equal deadlines leave first-in first-out
	index   int    // position in the heap
}

// waitHeap is a min-heap of entries by deadline; it implements
// heap.Interface.
type waitHeap []*waitEntry

func (h waitHeap) Len() int { return len(h) }

func (h waitHeap) Less(i, j int) bool {
	if !h[i].readyAt.Equal(h[j].readyAt) {
		return h[i].readyAt.Before(h[j].readyAt)
	}
	return h[i].seq < h[j].seq
}

func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *waitHeap) Push(x any) {
	e := x.(*waitEntry)
	e.index = len(*h)
	*h = append(*h, e)
}

func (h *waitHeap) Pop() any {
	old := *h
	n := len(old)
	e := old[n-1]
	old[n-1] = nil
	e.index = -1
	*h = old[:n-1]
	return e
}

// fifoKeep is the most keys a fifo's array keeps room for once the fifo
// is empty again; a larger one, grown by a burst, is let go.
const fifoKeep = 1024

// fifo is the keys of a Queue waiting for Get, in order. It reuses its
// array: a key handed out only moves the head, and a fifo emptied starts
// again at the front of the same array (up to fifoKeep keys), where a
// slice resliced from its front would leave its head's room behind and
// allocate a new array with every burst.
type fifo struct {
	keys []string
	head int // index of the next key to hand out
}

func (f *fifo) len() int { return len(f.keys) - f.head }

func (f *fifo) push(key string) {
	if len(f.keys) == cap(f.keys) && f.head >= len(f.keys)/2 {
		// Half of the array or more was handed out: move what is left to
		// the front rather than grow.
		n := copy(f.keys, f.keys[f.head:])
		clear(f.keys[n:])
		f.keys, f.head = f.keys[:n], 0
	}
	f.keys = append(f.keys, key)
}

// pop hands out the oldest key; the fifo must not be empty.
func (f *fifo) pop() string {
	key := f.keys[f.head]
	f.keys[f.head] = "" // let the string be collected
	f.head++
	if f.head == len(f.keys) {
		if cap(f.keys) > fifoKeep {
			f.keys = nil
		} else {
			f.keys = f.keys[:0]
		}
		f.head = 0
	}
	return key
}
