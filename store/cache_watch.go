package store

import (
	"context"
)

// Sizes of a Cache's watch feed.
const (
	// feedHistory is the number of recent changes a Cache keeps for a
	// watcher that resumes from a revision it has passed: a client that
	// listed and then watches, or one whose watch ended and that
	// resumes from the last change it got. It holds on to the objects
	// the changes replaced (256 Running tasks: about 0.3 MB); a watch
	// from further back is the store's to serve.
	feedHistory = 256
	// feedBuffer is the number of changes a watcher of a Cache may have
	// waiting, as the bolt store's DefaultWatchBuffer; one that falls
	// further behind is dropped, and lists again.
	feedBuffer = 4096
)

// watchFeed hands the changes a Cache applies to the watchers of
// Cache.Watch, and keeps the last of them. It is guarded by the cache's
// mu.
type watchFeed[P any] struct {
	// serving is true while the cache follows its store watch: from a
	// list until the watch ends. Changes made in between are not seen,
	// so a watch ends with it and none starts until the next list.
	serving bool
	// floor is the revision from which history holds every change: the
	// list's revision, or the last change dropped from history.
	floor    int64
	history  []WatchEvent[P] // a ring of up to histCap changes
	head     int             // index of the oldest change in history
	histCap  int
	buffer   int
	watchers map[*feedWatcher[P]]struct{}
}

type feedWatcher[P any] struct {
	ch   chan WatchEvent[P]
	stop func() bool // stops the context.AfterFunc that drops the watcher
}

func newWatchFeed[P any]() watchFeed[P] {
	return watchFeed[P]{histCap: feedHistory, buffer: feedBuffer, watchers: make(map[*feedWatcher[P]]struct{})}
}

// restart starts the feed again from a list at rev; the watchers of the
// previous watch have missed what changed in between and are dropped.
func (f *watchFeed[P]) restart(rev int64) {
	f.end()
	f.serving, f.floor = true, rev
}

// end drops every watcher and serves none until restart.
func (f *watchFeed[P]) end() {
	for w := range f.watchers {
		f.drop(w)
	}
	clear(f.history)
	f.history, f.head, f.serving = f.history[:0], 0, false
}

// publish keeps ev in history and hands it to every watcher; a watcher
// with no room left is dropped rather than waited for.
func (f *watchFeed[P]) publish(ev WatchEvent[P]) {
	if !f.serving {
		return
	}
	if len(f.history) < f.histCap {
		f.history = append(f.history, ev)
	} else {
		f.floor = f.history[f.head].Revision
		f.history[f.head] = ev
		f.head = (f.head + 1) % len(f.history)
	}
	for w := range f.watchers {
		select {
		case w.ch <- ev:
		default:
			f.drop(w)
		}
	}
}

// drop ends w's stream, once: a watcher is in watchers until dropped.
// Watch sets w.stop before it lets go of the lock drop runs under.
func (f *watchFeed[P]) drop(w *feedWatcher[P]) {
	if _, ok := f.watchers[w]; !ok {
		return
	}
	delete(f.watchers, w)
	close(w.ch)
	w.stop()
}

// Watch streams the changes after revision rev as the cache applies
// them: the objects it holds, shared and read-only, so that a watcher
// does not decode every change again as a store Watch does. The stream
// has what a store Watch from rev has (Added for a create, Modified,
// Deleted with the last state at the delete's revision), in revision
// order. It closes when ctx ends, when the watcher falls more than
// feedBuffer changes behind, or when the cache's own watch ends (the
// cache then lists again and may have missed changes); the caller then
// lists and watches again.
//
// ok is false, and there is no stream, when the cache cannot serve rev:
// rev is before the changes it keeps (feedHistory), after the revision it
// has reached, or the cache is between a watch and its next list. The
// caller then watches the store, which replays its own history.
func (c *Cache[T, P]) Watch(ctx context.Context, rev int64) (ch <-chan WatchEvent[P], ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f := &c.feed
	if !f.serving || rev < f.floor || rev > c.rev || ctx.Err() != nil {
		return nil, false
	}
	w := &feedWatcher[P]{ch: make(chan WatchEvent[P], max(f.buffer, len(f.history)))}
	for i := range f.history {
		if ev := f.history[(f.head+i)%len(f.history)]; ev.Revision > rev {
			w.ch <- ev
		}
	}
	f.watchers[w] = struct{}{}
	w.stop = context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		f.drop(w)
	})
	return w.ch, true
}
