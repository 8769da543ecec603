package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// EventsPrefix is the key prefix of events.
const EventsPrefix = "/events/"

// Bounds of the event store: the newest events are kept, at most
// MaxEventsPerObject per object and MaxEvents in all.
const (
	MaxEventsPerObject = 50
	MaxEvents          = 20000
)

// ObjectKey is "KIND/NAME" of an object reference, as logs name it.
func ObjectKey(ref v1.ObjectReference) string { return ref.Kind + "/" + ref.Name }

// Recorder records Kubernetes-style events: a repeat of the same type,
// reason and message about the same object raises its count and last
// time instead of adding an event. Recording never fails or blocks the
// caller: while the State runs (Start), Eventf only queues the event, and
// the State's event writer stores what queued together (see
// eventQueue); a store error is logged and the event dropped.
type Recorder struct {
	st     *State
	source string
	log    *slog.Logger
	now    func() time.Time
}

// Recorder returns a recorder that signs its events with source (for
// example "scheduler" or "worker/w1").
func (st *State) Recorder(source string, logger *slog.Logger) *Recorder {
	if logger == nil {
		logger = slog.Default()
	}
	return &Recorder{st: st, source: source, log: logger, now: time.Now}
}

// Eventf records one event about obj. While the State runs it queues the
// event and returns at once; before Start and after it has returned, it
// writes the event itself, within ctx.
func (r *Recorder) Eventf(ctx context.Context, obj v1.ObjectReference, typ, reason, message string) {
	now := r.now().UTC()
	p := &pendingEvent{
		name: eventName(obj, typ, reason, message), ref: obj, typ: typ, reason: reason, message: message,
		source: r.source, count: 1, first: now, last: now,
	}
	if r.st.events.add(p) {
		return
	}
	q := r.st.events
	_, created, err := q.write(ctx, p, nil)
	if err != nil {
		if ctx.Err() == nil {
			eventDropped(r.st.Store)
			r.log.Warn("recording an event failed", "object", ObjectKey(obj), "reason", reason, "err", err)
		}
		return
	}
	if created {
		q.deleteAll(ctx, r.st.eventIndex.overObject(eventObject(p.name)))
	}
}

// FlushEvents returns once every event recorded before the call is stored
// (or dropped, its failure logged), or ctx's error if ctx ends first. It
// is for a caller that must read its own event back from the store.
func (st *State) FlushEvents(ctx context.Context) error {
	return st.events.flush(ctx)
}

// Bounds and pace of the event writer.
const (
	// maxPendingEvents bounds the distinct events queued for the writer;
	// past it new events are dropped (counted, and logged once per
	// overflow), repeats of queued ones still count. More than MaxEvents
	// queued could not all be kept anyway.
	maxPendingEvents = MaxEvents
	// flushWriters is how many of a round's writes are in flight at once:
	// the store commits the writes that meet in one transaction.
	flushWriters = 64
	// trimPerRound bounds the deletes of the trim to MaxEvents that one
	// round makes, so that the trim spreads over rounds instead of
	// deleting thousands of events at once; a round that writes more
	// new events may delete up to twice as many as it writes, so that
	// the trim keeps up with a burst (a manager placing a thousand
	// tasks a second records two thousand events a second).
	trimPerRound = 256
	// trimWriters bounds the deletes in flight at once outside the writer
	// (a recorder of a State that does not run).
	trimWriters = 16
	// roundTimeout bounds the writes of one round; finalRoundTimeout those
	// of the last, what is queued when the State stops, which holds up the
	// stop (a store that cannot be reached must not hold it for long).
	roundTimeout      = 30 * time.Second
	finalRoundTimeout = 10 * time.Second
)

// pendingEvent is an event queued for the writer, with the repeats of it
// recorded while it waited.
type pendingEvent struct {
	name                         string
	ref                          v1.ObjectReference
	typ, reason, message, source string
	count                        int32
	first, last                  time.Time
}

