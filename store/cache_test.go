package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// eventTimeout bounds waits for what must happen; it guards against
// hangs and is not a speed requirement.
const eventTimeout = 10 * time.Second

type taskCache = store.Cache[v1.Task, *v1.Task]
type taskEvent = store.CacheEvent[*v1.Task]

// mustStartCache runs c.Start until the test ends, checks that Start
// returns nil once stopped, and waits for the first list.
func mustStartCache(t *testing.T, c *taskCache) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Start returned %v after its context ended; want nil", err)
		}
	})
	if err := c.WaitForSync(t.Context()); err != nil {
		t.Fatalf("WaitForSync: %v", err)
	}
}

// recordEvents adds a handler that feeds a channel the test reads.
func recordEvents(c *taskCache) <-chan taskEvent {
	ch := make(chan taskEvent, 1000)
	c.AddHandler(func(ev taskEvent) { ch <- ev })
	return ch
}

// mustEvents reads n events, failing if they do not come.
func mustEvents(t *testing.T, ch <-chan taskEvent, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case ev := <-ch:
			got = append(got, describe(ev))
		case <-time.After(eventTimeout):
			t.Fatalf("got events %q, then nothing within %s; want %d", got, eventTimeout, n)
		}
	}
	return got
}

// mustNoEvents fails if an event is waiting or arrives shortly.
func mustNoEvents(t *testing.T, ch <-chan taskEvent) {
	t.Helper()
	select {
	case ev := <-ch:
		t.Fatalf("unexpected event %s", describe(ev))
	case <-time.After(50 * time.Millisecond):
	}
}

// describe renders an event as "TYPE name old-image->new-image".
func describe(ev taskEvent) string {
	img := func(t *v1.Task) string {
		if t == nil {
			return "nil"
		}
		return t.Spec.Image
	}
	name := ""
	if ev.New != nil {
		name = ev.New.Metadata.Name
	}
	return fmt.Sprintf("%s %s %s->%s", ev.Type, name, img(ev.Old), img(ev.New))
}

func names(tasks []*v1.Task) string {
	var out []string
	for _, t := range tasks {
		out = append(out, t.Metadata.Name)
	}
	return fmt.Sprint(out)
}

func TestCache_followsWatch(t *testing.T) {
	ctx := t.Context()
	r := newTasks(mustStore(t, bolt.Options{}))
	mustCreateTask(t, r, "b", "b1")
	mustCreateTask(t, r, "a", "a1")

	c := store.NewCache(r, quietLogger())
	events := recordEvents(c)
	mustStartCache(t, c)
	if got := mustEvents(t, events, 2); fmt.Sprint(got) != "[ADDED a nil->a1 ADDED b nil->b1]" {
		t.Errorf("initial events = %q", got)
	}

	cObj := mustChangeABC(t, r)
	want := "[ADDED c nil->c1 MODIFIED a a1->a2 DELETED b b1->b1]"
	if got := mustEvents(t, events, 3); fmt.Sprint(got) != want {
		t.Errorf("events = %q, want %s", got, want)
	}
	mustNoEvents(t, events)

	if got := names(c.List()); got != "[a c]" || c.Len() != 2 {
		t.Errorf("List = %s, Len = %d; want [a c], 2", got, c.Len())
	}
	if got, ok := c.Get("a"); !ok || got.Spec.Image != "a2" {
		t.Errorf("Get(a) = %v, %v; want image a2", got, ok)
	}
	if _, ok := c.Get("b"); ok {
		t.Error("Get(b) found a deleted task")
	}
	objs, rev := c.ListRevision()
	if stored, _, _ := r.List(ctx); rev < mustRev(t, cObj) || len(objs) != len(stored) {
		t.Errorf("ListRevision = %d objects at %d", len(objs), rev)
	}
	if c.Revision() != rev {
		t.Errorf("Revision = %d, ListRevision's = %d", c.Revision(), rev)
	}

	// List hands out a slice of the caller's own.
	list := c.List()
	list[0] = nil
	if c.List()[0] == nil {
		t.Error("changing List's slice changed the cache")
	}
}

