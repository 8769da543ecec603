package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

type taskChange = store.WatchEvent[*v1.Task]

// mustChanges reads n changes from ch, rendered "TYPE name image @rev".
func mustChanges(t *testing.T, ch <-chan taskChange, n int) ([]string, []taskChange) {
	t.Helper()
	var got []string
	var evs []taskChange
	for range n {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("got %q, then the watch closed; want %d changes", got, n)
			}
			got = append(got, fmt.Sprintf("%s %s %s @%d", ev.Type, ev.Object.Metadata.Name, ev.Object.Spec.Image, ev.Revision))
			evs = append(evs, ev)
		case <-time.After(eventTimeout):
			t.Fatalf("got %q, then nothing within %s; want %d changes", got, eventTimeout, n)
		}
	}
	return got, evs
}

// mustClose waits for ch to close, after at most the n changes it still holds.
func mustClose(t *testing.T, ch <-chan taskChange, n int) {
	t.Helper()
	for i := 0; ; i++ {
		select {
		case _, ok := <-ch:
			if !ok {
				if i != n {
					t.Errorf("the watch closed after %d changes, want %d", i, n)
				}
				return
			}
		case <-time.After(eventTimeout):
			t.Fatalf("the watch did not close within %s", eventTimeout)
		}
	}
}

func mustCacheWatch(t *testing.T, c *taskCache, ctx context.Context, rev int64) <-chan taskChange {
	t.Helper()
	ch, ok := c.Watch(ctx, rev)
	if !ok {
		t.Fatalf("Watch(%d) refused, the cache at %d", rev, c.Revision())
	}
	return ch
}

// mustStartFeed starts a cache of an empty store that keeps history
// changes for its watchers and lets each have buffer waiting; it returns
// the cache's revision once started.
func mustStartFeed(t *testing.T, history, buffer int) (*store.Resource[v1.Task, *v1.Task], *taskCache, int64) {
	t.Helper()
	r := newTasks(mustStore(t, bolt.Options{}))
	c := store.NewCache(r, quietLogger())
	store.SetFeedSizes(c, history, buffer)
	mustStartCache(t, c)
	return r, c, c.Revision()
}