// eventQueue is a State's event writer. Recorders queue events in it; its
// run loop takes everything queued at once, one round at a time, and
// writes the round's events concurrently (the store commits writes that
// meet in one transaction, so a round costs few commits), together with
// a bounded share of the trim's deletes. Repeats of an event queued in the
// same round cost nothing more: they raise its pending count. While a
// round is written, the next one queues.
type eventQueue struct {
	st  *State
	log *slog.Logger
	max int // maxPendingEvents; tests lower it

	mu      sync.Mutex
	running bool
	pending map[string]*pendingEvent
	order   []*pendingEvent // pending, in the order first recorded
	waiters []chan struct{} // flush calls waiting for the next round
	dropped int             // events dropped since the queue last had room
	wake    chan struct{}

	// Owned by run.
	// jobs feeds run's flushWriters goroutines, which live as long as it
	// does: a goroutine started per write would grow its stack for the
	// JSON encoder at every write (4% of a busy manager's CPU).
	jobs   chan func()
	recent map[string]*v1.Event // the last round's writes: a repeat's hint
	trims  []indexedEvent       // events to delete, oldest first
}

func newEventQueue(st *State, logger *slog.Logger) *eventQueue {
	return &eventQueue{st: st, log: logger, max: maxPendingEvents, pending: make(map[string]*pendingEvent), wake: make(chan struct{}, 1)}
}

// add queues p and reports true, or reports false when the writer does
// not run and the caller must write p itself.
func (q *eventQueue) add(p *pendingEvent) bool {
	q.mu.Lock()
	if !q.running {
		q.mu.Unlock()
		return false
	}
	if cur := q.pending[p.name]; cur != nil {
		cur.count++
		if p.last.After(cur.last) {
			cur.last = p.last
		}
		q.mu.Unlock()
		return true
	}
	if len(q.pending) >= q.max {
		q.dropped++
		first := q.dropped == 1
		q.mu.Unlock()
		eventDropped(q.st.Store)
		if first {
			q.log.Warn("the event queue is full: dropping new events until it drains", "queued", q.max,
				"object", ObjectKey(p.ref), "reason", p.reason)
		}
		return true
	}
	q.pending[p.name] = p
	q.order = append(q.order, p)
	q.mu.Unlock()
	q.poke()
	return true
}

func (q *eventQueue) poke() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// flush waits for the end of the round that writes what is queued now.
func (q *eventQueue) flush(ctx context.Context) error {
	q.mu.Lock()
	if !q.running {
		q.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	q.waiters = append(q.waiters, done)
	q.mu.Unlock()
	q.poke()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flush events: %w", ctx.Err())
	}
}

// take hands over what is queued; stop also ends the queueing, so that
// later events are written by their recorders.
func (q *eventQueue) take(stop bool) ([]*pendingEvent, []chan struct{}, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if stop {
		q.running = false
	}
	batch, waiters, dropped := q.order, q.waiters, q.dropped
	q.order, q.waiters, q.dropped = nil, nil, 0
	if len(batch) > 0 {
		q.pending = make(map[string]*pendingEvent, len(batch))
	}
	return batch, waiters, dropped
}

// start has events queued from now on, for run to write. State.Start
// calls it before it starts the caches, so that an event recorded once
// they have synced is queued, never written by its recorder while the
// writer's goroutine has yet to run.
func (q *eventQueue) start() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.running {
		return errors.New("event writer: already running")
	}
	q.running = true
	return nil
}