// mustChangeABC creates c (image c1), changes a's image to a2 and deletes
// b, and returns c as created.
func mustChangeABC(t *testing.T, r *store.Resource[v1.Task, *v1.Task]) *v1.Task {
	t.Helper()
	ctx := t.Context()
	c := mustCreateTask(t, r, "c", "c1")
	a, err := r.Get(ctx, "a")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	a.Spec.Image = "a2"
	if _, err := r.Update(ctx, a); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if err := r.Delete(ctx, "b", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	return c
}

func TestCache_indexes(t *testing.T) {
	ctx := t.Context()
	r := newTasks(mustStore(t, bolt.Options{}))
	c := store.NewCache(r, quietLogger())
	c.AddIndex("worker", func(t *v1.Task) []string {
		if t.Status.Worker == "" {
			return nil
		}
		return []string{t.Status.Worker}
	})
	c.AddIndex("image", func(t *v1.Task) []string { return []string{t.Spec.Image} })
	events := recordEvents(c)

	place := func(name, worker string) {
		t.Helper()
		if _, err := r.GuaranteedUpdate(ctx, name, func(t *v1.Task) (*v1.Task, error) {
			t.Status.Worker = worker
			return t, nil
		}); err != nil {
			t.Fatalf("place %s on %s: %v", name, worker, err)
		}
	}
	for _, n := range []string{"t1", "t2", "t3", "t4"} {
		mustCreateTask(t, r, n, "img")
	}
	place("t1", "w1")
	place("t3", "w1")
	mustStartCache(t, c)
	mustEvents(t, events, 4)

	place("t2", "w2")
	place("t3", "w2") // moves
	if err := r.Delete(ctx, "t1", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	mustEvents(t, events, 3)

	tests := []struct {
		index, value, want string
	}{
		{"worker", "w1", "[]"},
		{"worker", "w2", "[t2 t3]"},
		{"worker", "", "[]"},
		{"image", "img", "[t2 t3 t4]"},
		{"missing-index", "img", "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.index+"="+tt.value, func(t *testing.T) {
			if got := names(c.ByIndex(tt.index, tt.value)); got != tt.want {
				t.Errorf("ByIndex(%s, %s) = %s, want %s", tt.index, tt.value, got, tt.want)
			}
		})
	}

	// An index added late covers what the cache already holds.
	c.AddIndex("late", func(t *v1.Task) []string { return []string{t.Metadata.Name[:1]} })
	if got := names(c.ByIndex("late", "t")); got != "[t2 t3 t4]" {
		t.Errorf("late index = %s", got)
	}
}

// cutStore wraps a Store so a test can end every open watch at once, hold
// Lists until it lets them go, and fail Watch calls with ErrCompacted.
type cutStore struct {
	store.Store
	lists atomic.Int32

	mu         sync.Mutex
	watches    []*cutWatch
	gate       chan struct{} // when set, List waits for it to close
	compacting int           // Watch calls still to fail
}

type cutWatch struct {
	cut, done chan struct{}
}

func (s *cutStore) List(ctx context.Context, prefix string) ([]store.KeyValue, int64, error) {
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, 0, ctx.Err()
		}
	}
	s.lists.Add(1)
	return s.Store.List(ctx, prefix)
}

func (s *cutStore) Watch(ctx context.Context, prefix string, rev int64) (<-chan store.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.compacting > 0 {
		s.compacting--
		return nil, fmt.Errorf("watch %s from %d: %w", prefix, rev, store.ErrCompacted)
	}
	in, err := s.Store.Watch(ctx, prefix, rev)
	if err != nil {
		return nil, err
	}
	w := &cutWatch{cut: make(chan struct{}), done: make(chan struct{})}
	s.watches = append(s.watches, w)
	out := make(chan store.Event)
	go func() {
		defer close(w.done)
		defer close(out)
		for {
			select {
			case <-w.cut:
				return
			case ev, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- ev:
				case <-w.cut:
					return
				}
			}
		}
	}()
	return out, nil
}

// holdLists makes Lists wait until the returned func is called.
func (s *cutStore) holdLists() (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gate = nil
		s.mu.Unlock()
		close(gate)
	}
}

