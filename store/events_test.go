package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// gatedStore holds every event create until open is closed (or the
// create's ctx ends), and tells each one that arrives on entered (when
// there is room).
type gatedStore struct {
	store.Store
	entered chan string
	open    chan struct{}
}

func newGatedStore(t *testing.T) *gatedStore {
	return &gatedStore{Store: mustStore(t, bolt.Options{NoSync: true}), entered: make(chan string, 100), open: make(chan struct{})}
}

func (g *gatedStore) Create(ctx context.Context, key string, value []byte) (int64, error) {
	if strings.HasPrefix(key, store.EventsPrefix) {
		select {
		case g.entered <- key:
		default:
		}
		select {
		case <-g.open:
		case <-ctx.Done():
			// The writer gave up on the round (a failed test stops the
			// State before it opens the gate): fail, not hang.
			return 0, ctx.Err()
		}
	}
	return g.Store.Create(ctx, key, value)
}

// startState runs st until the test ends and returns a function that
// stops it and waits for Start to return.
func startState(t *testing.T, st *store.State) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Start(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("start: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	if err := st.WaitForSync(t.Context()); err != nil {
		t.Fatal(err)
	}
	return stop
}

func taskRef(name string) v1.ObjectReference {
	return v1.ObjectReference{Kind: v1.KindTask, Name: name}
}

// waitEntered waits for the gated store to be asked for an event create.
func waitEntered(t *testing.T, g *gatedStore) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("no event create reached the store")
	}
}

// returnsSoon runs fn and fails the test if it has not returned after a
// generous while: fn must not wait for the store.
func returnsSoon(t *testing.T, what string, fn func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s waited for the store", what)
	}
}

func storedEvents(t *testing.T, st *store.State) map[string]*v1.Event {
	t.Helper()
	events, _, err := st.Events.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string]*v1.Event)
	for _, e := range events {
		out[e.InvolvedObject.Name+" "+e.Reason] = e
	}
	return out
}

// TestRecorder_DoesNotWaitForTheStore: while the State runs, Eventf
// queues the event and returns, even when the store takes its time; the
// events are stored once it does, with repeats queued meanwhile counted
// into one write.
func TestRecorder_DoesNotWaitForTheStore(t *testing.T) {
	g := newGatedStore(t)
	o := &countingObserver{}
	st := store.NewState(store.Instrument(g, o), quietLogger())
	startState(t, st)
	rec := st.Recorder("test", quietLogger())

	returnsSoon(t, "Eventf", func() { rec.Eventf(t.Context(), taskRef("a"), v1.EventNormal, "First", "the first") })
	waitEntered(t, g) // the writer holds "a"
	returnsSoon(t, "Eventf", func() {
		for range 5 {
			rec.Eventf(t.Context(), taskRef("b"), v1.EventNormal, "Repeated", "again")
		}
	})
	close(g.open)
	if err := st.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := storedEvents(t, st)
	if a := got["a First"]; a == nil || a.Count != 1 {
		t.Errorf("event about a: %+v, want one counted once", a)
	}
	if b := got["b Repeated"]; b == nil || b.Count != 5 || b.Source != "test" {
		t.Errorf("event about b: %+v, want one from test counted 5 times", b)
	}
	if n := o.count("create ok"); n != 2 {
		t.Errorf("%d creates, want 2: the repeats that queued together are one write", n)
	}
	if d := o.droppedEvents(); d != 0 {
		t.Errorf("%d events dropped", d)
	}
}

// TestRecorder_DropsWhenTheQueueIsFull: past the queue's bound a new event
// is dropped and counted, without waiting; repeats of queued events still
// count; the queued ones are stored.
func TestRecorder_DropsWhenTheQueueIsFull(t *testing.T) {
	g := newGatedStore(t)
	o := &countingObserver{}
	st := store.NewState(store.Instrument(g, o), quietLogger())
	const bound = 100
	store.SetEventQueueBound(st, bound)
	startState(t, st)
	rec := st.Recorder("test", quietLogger())

	rec.Eventf(t.Context(), taskRef("held"), v1.EventNormal, "Held", "held by the store")
	waitEntered(t, g)
	returnsSoon(t, "Eventf past the bound", func() {
		for i := range bound {
			rec.Eventf(t.Context(), taskRef(fmt.Sprintf("t-%05d", i)), v1.EventNormal, "Queued", "queued")
		}
		rec.Eventf(t.Context(), taskRef("over"), v1.EventNormal, "Over", "one too many")
		rec.Eventf(t.Context(), taskRef("t-00000"), v1.EventNormal, "Queued", "queued")
	})
	if d := o.droppedEvents(); d != 1 {
		t.Fatalf("%d events dropped, want 1", d)
	}
	close(g.open)
	if err := st.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := storedEvents(t, st)
	if got["over Over"] != nil {
		t.Error("the event past the bound was stored")
	}
	if e := got["t-00000 Queued"]; e == nil || e.Count != 2 {
		t.Errorf("the repeated queued event: %+v, want it counted twice", e)
	}
	if len(got) != bound+1 {
		t.Errorf("%d events stored, want the %d queued and the held one", len(got), bound)
	}
}