// run writes the queued events until ctx ends, then writes what is still
// queued and returns. start has been called.
func (q *eventQueue) run(ctx context.Context) error {
	q.jobs = make(chan func())
	var writers sync.WaitGroup
	for range flushWriters {
		writers.Go(func() {
			for job := range q.jobs {
				job()
			}
		})
	}
	defer func() {
		close(q.jobs)
		writers.Wait()
	}()
	for {
		stop := false
		select {
		case <-ctx.Done():
			stop = true
		case <-q.wake:
		}
		batch, waiters, dropped := q.take(stop)
		// A round started completes: ctx ending stops the loop, not the
		// writes of what was recorded.
		timeout := roundTimeout
		if stop {
			timeout = finalRoundTimeout
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		q.round(rctx, batch, dropped, !stop)
		cancel()
		for _, w := range waiters {
			close(w)
		}
		if stop {
			return nil
		}
		if len(q.trims) > 0 {
			q.poke()
		}
	}
}

// round writes batch within ctx, and with trim, deletes up to
// trimPerRound (or twice the batch) of the events the bounds call for;
// then it finds those the round's new events push past the bounds, for
// the next rounds.
func (q *eventQueue) round(ctx context.Context, batch []*pendingEvent, dropped int, trim bool) {
	if dropped > 0 {
		q.log.Warn("dropped events: the event queue was full", "dropped", dropped)
	}
	var deletes []indexedEvent
	if trim {
		n := min(len(q.trims), max(trimPerRound, 2*len(batch)))
		deletes, q.trims = q.trims[:n:n], q.trims[n:]
	}
	written := make([]*v1.Event, len(batch))
	created := make([]bool, len(batch))
	errs := make([]error, len(batch)+len(deletes))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(len(batch)+len(deletes), flushWriters) {
		wg.Add(1)
		q.jobs <- func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				switch {
				case i < len(batch):
					written[i], created[i], errs[i] = q.write(ctx, batch[i], q.recent[batch[i].name])
				case i < len(batch)+len(deletes):
					errs[i] = q.delete(ctx, deletes[i-len(batch)])
				default:
					return
				}
			}
		}
	}
	wg.Wait()

	failed, trimFailed := 0, 0
	var firstErr, firstTrimErr error
	recent := make(map[string]*v1.Event, len(batch))
	objects := make(map[string]bool)
	for i, p := range batch {
		if errs[i] != nil {
			failed++
			firstErr = cmp.Or(firstErr, errs[i])
			eventDropped(q.st.Store)
			continue
		}
		recent[p.name] = written[i]
		if created[i] {
			objects[eventObject(p.name)] = true
		}
	}
	for _, err := range errs[len(batch):] {
		if err != nil {
			trimFailed++
			firstTrimErr = cmp.Or(firstTrimErr, err)
		}
	}
	q.recent = recent
	if failed > 0 {
		q.log.Warn("recording events failed", "dropped", failed, "of", len(batch), "err", firstErr)
	}
	if trimFailed > 0 {
		q.log.Warn("trimming events failed", "failed", trimFailed, "err", firstTrimErr)
	}
	if !trim {
		return
	}
	var over []indexedEvent
	for obj := range objects {
		over = append(over, q.st.eventIndex.overObject(obj)...)
	}
	if len(over) > 0 {
		q.trims = append(over, q.trims...)
	}
	if len(q.trims) == 0 {
		q.trims = q.st.eventIndex.overAll()
	}
}

// write stores p (see save) and notes the write in the event index at
// once, ahead of its watch. It reports whether it created the event.
func (q *eventQueue) write(ctx context.Context, p *pendingEvent, hint *v1.Event) (*v1.Event, bool, error) {
	out, created, err := q.save(ctx, p, hint)
	if err != nil {
		return nil, false, err
	}
	if rev, err := ParseResourceVersion(out.Metadata.ResourceVersion); err == nil {
		q.st.eventIndex.written(p.name, rev)
	}
	return out, created, nil
}