// cutWatches ends every open watch; once it returns, none forwards
// anything more.
func (s *cutStore) cutWatches() {
	s.mu.Lock()
	watches := s.watches
	s.watches = nil
	s.mu.Unlock()
	for _, w := range watches {
		close(w.cut)
		<-w.done
	}
}

func TestCache_relistAfterWatchEnds(t *testing.T) {
	ctx := t.Context()
	cs := &cutStore{Store: mustStore(t, bolt.Options{})}
	r := newTasks(cs)
	mustCreateTask(t, r, "keep", "k1")
	mustCreateTask(t, r, "y", "y1")

	c := store.NewCache(r, quietLogger())
	events := recordEvents(c)
	mustStartCache(t, c)
	mustEvents(t, events, 2)
	// An event after the list shows the watch is open before it is cut.
	z := mustCreateTask(t, r, "z", "z1")
	mustEvents(t, events, 1)

	// While the cache is cut off: add x, delete y, change z.
	release := cs.holdLists()
	cs.cutWatches()
	mustCreateTask(t, r, "x", "x1")
	if err := r.Delete(ctx, "y", ""); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	z.Spec.Image = "z2"
	if _, err := r.Update(ctx, z); err != nil {
		t.Fatalf("Update: %v", err)
	}
	mustNoEvents(t, events)
	release()

	want := "[ADDED x nil->x1 DELETED y y1->y1 MODIFIED z z1->z2]"
	if got := mustEvents(t, events, 3); fmt.Sprint(got) != want {
		t.Errorf("events after the re-list = %q, want %s", got, want)
	}
	if n := cs.lists.Load(); n != 2 {
		t.Errorf("lists = %d, want 2", n)
	}
	if got := names(c.List()); got != "[keep x z]" {
		t.Errorf("List after the re-list = %s, want [keep x z]", got)
	}
	if got, _ := c.Get("z"); got.Spec.Image != "z2" {
		t.Errorf("Get(z) image = %s, want z2", got.Spec.Image)
	}

	// The new watch carries on.
	w := mustCreateTask(t, r, "w", "w1")
	if got := mustEvents(t, events, 1); fmt.Sprint(got) != "[ADDED w nil->w1]" {
		t.Errorf("event after the re-list = %q", got)
	}
	if err := c.WaitForRevision(ctx, mustRev(t, w)); err != nil {
		t.Fatalf("WaitForRevision: %v", err)
	}
}

func TestCache_relistWhenCompacted(t *testing.T) {
	cs := &cutStore{Store: mustStore(t, bolt.Options{}), compacting: 1}
	r := newTasks(cs)
	mustCreateTask(t, r, "a", "a1")
	c := store.NewCache(r, quietLogger())
	events := recordEvents(c)
	mustStartCache(t, c)
	mustEvents(t, events, 1)

	b := mustCreateTask(t, r, "b", "b1")
	if err := c.WaitForRevision(t.Context(), mustRev(t, b)); err != nil {
		t.Fatalf("WaitForRevision: %v", err)
	}
	if got := mustEvents(t, events, 1); fmt.Sprint(got) != "[ADDED b nil->b1]" {
		t.Errorf("events = %q", got)
	}
	if n := cs.lists.Load(); n != 2 {
		t.Errorf("lists = %d, want 2 (one failed watch, one re-list)", n)
	}
}

func TestCache_WaitForRevision(t *testing.T) {
	r := newTasks(mustStore(t, bolt.Options{}))
	c := store.NewCache(r, quietLogger())
	mustStartCache(t, c)

	// A read right after a write sees it once the cache has the revision.
	for i := range 20 {
		name := "t" + strconv.Itoa(i)
		obj := mustCreateTask(t, r, name, "img")
		if err := c.WaitForRevision(t.Context(), mustRev(t, obj)); err != nil {
			t.Fatalf("WaitForRevision: %v", err)
		}
		if _, ok := c.Get(name); !ok {
			t.Fatalf("Get(%s) after WaitForRevision found nothing", name)
		}
	}

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	err := c.WaitForRevision(ctx, c.Revision()+1000)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitForRevision of a revision never reached: %v, want DeadlineExceeded", err)
	}
}