// TestState_StopWritesQueuedEvents: Start returns only after the events
// queued when its context ended are stored; Eventf after that writes the
// event itself.
func TestState_StopWritesQueuedEvents(t *testing.T) {
	g := newGatedStore(t)
	st := store.NewState(g, quietLogger())
	stop := startState(t, st)
	rec := st.Recorder("test", quietLogger())

	rec.Eventf(t.Context(), taskRef("a"), v1.EventNormal, "First", "the first")
	waitEntered(t, g)
	rec.Eventf(t.Context(), taskRef("b"), v1.EventNormal, "Second", "the second")
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		stop()
	}()
	select {
	case <-stopped:
		t.Fatal("Start returned with events still queued")
	case <-time.After(100 * time.Millisecond):
	}
	close(g.open)
	<-stopped
	got := storedEvents(t, st)
	if got["a First"] == nil || got["b Second"] == nil {
		t.Fatalf("stored %v, want the events about a and b", got)
	}
	rec.Eventf(t.Context(), taskRef("c"), v1.EventNormal, "Third", "after the stop")
	if storedEvents(t, st)["c Third"] == nil {
		t.Error("an event recorded after the stop was not written")
	}
}

// TestRecorder_TrimsEachObject: past MaxEventsPerObject events about one
// object, the oldest are deleted and the newest kept.
func TestRecorder_TrimsEachObject(t *testing.T) {
	st := store.NewState(mustStore(t, bolt.Options{NoSync: true}), quietLogger())
	startState(t, st)
	rec := st.Recorder("test", quietLogger())
	const n = store.MaxEventsPerObject + 20
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		store.SetNow(rec, func() time.Time { return base.Add(time.Duration(i) * time.Second) })
		rec.Eventf(t.Context(), taskRef("web"), v1.EventNormal, "Step", fmt.Sprintf("step %03d", i))
		// One round each: the events of one round are written
		// together, in no order, and the trim goes by the order of
		// the writes.
		if err := st.FlushEvents(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := st.FlushEvents(t.Context()); err != nil {
			t.Fatal(err)
		}
		events, _, err := st.Events.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(events) == store.MaxEventsPerObject {
			oldest := events[0]
			for _, e := range events {
				if e.LastTimestamp.Before(oldest.LastTimestamp) {
					oldest = e
				}
			}
			if want := fmt.Sprintf("step %03d", n-store.MaxEventsPerObject); oldest.Message != want {
				t.Errorf("oldest kept %q, want %q", oldest.Message, want)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events about one object kept, want %d", len(events), store.MaxEventsPerObject)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestListEvents_ByObject: the events about an object are read from the
// store, oldest first, as they are recorded, repeated and deleted, and
// only theirs: not those of an object whose name starts with its name
// and a dot (task "web.x" for task "web"), nor those of a file whose name
// differs in a "/" against a "_" (their events' names share a prefix).
func TestListEvents_ByObject(t *testing.T) {
	st := store.NewState(mustStore(t, bolt.Options{NoSync: true}), quietLogger())
	startState(t, st)
	rec := st.Recorder("test", quietLogger())
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	record := func(at int, ref v1.ObjectReference, reason string) {
		store.SetNow(rec, func() time.Time { return base.Add(time.Duration(at) * time.Second) })
		rec.Eventf(t.Context(), ref, v1.EventNormal, reason, reason+" "+ref.Name)
		if err := st.FlushEvents(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	file := func(name string) v1.ObjectReference { return v1.ObjectReference{Kind: "File", Name: name} }
	record(1, taskRef("web"), "Scheduled")
	record(2, taskRef("db"), "Scheduled")
	record(3, taskRef("web"), "Started")
	record(4, taskRef("web"), "Scheduled") // a repeat: now the newest
	record(5, taskRef("web.x"), "Scheduled")
	record(6, file("dir/a.yaml"), "Applied")
	record(7, file("dir_a.yaml"), "Refused")
	reasons := func(kind, name, want string) {
		t.Helper()
		events, rev, err := st.ListEvents(t.Context(), kind, name)
		if err != nil {
			t.Fatal(err)
		}
		if rev == 0 {
			t.Error("the list has no revision")
		}
		var got []string
		for _, e := range events {
			got = append(got, fmt.Sprintf("%s/%d", e.Reason, e.Count))
		}
		if strings.Join(got, ",") != want {
			t.Errorf("events about %s %s: %v, want %s", kind, name, got, want)
		}
	}
	reasons(v1.KindTask, "web", "Started/1,Scheduled/2")
	reasons(v1.KindTask, "db", "Scheduled/1")
	reasons(v1.KindTask, "web.x", "Scheduled/1")
	reasons("File", "dir/a.yaml", "Applied/1")
	reasons("File", "dir_a.yaml", "Refused/1")
	reasons(v1.KindTask, "nope", "")
	reasons("", "", "Scheduled/1,Started/1,Scheduled/2,Scheduled/1,Applied/1,Refused/1")
	events, _, err := st.ListEvents(t.Context(), v1.KindTask, "web")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Reason == "Started" {
			if err := st.Events.Delete(t.Context(), e.Metadata.Name, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	reasons(v1.KindTask, "web", "Scheduled/2")
}

// TestRecorder_TrimsWhatOthersWrote: the bounds count the events another
// manager stores too (seen through the watch of the store), and an event
// another manager deleted is not counted.
func TestRecorder_TrimsWhatOthersWrote(t *testing.T) {
	st := store.NewState(mustStore(t, bolt.Options{NoSync: true}), quietLogger())
	startState(t, st)
	// The other manager: a second State over the same store.
	other := store.NewState(st.Store, quietLogger())
	startState(t, other)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	theirs := other.Recorder("other", quietLogger())
	for i := range store.MaxEventsPerObject + 1 {
		store.SetNow(theirs, func() time.Time { return base.Add(time.Duration(i) * time.Second) })
		theirs.Eventf(t.Context(), taskRef("web"), v1.EventNormal, "Step", fmt.Sprintf("step %03d", i))
		if err := other.FlushEvents(t.Context()); err != nil { // one round each, as in TestRecorder_TrimsEachObject
			t.Fatal(err)
		}
	}
	// The other manager trims its own 51st; wait for the store to hold 50.
	waitStored := func(want int) []*v1.Event {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			events, _, err := st.ListEvents(t.Context(), v1.KindTask, "web")
			if err != nil {
				t.Fatal(err)
			}
			if len(events) == want {
				return events
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d events about web stored, want %d", len(events), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	events := waitStored(store.MaxEventsPerObject)
	// Deleted behind both writers' backs: not counted once the watch has
	// it.
	if err := st.Events.Delete(t.Context(), events[len(events)-1].Metadata.Name, ""); err != nil {
		t.Fatal(err)
	}
	waitIndexed := func(want int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for store.IndexedEvents(st) != want {
			if time.Now().After(deadline) {
				t.Fatalf("the index knows %d events, want %d", store.IndexedEvents(st), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitIndexed(store.MaxEventsPerObject - 1)
	ours := st.Recorder("ours", quietLogger())
	store.SetNow(ours, func() time.Time { return base.Add(time.Hour) })
	ours.Eventf(t.Context(), taskRef("web"), v1.EventNormal, "Mine", "the 50th")
	if err := st.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitStored(store.MaxEventsPerObject)
	store.SetNow(ours, func() time.Time { return base.Add(2 * time.Hour) })
	ours.Eventf(t.Context(), taskRef("web"), v1.EventNormal, "Mine", "the 51st")
	if err := st.FlushEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	events = waitStored(store.MaxEventsPerObject)
	if want := "step 002"; events[0].Message != want {
		t.Errorf("oldest kept %q, want %q: the oldest of the other manager's go first", events[0].Message, want)
	}
	if last := events[len(events)-1]; last.Message != "the 51st" || last.Source != "ours" {
		t.Errorf("newest %s %q, want ours, the 51st", last.Source, last.Message)
	}
}

// BenchmarkListEvents is what a list of events costs now that it reads
// the store: every one of 20,000 events (about 10,000 tasks at two
// each), and the events about one task.
func BenchmarkListEvents(b *testing.B) {
	st := recordMany(b, store.MaxEvents)
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			events, _, err := st.ListEvents(b.Context(), "", "")
			if err != nil || len(events) != store.MaxEvents {
				b.Fatalf("%d events, %v", len(events), err)
			}
		}
	})
	b.Run("one task", func(b *testing.B) {
		for b.Loop() {
			events, _, err := st.ListEvents(b.Context(), v1.KindTask, "t-001234")
			if err != nil || len(events) != 1 {
				b.Fatalf("%d events, %v", len(events), err)
			}
		}
	})
}