// save stores p: as a new event, or as a repeat of the stored one when
// there is one (from hint, the last round's write of it, or the store).
// It reports whether it created the event.
func (q *eventQueue) save(ctx context.Context, p *pendingEvent, hint *v1.Event) (*v1.Event, bool, error) {
	raise := func(e *v1.Event) (*v1.Event, error) {
		e.Count += p.count
		if p.last.After(e.LastTimestamp) {
			e.LastTimestamp = p.last
		}
		return e, nil
	}
	if hint != nil || q.st.eventIndex.has(p.name) {
		out, err := q.st.Events.GuaranteedUpdateFrom(ctx, p.name, hint, raise)
		if !errors.Is(err, ErrNotFound) {
			return out, false, err
		}
	}
	first := p.first
	e := &v1.Event{
		TypeMeta:       v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEvent},
		Metadata:       v1.ObjectMeta{Name: p.name, CreationTimestamp: &first},
		InvolvedObject: p.ref,
		Type:           p.typ,
		Reason:         p.reason,
		Message:        p.message,
		Source:         p.source,
		Count:          p.count,
		FirstTimestamp: p.first,
		LastTimestamp:  p.last,
	}
	// createOwned rather than Create, which decodes what it wrote: e is
	// the stored event already.
	out, err := q.st.Events.createOwned(ctx, e)
	if errors.Is(err, ErrExists) {
		// Recorded meanwhile, or the index is behind: a repeat.
		out, err := q.st.Events.GuaranteedUpdate(ctx, p.name, raise)
		return out, false, err
	}
	if err != nil {
		return nil, false, err
	}
	return out, true, nil
}

// delete deletes e unless it changed since (a repeat made it newer) or is
// gone already.
func (q *eventQueue) delete(ctx context.Context, e indexedEvent) error {
	err := q.st.Events.Delete(ctx, e.name, FormatResourceVersion(e.rev))
	switch {
	case err == nil || errors.Is(err, ErrNotFound):
		q.st.eventIndex.deleted(e.name, e.rev)
		return nil
	case errors.Is(err, ErrConflict):
		return nil
	}
	return err
}

// deleteAll deletes events, trimWriters at a time, and logs the first
// failure.
func (q *eventQueue) deleteAll(ctx context.Context, events []indexedEvent) {
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		sem    = make(chan struct{}, trimWriters)
	)
	for _, e := range events {
		if failed.Load() {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := q.delete(ctx, e); err != nil && !failed.Swap(true) {
				q.log.Warn("trimming events failed", "err", err)
			}
		})
	}
	wg.Wait()
}

// byLastTimestamp orders events by when they last happened, then by name.
func byLastTimestamp(a, b *v1.Event) int {
	return cmp.Or(a.LastTimestamp.Compare(b.LastTimestamp), strings.Compare(a.Metadata.Name, b.Metadata.Name))
}

// eventName is stable for the same object, type, reason and message.
func eventName(obj v1.ObjectReference, typ, reason, message string) string {
	h := sha256.New()
	for _, s := range []string{obj.Kind, obj.Name, obj.UID, typ, reason, message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return eventNameOf(eventObjectOf(obj.Kind, obj.Name), binary.BigEndian.Uint64(h.Sum(nil)))
}

// ListEvents returns the events about the object of kind and name (every
// event when name is ""), oldest first, read from the store, and the
// store revision they were read at.
func (st *State) ListEvents(ctx context.Context, kind, name string) ([]*v1.Event, int64, error) {
	var (
		events []*v1.Event
		rev    int64
		err    error
	)
	if name == "" {
		events, rev, err = st.Events.List(ctx)
	} else {
		// The prefix also finds the events of "web.x" for "web", and of
		// a file "dir_a.yaml" for "dir/a.yaml" (see eventObject).
		events, rev, err = st.Events.listPrefix(ctx, eventObjectOf(kind, name)+".")
		events = slices.DeleteFunc(events, func(e *v1.Event) bool {
			return e.InvolvedObject.Kind != kind || e.InvolvedObject.Name != name
		})
	}
	if err != nil {
		return nil, 0, err
	}
	slices.SortFunc(events, byLastTimestamp)
	return events, rev, nil
}

// TaskRef is the event reference of a task.
func TaskRef(t *v1.Task) v1.ObjectReference {
	return v1.ObjectReference{Kind: v1.KindTask, Name: t.Metadata.Name, UID: t.Metadata.UID}
}
