package store

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Re-list backoff of a Cache: a watch that delivered changes and then
// ended is followed by a list after relistDelay; each list or watch that
// fails (or ends without delivering anything) doubles the wait up to
// maxRelistDelay.
const (
	relistDelay    = 50 * time.Millisecond
	maxRelistDelay = 10 * time.Second
)

// CacheEvent is one change a Cache hands to its handlers.
type CacheEvent[P any] struct {
	// Type is v1.Added, v1.Modified or v1.Deleted.
	Type v1.WatchEventType
	// Old is the object before the change; nil for Added.
	Old P
	// New is the object after the change; for Deleted, its last state.
	New P
}

// Cache keeps every object of one kind in memory, current through a List
// followed by a Watch from the list's revision, the way a Kubernetes
// informer does. Reads never touch the store: Get, List and ByIndex cost
// a map lookup or a slice copy even at tens of thousands of objects. The
// objects List copies are kept in name order as changes arrive rather than
// sorted again (re-sorting 10,000 objects after a change costs
// milliseconds), in chunks (byName), so that a change in the middle moves
// at most a chunk, not every object after it.
//
// When its watch ends (the store dropped a reader that fell behind, the
// history was compacted, the store restarted) the cache lists again, with
// backoff, and hands its handlers synthetic Added, Modified and Deleted
// events for what changed in between, so handlers see every object's
// latest state even if they miss intermediate ones.
//
// Objects handed out by a Cache, to readers and to handlers, are shared
// and read-only: call DeepCopy before changing one.
type Cache[T any, P interface {
	*T
	v1.Object
}] struct {
	r   *Resource[T, P]
	log *slog.Logger

	started atomic.Bool
	synced  firstList

	mu      sync.RWMutex
	objs    map[string]P
	sorted  byName[P]     // every object, ordered by name; never handed out
	rev     int64         // the revision the objects reflect
	handled int64         // the revision the handlers have been handed; at most rev
	revCh   chan struct{} // closed when handled moves, once someone waits on it
	waiting bool          // someone holds revCh

	indexers map[string]func(P) []string
	indexes  map[string]map[string]map[string]P // index -> value -> name -> object
	handlers []func(CacheEvent[P])

	// compact, when set, makes an object smaller before the cache keeps
	// it (compact.go). Set before Start.
	compact func(P)

	// feed serves Watch (cache_watch.go); guarded by mu.
	feed watchFeed[P]
}

// NewCache returns a cache of r's objects. It holds nothing until Start
// has run its first list. A nil logger means slog.Default().
func NewCache[T any, P interface {
	*T
	v1.Object
}](r *Resource[T, P], logger *slog.Logger) *Cache[T, P] {
	if logger == nil {
		logger = slog.Default()
	}
	return &Cache[T, P]{
		r:        r,
		log:      logger,
		synced:   newFirstList(r.kind + " cache"),
		objs:     make(map[string]P),
		revCh:    make(chan struct{}),
		indexers: make(map[string]func(P) []string),
		indexes:  make(map[string]map[string]map[string]P),
		feed:     newWatchFeed[P](),
	}
}

// AddIndex adds an index: fn returns the values an object is found under
// by ByIndex(name, value). fn must be a pure function of the object. Call
// it before Start; a later call indexes the objects held at that moment
// and goes on from there.
func (c *Cache[T, P]) AddIndex(name string, fn func(P) []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.indexers[name] = fn
	c.indexes[name] = make(map[string]map[string]P)
	for objName, obj := range c.objs {
		c.indexAdd(name, fn, objName, obj)
	}
}

// AddHandler adds fn to the handlers called on every change. Handlers run
// one at a time, in the order added, from the goroutine of Start, after
// the cache holds the change; a handler that blocks delays every later
// change, so it should only queue work. Call it before Start; a handler
// added later misses what came before.
func (c *Cache[T, P]) AddHandler(fn func(ev CacheEvent[P])) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.handlers = append(c.handlers, fn)
}

// Start lists the objects, then watches for changes, and lists again
// whenever the watch ends, until ctx ends. It returns nil once ctx has
// ended and its goroutines have stopped, or an error at once if the cache
// was already started.
func (c *Cache[T, P]) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return fmt.Errorf("%s cache: already started", c.r.kind)
	}
	relist(ctx, c.log, c.r.kind, c.listAndWatch, c.Revision)
	return nil
}