// A caller woken by WaitForRevision reads what the handlers keep too (the
// manager's ledger of tasks per worker, the scheduler's placements): the
// wait ends only after the handlers have been handed the change.
func TestCache_WaitForRevisionWaitsForTheHandlers(t *testing.T) {
	r := newTasks(mustStore(t, bolt.Options{}))
	c := store.NewCache(r, quietLogger())
	var (
		seen    sync.Map // names the handler has finished with
		entered = make(chan string, 10)
		release = make(chan struct{})
		once    sync.Once
	)
	// Released before the cache stops (cleanups run last first), also
	// when the test fails early.
	defer once.Do(func() { close(release) })
	c.AddHandler(func(ev taskEvent) {
		if ev.New.Metadata.Name == "held" {
			entered <- "held"
			<-release
		}
		seen.Store(ev.New.Metadata.Name, true)
	})
	mustStartCache(t, c)

	obj := mustCreateTask(t, r, "held", "img")
	select {
	case <-entered:
	case <-time.After(eventTimeout):
		t.Fatal("the handler was not handed the change")
	}
	// The objects already hold the change; the handler has not finished.
	waited := make(chan error, 1)
	go func() { waited <- c.WaitForRevision(t.Context(), mustRev(t, obj)) }()
	select {
	case err := <-waited:
		t.Fatalf("WaitForRevision returned (%v) while a handler still held the change", err)
	case <-time.After(50 * time.Millisecond):
	}
	once.Do(func() { close(release) })
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("WaitForRevision: %v", err)
		}
	case <-time.After(eventTimeout):
		t.Fatal("WaitForRevision did not return after the handler finished")
	}
	if _, ok := seen.Load("held"); !ok {
		t.Error("WaitForRevision returned before the handler had finished with the change")
	}
}

func TestCache_startTwice(t *testing.T) {
	c := store.NewCache(newTasks(mustStore(t, bolt.Options{})), quietLogger())
	mustStartCache(t, c)
	if err := c.Start(t.Context()); err == nil {
		t.Error("second Start succeeded")
	}
}

func TestCache_waitForSyncCanceled(t *testing.T) {
	c := store.NewCache(newTasks(mustStore(t, bolt.Options{})), quietLogger())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.WaitForSync(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("WaitForSync before Start = %v, want context.Canceled", err)
	}
	if c.HasSynced() {
		t.Error("HasSynced before Start")
	}
}

// mustFill creates n tasks with parallel writers.
func mustFill(tb testing.TB, r *store.Resource[v1.Task, *v1.Task], n int) {
	tb.Helper()
	const writers = 64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if _, err := r.Create(tb.Context(), newTask(fmt.Sprintf("task-%05d", i), "nginx:1.27")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

func BenchmarkCacheList(b *testing.B) {
	const tasks = 10000
	s := mustStore(b, bolt.Options{NoSync: true})
	r := newTasks(s)
	mustFill(b, r, tasks)
	c := store.NewCache(r, quietLogger())
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	defer func() { cancel(); <-done }()
	if err := c.WaitForSync(b.Context()); err != nil {
		b.Fatal(err)
	}

	b.Run("List", func(b *testing.B) {
		for b.Loop() {
			if got := c.List(); len(got) != tasks {
				b.Fatalf("List returned %d tasks", len(got))
			}
		}
	})
	b.Run("Get", func(b *testing.B) {
		for b.Loop() {
			if _, ok := c.Get("task-05000"); !ok {
				b.Fatal("missing")
			}
		}
	})
	b.Run("ListAfterChange", func(b *testing.B) {
		// An add and a delete in between: List must not pay for them.
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			name := fmt.Sprintf("extra-%d", i)
			mustCreateTask(b, r, name, "x")
			if err := r.Delete(b.Context(), name, ""); err != nil {
				b.Fatal(err)
			}
			rev, err := s.Revision(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if err := c.WaitForRevision(b.Context(), rev); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			c.List()
		}
	})
}
