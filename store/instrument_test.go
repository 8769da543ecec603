package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/statetest"
	"github.com/minkube/minkube/store/storetest"
)

// countingObserver counts store operations by "op result".
type countingObserver struct {
	mu      sync.Mutex
	ops     map[string]int
	dropped int
}

func (o *countingObserver) StoreOp(op, result string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ops == nil {
		o.ops = map[string]int{}
	}
	o.ops[op+" "+result]++
}

func (o *countingObserver) EventDropped() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dropped++
}

func (o *countingObserver) droppedEvents() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.dropped
}

func (o *countingObserver) count(key string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ops[key]
}

func mustOpenBolt(t testing.TB) store.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestInstrument_Suite runs the shared Store suite through the
// instrumentation: it must change nothing a caller sees.
func TestInstrument_Suite(t *testing.T) {
	compact := storetest.WithCompact(func(ctx context.Context, s store.Store, rev int64) error {
		return s.(interface{ Unwrap() store.Store }).Unwrap().(*bolt.Store).Compact(ctx, rev)
	})
	storetest.Run(t, func(t *testing.T) store.Store { return store.Instrument(mustOpenBolt(t), &countingObserver{}) }, compact)
}

// TestInstrument_Results checks that each call is told with its outcome.
func TestInstrument_Results(t *testing.T) {
	o := &countingObserver{}
	s := store.Instrument(mustOpenBolt(t), o)
	ctx := t.Context()
	if _, err := s.Create(ctx, "/a", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, "/a", []byte("1")); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v", err)
	}
	if _, err := s.Get(ctx, "/missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := s.Update(ctx, "/a", []byte("2"), 999); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("update: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _, _ = s.List(cancelled, "/")
	for key, want := range map[string]int{"create ok": 1, "create exists": 1, "get not_found": 1, "update conflict": 1, "list canceled": 1} {
		if got := o.count(key); got != want {
			t.Errorf("%q observed %d times, want %d (all: %v)", key, got, want, o.ops)
		}
	}
}

// TestRecorder_DroppedEventIsObserved checks that an event the store
// refuses is counted as dropped.
func TestRecorder_DroppedEventIsObserved(t *testing.T) {
	o := &countingObserver{}
	raw := mustOpenBolt(t)
	st := store.NewState(store.Instrument(raw, o), quietLogger())
	raw.Close() // every write now fails with ErrClosed
	st.Recorder("test", quietLogger()).Eventf(t.Context(), v1.ObjectReference{Kind: v1.KindTask, Name: "web"}, v1.EventNormal, "Tested", "a message")
	if o.dropped != 1 {
		t.Fatalf("dropped %d events, want 1", o.dropped)
	}
}

// TestRecorder_RepeatsCount: a repeat raises the count of the event it
// repeats, whether the cache has seen that event yet or not (the store
// refuses a second create, and the repeat is recorded on the stored one).
func TestRecorder_RepeatsCount(t *testing.T) {
	st := store.NewState(mustOpenBolt(t), quietLogger())
	rec := st.Recorder("test", quietLogger())
	ref := v1.ObjectReference{Kind: v1.KindTask, Name: "web"}
	// The caches never start here: every repeat meets a cache that is behind.
	for range 3 {
		rec.Eventf(t.Context(), ref, v1.EventNormal, "Tested", "a message")
	}
	events, _, err := st.Events.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d events; want one, counted 3 times", len(events))
	}
	if events[0].Count != 3 {
		t.Errorf("count %d, want 3", events[0].Count)
	}
}

// recordMany records n events about as many tasks from 8 goroutines on a
// running State over a bolt store, flushing now and then so that the
// queue never overflows, and returns once the last is stored.
func recordMany(t testing.TB, n int) *store.State {
	t.Helper()
	o := &countingObserver{}
	db, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), bolt.Options{Logger: quietLogger(), NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st := store.NewState(store.Instrument(db, o), quietLogger())
	statetest.Run(t, st)
	rec := st.Recorder("test", quietLogger())
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < n; i += 8 {
				rec.Eventf(t.Context(), v1.ObjectReference{Kind: v1.KindTask, Name: fmt.Sprintf("t-%06d", i)}, v1.EventNormal, "Tested", "a message")
				if i%1000 < 8 {
					// Let the writer keep up: a queue of more than
					// MaxEvents would drop the newest.
					if err := st.FlushEvents(t.Context()); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if err := st.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d := o.droppedEvents(); d != 0 {
		t.Fatalf("%d events dropped", d)
	}
	return st
}

// TestRecorder_TrimKeepsUpWithTheRecording: while events keep coming
// faster than a fixed share of deletes per round would remove them (a
// manager placing a thousand tasks a second records two thousand), the
// store stays near MaxEvents rather than growing with everything
// recorded.
func TestRecorder_TrimKeepsUpWithTheRecording(t *testing.T) {
	const n = 3 * store.MaxEvents
	st := recordMany(t, n)
	events, _, err := st.Events.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d events stored when the last of %d was written", len(events), n)
	if limit := store.MaxEvents + store.MaxEvents/2; len(events) > limit {
		t.Errorf("%d events stored when the last of %d was written; want the trim to keep up, at most %d", len(events), n, limit)
	}
}

// TestRecorder_TrimsToMaxEvents: past MaxEvents and a tenth, the oldest
// events are deleted down to MaxEvents, by the event writer a share at a
// time, while events keep being recorded from many goroutines.
func TestRecorder_TrimsToMaxEvents(t *testing.T) {
	st := recordMany(t, store.MaxEvents+store.MaxEvents/10+200)
	stored := func() int {
		kvs, _, err := st.Store.List(t.Context(), store.EventsPrefix)
		if err != nil {
			t.Fatal(err)
		}
		return len(kvs)
	}
	deadline := time.Now().Add(time.Minute)
	for n := stored(); n > store.MaxEvents+store.MaxEvents/10; n = stored() {
		if time.Now().After(deadline) {
			t.Fatalf("%d events kept a minute after the last; want at most %d", n, store.MaxEvents+store.MaxEvents/10)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := stored(); n < store.MaxEvents {
		t.Errorf("%d events stored; a trim keeps the newest %d", n, store.MaxEvents)
	}
}