// A watch of the cache has what a watch of the store from the same
// revision has, and hands out the cache's own objects.
func TestCache_WatchIsTheStoresWatchWithoutDecoding(t *testing.T) {
	ctx := t.Context()
	r, c, _ := mustStartFeed(t, 16, 16)
	mustCreateTask(t, r, "a", "a1")
	if err := c.WaitFor(ctx, mustCreateTask(t, r, "b", "b1")); err != nil {
		t.Fatal(err)
	}

	rev := c.Revision()
	fromCache := mustCacheWatch(t, c, ctx, rev)
	fromStore, err := r.Watch(ctx, rev)
	if err != nil {
		t.Fatalf("store Watch: %v", err)
	}
	mustChangeABC(t, r)

	got, evs := mustChanges(t, fromCache, 3)
	want, _ := mustChanges(t, fromStore, 3)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("cache watch = %q, store watch = %q", got, want)
	}
	for i, typ := range []v1.WatchEventType{v1.Added, v1.Modified, v1.Deleted} {
		if evs[i].Type != typ {
			t.Errorf("change %d is %s, want %s", i, evs[i].Type, typ)
		}
	}
	if cur, ok := c.Get("c"); !ok || cur != evs[0].Object {
		t.Error("the watch's Added c is not the object the cache holds")
	}
	if cur, _ := c.Get("a"); cur != evs[1].Object {
		t.Error("the watch's Modified a is not the object the cache holds")
	}
	if rv := evs[2].Object.Metadata.ResourceVersion; rv != store.FormatResourceVersion(evs[2].Revision) {
		t.Errorf("Deleted b has resourceVersion %s, want its delete's %d", rv, evs[2].Revision)
	}
	select {
	case ev := <-fromCache:
		t.Errorf("unexpected change %v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

// A watcher that resumes from a revision the cache has passed gets the
// changes after it from the cache's history while it holds them; from
// further back, or from ahead of the cache, Watch refuses.
func TestCache_WatchResumesFromItsHistory(t *testing.T) {
	ctx := t.Context()
	r, c, start := mustStartFeed(t, 3, 8)

	var revs []int64
	for i := range 5 {
		revs = append(revs, mustRev(t, mustCreateTask(t, r, fmt.Sprintf("t%d", i), "x")))
	}
	if err := c.WaitForRevision(ctx, revs[4]); err != nil {
		t.Fatal(err)
	}
	got, _ := mustChanges(t, mustCacheWatch(t, c, ctx, revs[2]), 2)
	want := fmt.Sprint([]string{
		fmt.Sprintf("ADDED t3 x @%d", revs[3]),
		fmt.Sprintf("ADDED t4 x @%d", revs[4]),
	})
	if fmt.Sprint(got) != want {
		t.Errorf("watch from %d = %q, want %s", revs[2], got, want)
	}
	// History holds the last three changes: t2, t3, t4.
	mustCacheWatch(t, c, ctx, revs[1])
	for _, rev := range []int64{start, revs[0], revs[4] + 1} {
		if _, ok := c.Watch(ctx, rev); ok {
			t.Errorf("Watch(%d) served with history from %d to %d", rev, revs[2], revs[4])
		}
	}
}

// A watcher that does not keep up is dropped, not waited for: the cache
// and the other watchers go on.
func TestCache_WatchDropsASlowWatcher(t *testing.T) {
	ctx := t.Context()
	r, c, rev := mustStartFeed(t, 2, 2)
	slow := mustCacheWatch(t, c, ctx, rev)
	quick := mustCacheWatch(t, c, ctx, rev)
	for i := range 4 {
		mustCreateTask(t, r, fmt.Sprintf("t%d", i), "x")
		mustChanges(t, quick, 1)
	}
	mustClose(t, slow, 2)
	if got := c.Len(); got != 4 {
		t.Errorf("the cache holds %d tasks, want 4", got)
	}
}

// The watchers end when the cache's own watch does; until it has listed
// again the cache serves none, and after that it serves again.
func TestCache_WatchEndsWithTheCachesWatch(t *testing.T) {
	ctx := t.Context()
	cs := &cutStore{Store: mustStore(t, bolt.Options{})}
	r := newTasks(cs)
	c := store.NewCache(r, quietLogger())
	mustStartCache(t, c)
	_, rev := c.ListRevision()
	ch := mustCacheWatch(t, c, ctx, rev)
	// A change the watch gets shows the cache's watch is open before it
	// is cut.
	mustCreateTask(t, r, "w", "w1")
	mustChanges(t, ch, 1)

	release := cs.holdLists()
	cs.cutWatches()
	mustClose(t, ch, 0)
	if _, ok := c.Watch(ctx, c.Revision()); ok {
		t.Error("Watch served while the cache was not watching")
	}
	release()
	x := mustCreateTask(t, r, "x", "x1")
	if err := c.WaitFor(ctx, x); err != nil {
		t.Fatal(err)
	}
	ch = mustCacheWatch(t, c, ctx, c.Revision())
	mustCreateTask(t, r, "y", "y1")
	if got, _ := mustChanges(t, ch, 1); got[0][:len("ADDED y")] != "ADDED y" {
		t.Errorf("after the re-list the watch got %q, want ADDED y", got)
	}
}

// A watch ends with its context.
func TestCache_WatchEndsWithItsContext(t *testing.T) {
	r := newTasks(mustStore(t, bolt.Options{}))
	c := store.NewCache(r, quietLogger())
	mustStartCache(t, c)
	ctx, cancel := context.WithCancel(t.Context())
	ch := mustCacheWatch(t, c, ctx, c.Revision())
	cancel()
	mustClose(t, ch, 0)
	if _, ok := c.Watch(ctx, c.Revision()); ok {
		t.Error("Watch served with a context that had ended")
	}
}