// relist runs listAndWatch until ctx ends: again after each end of its
// watch, after relistDelay when the watch delivered changes, with a
// delay that doubles up to maxRelistDelay while lists or watches fail
// or end empty. kind and revision (what the list and watch reflect)
// are for the log.
func relist(ctx context.Context, log *slog.Logger, kind string, listAndWatch func(context.Context) (bool, error), revision func() int64) {
	failures := 0
	for {
		delivered, err := listAndWatch(ctx)
		if ctx.Err() != nil {
			return
		}
		if delivered {
			failures = 0
		} else {
			failures++
		}
		delay := min(relistDelay<<failures, maxRelistDelay)
		if err != nil {
			log.Warn("list and watch failed; listing again", "kind", kind, "err", err, "in", delay)
		} else {
			log.Info("watch ended; listing again", "kind", kind, "revision", revision(), "in", delay)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// listAndWatch lists, then applies watched changes until the watch ends.
// It reports whether the watch delivered anything.
func (c *Cache[T, P]) listAndWatch(ctx context.Context) (delivered bool, err error) {
	items, rev, err := c.r.List(ctx)
	if err != nil {
		return false, err
	}
	if c.compact != nil {
		for _, obj := range items {
			c.compact(obj)
		}
	}
	c.replace(items, rev)
	// What changes after the watch ends, until the next list, is not
	// seen: the cache's own watchers end with its watch.
	defer func() {
		c.mu.Lock()
		c.feed.end()
		c.mu.Unlock()
	}()

	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := c.r.Watch(wctx, rev)
	if err != nil {
		return false, err
	}
	defer func() {
		// Wait for the watch goroutine: it closes ch when it ends.
		cancel()
		for range ch {
		}
	}()
	for ev := range ch {
		delivered = true
		if c.compact != nil {
			c.compact(ev.Object)
		}
		c.apply(ev)
	}
	return delivered, nil
}

// replace installs a fresh list and hands the handlers the difference
// from what the cache held, ordered by name.
func (c *Cache[T, P]) replace(items []P, rev int64) {
	c.mu.Lock()
	objs := make(map[string]P, len(items))
	var events []CacheEvent[P]
	for i, obj := range items {
		name := obj.GetObjectMeta().Name
		old, had := c.objs[name]
		switch {
		case !had:
			events = append(events, CacheEvent[P]{Type: v1.Added, New: obj})
		case old.GetObjectMeta().ResourceVersion != obj.GetObjectMeta().ResourceVersion:
			events = append(events, CacheEvent[P]{Type: v1.Modified, Old: old, New: obj})
		default:
			obj = old // unchanged: keep the object readers already hold
			items[i] = old
		}
		objs[name] = obj
	}
	for name, old := range c.objs {
		if _, ok := objs[name]; !ok {
			events = append(events, CacheEvent[P]{Type: v1.Deleted, Old: old, New: old})
		}
	}
	c.objs = objs
	// The store lists in key order, which is name order.
	c.sorted.reset(items)
	for index, fn := range c.indexers {
		c.indexes[index] = make(map[string]map[string]P)
		for name, obj := range objs {
			c.indexAdd(index, fn, name, obj)
		}
	}
	c.rev = max(c.rev, rev)
	c.feed.restart(rev)
	handlers := c.handlers
	c.mu.Unlock()

	slices.SortFunc(events, func(a, b CacheEvent[P]) int {
		return cmp.Compare(a.New.GetObjectMeta().Name, b.New.GetObjectMeta().Name)
	})
	c.dispatch(handlers, events...)
	c.handledUpTo(rev)
	c.synced.done()
}

// apply installs one watched change and hands it to the handlers.
func (c *Cache[T, P]) apply(ev WatchEvent[P]) {
	name := ev.Object.GetObjectMeta().Name
	c.mu.Lock()
	old, had := c.objs[name]
	var ce CacheEvent[P]
	switch {
	case ev.Type == v1.Deleted && !had:
		// Nothing to remove; only the revision moves.
	case ev.Type == v1.Deleted:
		delete(c.objs, name)
		c.unindex(name, old)
		c.sorted.delete(name)
		ce = CacheEvent[P]{Type: v1.Deleted, Old: old, New: ev.Object}
	case had:
		c.objs[name] = ev.Object
		c.unindex(name, old)
		c.index(name, ev.Object)
		c.sorted.set(ev.Object)
		ce = CacheEvent[P]{Type: v1.Modified, Old: old, New: ev.Object}
	default:
		c.objs[name] = ev.Object
		c.index(name, ev.Object)
		c.sorted.set(ev.Object)
		ce = CacheEvent[P]{Type: v1.Added, New: ev.Object}
	}
	c.rev = max(c.rev, ev.Revision)
	c.feed.publish(ev)
	handlers := c.handlers
	c.mu.Unlock()
	if ce.Type != "" {
		c.dispatch(handlers, ce)
	}
	c.handledUpTo(ev.Revision)
}

func (c *Cache[T, P]) dispatch(handlers []func(CacheEvent[P]), events ...CacheEvent[P]) {
	for _, ev := range events {
		for _, h := range handlers {
			h(ev)
		}
	}
}

// handledUpTo notes that the handlers have been handed every change up to
// rev, and wakes WaitForRevision. It runs after the handlers, so that a
// caller woken by it finds what the handlers keep (an index, a ledger, a
// queued key) up to date as well as the objects.
func (c *Cache[T, P]) handledUpTo(rev int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if rev <= c.handled {
		return
	}
	c.handled = rev
	if c.waiting {
		close(c.revCh)
		c.revCh, c.waiting = make(chan struct{}), false
	}
}

func (c *Cache[T, P]) index(name string, obj P) {
	for index, fn := range c.indexers {
		c.indexAdd(index, fn, name, obj)
	}
}

func (c *Cache[T, P]) indexAdd(index string, fn func(P) []string, name string, obj P) {
	values := c.indexes[index]
	for _, v := range fn(obj) {
		set := values[v]
		if set == nil {
			set = make(map[string]P)
			values[v] = set
		}
		set[name] = obj
	}
}

func (c *Cache[T, P]) unindex(name string, obj P) {
	for index, fn := range c.indexers {
		values := c.indexes[index]
		for _, v := range fn(obj) {
			delete(values[v], name)
			if len(values[v]) == 0 {
				delete(values, v)
			}
		}
	}
}

// WaitForSync returns nil once the first list is in and its objects have
// been handed to the handlers, or ctx's error if ctx ends first.
func (c *Cache[T, P]) WaitForSync(ctx context.Context) error { return c.synced.wait(ctx) }

// HasSynced reports whether the first list is in.
func (c *Cache[T, P]) HasSynced() bool { return c.synced.in() }

// firstList is closed once a first list is in, for a cache or an index
// that lists and watches.
type firstList struct {
	what string
	ch   chan struct{}
	once *sync.Once
}

func newFirstList(what string) firstList {
	return firstList{what: what, ch: make(chan struct{}), once: new(sync.Once)}
}

// done marks the first list in; later calls do nothing.
func (f firstList) done() { f.once.Do(func() { close(f.ch) }) }

// wait returns nil once the first list is in, or ctx's error if ctx ends
// first.
func (f firstList) wait(ctx context.Context) error {
	select {
	case <-f.ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: wait for the first list: %w", f.what, ctx.Err())
	}
}

// in reports whether the first list is in.
func (f firstList) in() bool {
	select {
	case <-f.ch:
		return true
	default:
		return false
	}
}

// WaitForRevision returns nil once the cache reflects revision rev and
// its handlers have been handed every change up to it, or ctx's error if
// ctx ends first. rev should be the revision of a write to
// this cache's kind (an object's resourceVersion): the cache's revision
// moves only with changes of its kind, so waiting for the revision of a
// write to another kind can last until the next change of this one.
func (c *Cache[T, P]) WaitForRevision(ctx context.Context, rev int64) error {
	for {
		c.mu.Lock()
		cur := c.handled
		if cur >= rev {
			c.mu.Unlock()
			return nil
		}
		c.waiting = true
		ch := c.revCh
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("%s cache: wait for revision %d (at %d): %w", c.r.kind, rev, cur, ctx.Err())
		}
	}
}

// WaitFor returns nil once the cache reflects obj as written (its
// resourceVersion, as a write returns it), for a read that must see the
// caller's own write.
func (c *Cache[T, P]) WaitFor(ctx context.Context, obj P) error {
	rev, err := ParseResourceVersion(obj.GetObjectMeta().ResourceVersion)
	if err != nil {
		return fmt.Errorf("%s cache: wait for %q: %w", c.r.kind, obj.GetObjectMeta().Name, err)
	}
	return c.WaitForRevision(ctx, rev)
}

// Get returns the named object. It is shared: DeepCopy it before changing
// anything.
func (c *Cache[T, P]) Get(name string) (P, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	obj, ok := c.objs[name]
	return obj, ok
}

// List returns every object, ordered by name. The slice is the caller's;
// the objects are shared: DeepCopy one before changing it.
func (c *Cache[T, P]) List() []P {
	objs, _ := c.ListRevision()
	return objs
}

// ListRevision returns what List does and the revision it reflects, to
// serve a list a client can watch from.
func (c *Cache[T, P]) ListRevision() ([]P, int64) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.sorted.all(), c.rev
}

// ByIndex returns the objects found under value in the named index,
// ordered by name; none for an unknown index. The objects are shared.
func (c *Cache[T, P]) ByIndex(index, value string) []P {
	c.mu.RLock()
	set := c.indexes[index][value]
	out := make([]P, 0, len(set))
	for _, obj := range set {
		out = append(out, obj)
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b P) int {
		return cmp.Compare(a.GetObjectMeta().Name, b.GetObjectMeta().Name)
	})
	return out
}

