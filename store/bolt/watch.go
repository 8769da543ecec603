package bolt

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/minkube/minkube/store"
)

// replayChunk is how many log entries a replaying watcher reads per read
// transaction; short transactions keep bbolt free to grow the file.
const replayChunk = 512

// maxEmptyReplays bounds the re-reads of a replay that finds no log entry
// although the hub has published past it. One re-read is the normal race
// with a commit that has just finished; many mean the log is damaged.
const maxEmptyReplays = 100

// testHookBeforeJoin, when a test sets it, runs between a replay's last
// read of the log and its attempt to join the live fan-out: the window in
// which a change can be published that the replay has not read.
var testHookBeforeJoin func()

// watcher is one Watch. While it replays history it is owned by its
// goroutine; once live it is in the hub and the hub sends to it.
type watcher struct {
	prefix string
	ch     chan store.Event
	// sent is the revision of the last change sent, or the revision the
	// watch started after; later changes at or below it are duplicates.
	sent int64
	// gone is closed when the hub drops the watcher; ch is then closed.
	gone chan struct{}
}

// hub fans committed changes out to live watchers. The writer goroutine
// is its only publisher, so changes arrive in revision order.
type hub struct {
	log *slog.Logger

	mu       sync.Mutex
	rev      int64 // revision of the last change published
	watchers map[*watcher]struct{}
	closed   bool
}

func newHub(rev int64, log *slog.Logger) *hub {
	return &hub{log: log, rev: rev, watchers: make(map[*watcher]struct{})}
}

func (h *hub) revision() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rev
}

// publish hands committed changes to every live watcher whose prefix they
// match. It never blocks: a watcher whose channel is full is dropped.
func (h *hub) publish(events []store.Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ev := range events {
		for w := range h.watchers {
			if ev.KV.Revision <= w.sent || !strings.HasPrefix(ev.KV.Key, w.prefix) {
				continue
			}
			select {
			case w.ch <- ev:
				w.sent = ev.KV.Revision
			default:
				h.log.Warn("watcher fell behind; closing its channel",
					"prefix", w.prefix, "revision", ev.KV.Revision, "buffer", cap(w.ch))
				h.dropLocked(w)
			}
		}
		h.rev = ev.KV.Revision
	}
}

// join makes w live if nothing has been published after w.sent, and
// reports whether it did. A watcher that joins receives every change after
// w.sent: those already committed but not yet published come through
// publish, and publish skips what w has already been sent.
func (h *hub) join(w *watcher) (joined, closed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false, true
	}
	if w.sent < h.rev {
		return false, false
	}
	h.watchers[w] = struct{}{}
	return true, false
}

// joinNow makes w live from the last published revision on.
func (h *hub) joinNow(w *watcher) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	w.sent = h.rev
	h.watchers[w] = struct{}{}
	return true
}

// leave drops w if it is still live.
func (h *hub) leave(w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.watchers[w]; ok {
		h.dropLocked(w)
	}
}

func (h *hub) dropLocked(w *watcher) {
	delete(h.watchers, w)
	close(w.ch)
	close(w.gone)
}

// close drops every live watcher and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for w := range h.watchers {
		h.dropLocked(w)
	}
}

// Watch streams every change to keys with the prefix after revision rev,
// in revision order; rev 0 means from now on. Changes after rev that are
// already committed are replayed from the log first, then live changes
// follow with no gap and no duplicate.
//
// The channel closes when ctx ends, when the store closes, and when the
// reader falls Options.WatchBuffer changes behind (or behind the log's
// trimming during a replay); the caller then lists again. Watch returns
// store.ErrCompacted when changes after rev are no longer kept, and
// store.ErrClosed after Close.
func (s *Store) Watch(ctx context.Context, prefix string, rev int64) (<-chan store.Event, error) {
	name := fmt.Sprintf("watch %s from revision %d", prefix, rev)
	if rev < 0 {
		return nil, fmt.Errorf("%s: negative revision", name)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, fmt.Errorf("%s: %w", name, store.ErrClosed)
	}

	w := &watcher{prefix: prefix, ch: make(chan store.Event, s.buffer), gone: make(chan struct{}), sent: rev}
	live := false
	if rev == 0 {
		if !s.hub.joinNow(w) {
			return nil, fmt.Errorf("%s: %w", name, store.ErrClosed)
		}
		live = true
	} else {
		var st state
		err := s.db.View(func(tx *bbolt.Tx) (err error) {
			st, err = readState(tx)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if rev < st.compacted {
			return nil, fmt.Errorf("%s: %w (changes up to revision %d are gone)", name, store.ErrCompacted, st.compacted)
		}
	}

	s.watches.Add(1)
	go func() {
		defer s.watches.Done()
		if !live && !s.replay(ctx, w) {
			close(w.ch)
			return
		}
		select {
		case <-ctx.Done():
		case <-w.gone:
		}
		s.hub.leave(w)
	}()
	return w.ch, nil
}

// replay sends w the logged changes after w.sent until it has caught up
// with the hub, then makes it live. It reports false when the watch must
// end instead: ctx ended, the store is closing, the log was trimmed past
// the watcher, or the log could not be read.
func (s *Store) replay(ctx context.Context, w *watcher) bool {
	empty := 0
	for {
		events, last, compacted, err := s.readLog(w.sent, w.prefix)
		switch {
		case err != nil:
			s.log.Error("watch replay failed", "prefix", w.prefix, "revision", w.sent, "err", err)
			return false
		case compacted > w.sent:
			s.log.Warn("watcher fell behind the log during replay; closing its channel",
				"prefix", w.prefix, "revision", w.sent, "compacted", compacted)
			return false
		}
		if last == w.sent {
			if testHookBeforeJoin != nil {
				testHookBeforeJoin()
			}
			joined, closed := s.hub.join(w)
			if joined || closed {
				return joined
			}
			if empty++; empty > maxEmptyReplays {
				s.log.Error("watch replay found no log entry past a published revision",
					"prefix", w.prefix, "revision", w.sent)
				return false
			}
			continue
		}
		empty = 0
		for _, ev := range events {
			select {
			case w.ch <- ev:
			case <-ctx.Done():
				return false
			case <-s.closing:
				return false
			}
		}
		w.sent = last
	}
}

// readLog reads up to replayChunk log entries after rev and returns those
// under prefix, the revision of the last entry read (rev when none), and
// the compacted revision.
func (s *Store) readLog(rev int64, prefix string) (events []store.Event, last, compacted int64, err error) {
	last = rev
	err = s.db.View(func(tx *bbolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		compacted = st.compacted
		c := tx.Bucket(bucketLog).Cursor()
		n := 0
		for k, v := c.Seek(revKey(rev + 1)); k != nil && n < replayChunk; k, v = c.Next() {
			r, err := parseRev(k)
			if err != nil {
				return fmt.Errorf("log key: %w", err)
			}
			if r != last+1 {
				return fmt.Errorf("log entry %d follows %d: %w", r, last, ErrCorrupt)
			}
			ev, err := s.codec.decodeEvent(r, v)
			if err != nil {
				return err
			}
			if strings.HasPrefix(ev.KV.Key, prefix) {
				events = append(events, ev)
			}
			last = r
			n++
		}
		return nil
	})
	return events, last, compacted, err
}