// Revision returns the store revision the cache reflects.
func (c *Cache[T, P]) Revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// Len returns the number of objects held.
func (c *Cache[T, P]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.objs)
}

// chunkSize is the size byName splits a full chunk to: a chunk holds up to
// twice as many, and one that shrinks below a quarter joins a neighbour.
const chunkSize = 256

// byName keeps objects ordered by name in chunks of chunkSize to
// 2*chunkSize (the last and a lone one may hold fewer), found by a binary
// search over the chunks' last names. An insert or a delete moves at most
// one chunk's entries and, when a chunk splits or goes, the list of
// chunks: O(log n + chunkSize + n/chunkSize) rather than one slice's
// O(n) memmove, which made a cache filled in random name order O(n²)
// (100,000 inserts moving 400,000 pointers each on average). all copies
// the chunks in order, as cheap as copying one slice.
type byName[P v1.Object] struct {
	chunks [][]P
	n      int
}

func nameOf[P v1.Object](obj P) string { return obj.GetObjectMeta().Name }

func compareName[P v1.Object](obj P, name string) int {
	return cmp.Compare(nameOf(obj), name)
}

// reset installs items, ordered by name, as the whole content; the chunks
// share items' array, each capped at its end so that growing one copies
// it rather than overwrite the next.
func (b *byName[P]) reset(items []P) {
	b.n = len(items)
	b.chunks = make([][]P, 0, (len(items)+chunkSize-1)/chunkSize)
	for i := 0; i < len(items); i += chunkSize {
		j := min(i+chunkSize, len(items))
		b.chunks = append(b.chunks, items[i:j:j])
	}
}

// find returns the chunk where name is or belongs, its position there, and
// whether it is there. With no chunks it returns -1.
func (b *byName[P]) find(name string) (ci, i int, found bool) {
	if len(b.chunks) == 0 {
		return -1, 0, false
	}
	ci, _ = slices.BinarySearchFunc(b.chunks, name, func(c []P, name string) int {
		return compareName(c[len(c)-1], name)
	})
	if ci == len(b.chunks) {
		// After every name: the end of the last chunk.
		ci--
		return ci, len(b.chunks[ci]), false
	}
	i, found = slices.BinarySearchFunc(b.chunks[ci], name, compareName[P])
	return ci, i, found
}

// set inserts obj, or replaces the object of the same name.
func (b *byName[P]) set(obj P) {
	ci, i, found := b.find(nameOf(obj))
	switch {
	case ci < 0:
		b.chunks = [][]P{{obj}}
	case found:
		b.chunks[ci][i] = obj
		return
	default:
		c := slices.Insert(b.chunks[ci], i, obj)
		if len(c) > 2*chunkSize {
			// Split: the right half moves to a chunk of its own.
			right := make([]P, len(c)-chunkSize, 2*chunkSize)
			copy(right, c[chunkSize:])
			clear(c[chunkSize:])
			b.chunks[ci] = c[:chunkSize]
			b.chunks = slices.Insert(b.chunks, ci+1, right)
		} else {
			b.chunks[ci] = c
		}
	}
	b.n++
}

// delete removes the object called name, if held.
func (b *byName[P]) delete(name string) {
	ci, i, found := b.find(name)
	if !found {
		return
	}
	b.n--
	c := slices.Delete(b.chunks[ci], i, i+1)
	b.chunks[ci] = c
	switch {
	case len(c) == 0:
		b.chunks = slices.Delete(b.chunks, ci, ci+1)
	case len(c) < chunkSize/4 && len(b.chunks) > 1:
		// Join a neighbour, so that churn leaves no trail of small
		// chunks; split again if that makes one too big.
		left := max(ci-1, 0)
		joined := append(slices.Clip(b.chunks[left]), b.chunks[left+1]...)
		b.chunks = slices.Delete(b.chunks, left+1, left+2)
		if len(joined) > 2*chunkSize {
			half := len(joined) / 2
			b.chunks[left] = joined[:half:half]
			b.chunks = slices.Insert(b.chunks, left+1, joined[half:])
		} else {
			b.chunks[left] = joined
		}
	}
}

// all returns every object, in name order, in a slice of the caller's.
func (b *byName[P]) all() []P {
	out := make([]P, 0, b.n)
	for _, c := range b.chunks {
		out = append(out, c...)
	}
	return out
}
