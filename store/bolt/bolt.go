package bolt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/minkube/minkube/store"
)

// Defaults for Options.
const (
	// DefaultWatchHistory is the number of past changes kept for Watch.
	DefaultWatchHistory = 100000
	// DefaultWatchBuffer is the number of events a watcher may have
	// waiting before it counts as fallen behind.
	DefaultWatchBuffer = 4096
)

// lockTimeout is how long Open waits for the file lock.
const lockTimeout = time.Second

// maxBatch caps the writes committed in one transaction.
const maxBatch = 1000

// A commit (its page writes and two fdatasyncs) costs the writer about as
// much CPU as ten writes. Under load, when the last commit held at least
// lingerAfter writes, the writer waits up to lingerFor for as many writes
// as the last commit held before it commits: writes that come a moment
// apart share a commit instead of taking one each. A lone write never
// waits.
const (
	lingerAfter = 8
	lingerFor   = 2 * time.Millisecond
)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// WatchHistory is the number of past changes kept for
	// Watch-from-revision; a Watch from an older revision returns
	// store.ErrCompacted. 0 means DefaultWatchHistory.
	WatchHistory int

	// WatchBuffer is the capacity of each watch channel. A watcher whose
	// channel is full when a change arrives has its channel closed, so that
	// a slow reader never blocks writers. 0 means DefaultWatchBuffer.
	WatchBuffer int

	// Logger receives the store's logs. nil means slog.Default().
	Logger *slog.Logger

	// NoSync skips fsync on commit: a crash can lose or corrupt recent
	// writes. For benchmarks and throwaway test data only.
	NoSync bool
}

// Store is a store.Store kept in one bbolt file. It is safe for concurrent
// use. Create it with Open and release it with Close.
type Store struct {
	db      *bbolt.DB
	path    string
	log     *slog.Logger
	history int64
	buffer  int
	hub     *hub
	codec   codec // set by Open, read-only after

	// mu guards closed and the writes channel against Close: reads hold
	// it shared for their whole transaction, writes while they enqueue.
	mu     sync.RWMutex
	closed bool

	writes     chan *write
	writerDone chan struct{}
	// closing is closed when Close starts; watch replays stop on it.
	closing chan struct{}
	// watches counts the goroutines of open watches.
	watches sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens (creating when missing) the store file at path. It fails
// with an error wrapping ErrLocked, naming path, when another process
// holds the file for more than a second, with ErrCorrupt when the file
// is not a store this package wrote, and with ErrNewerFormat when a newer
// version of it wrote the file. A file of an older format is upgraded.
// The directory must exist.
func Open(path string, opts Options) (*Store, error) {
	if opts.WatchHistory < 0 || opts.WatchBuffer < 0 {
		return nil, fmt.Errorf("open store %s: WatchHistory and WatchBuffer must not be negative", path)
	}
	if opts.WatchHistory == 0 {
		opts.WatchHistory = DefaultWatchHistory
	}
	if opts.WatchBuffer == 0 {
		opts.WatchBuffer = DefaultWatchBuffer
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}

	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout: lockTimeout,
		NoSync:  opts.NoSync,
		// As etcd does: the hashmap freelist stays fast when the file is
		// fragmented, and not syncing it halves the pages a commit writes
		// (it is rebuilt by a scan after a crash).
		FreelistType:   bbolt.FreelistMapType,
		NoFreelistSync: true,
	})
	switch {
	case errors.Is(err, bolterrors.ErrTimeout):
		return nil, fmt.Errorf("open store %s: %w (waited %s)", path, ErrLocked, lockTimeout)
	case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
		return nil, fmt.Errorf("open store %s: %w: %w", path, ErrCorrupt, err)
	case err != nil:
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}

	s := &Store{
		db:         db,
		path:       path,
		log:        opts.Logger.With("store", path),
		history:    int64(opts.WatchHistory),
		buffer:     opts.WatchBuffer,
		writes:     make(chan *write, maxBatch),
		writerDone: make(chan struct{}),
		closing:    make(chan struct{}),
	}
	var st state
	err = db.Update(func(tx *bbolt.Tx) error {
		var err error
		if st, s.codec, err = initBuckets(tx, s.log); err != nil {
			return err
		}
		return s.trim(tx, &st)
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.hub = newHub(st.rev, s.log)
	go s.writer()
	s.log.Debug("store opened", "revision", st.rev, "compacted", st.compacted)
	return s, nil
}

// state is the meta bucket's content, carried through a write transaction.
type state struct {
	rev       int64
	compacted int64
}

// initBuckets creates the buckets of a new file, checks the format of an
// existing one (upgrading one of an older format), and reads the meta
// state and the file's codec.
func initBuckets(tx *bbolt.Tx, log *slog.Logger) (state, codec, error) {
	for _, name := range [][]byte{bucketKV, bucketLog, bucketMeta} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return state{}, codec{}, fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	meta := tx.Bucket(bucketMeta)
	v := meta.Get(metaFormat)
	if v == nil {
		c, err := newFormat(meta)
		if err != nil {
			return state{}, codec{}, err
		}
		// A new store starts at revision 1, as etcd does: a List of the
		// empty store then returns a revision a Watch can start from
		// (Watch from 0 means "from now on" and would miss a write made
		// between the two).
		st := state{rev: 1, compacted: 1}
		return st, c, saveState(tx, st)
	}
	var c codec
	switch f, err := parseRev(v); {
	case err != nil || f < 1:
		return state{}, codec{}, fmt.Errorf("format version %x: %w", v, ErrCorrupt)
	case f > formatVersion:
		return state{}, codec{}, fmt.Errorf("format %d; this minkube reads formats 1 to %d: %w", f, formatVersion, ErrNewerFormat)
	case f < formatVersion:
		var n int
		if c, n, err = upgrade(tx, f); err != nil {
			return state{}, codec{}, fmt.Errorf("upgrade from format %d: %w", f, err)
		}
		log.Info("store upgraded: its values are kept compressed with a dictionary", "from", f, "format", formatVersion, "values", n)
	default:
		if c, err = newCodec(meta.Get(metaDictionary)); err != nil {
			return state{}, codec{}, fmt.Errorf("format %d: %w", f, err)
		}
	}
	st, err := readState(tx)
	return st, c, err
}

// newFormat writes the current format and a new dictionary into meta,
// for a new file or one being upgraded, and returns their codec.
func newFormat(meta *bbolt.Bucket) (codec, error) {
	dictionary := newDictionary()
	c, err := newCodec(dictionary)
	if err != nil {
		return codec{}, err
	}
	if err := meta.Put(metaDictionary, dictionary); err != nil {
		return codec{}, err
	}
	return c, meta.Put(metaFormat, revKey(formatVersion))
}

// readState reads the current and compacted revisions.
func readState(tx *bbolt.Tx) (state, error) {
	meta := tx.Bucket(bucketMeta)
	var st state
	for _, f := range []struct {
		key []byte
		dst *int64
	}{{metaRevision, &st.rev}, {metaCompacted, &st.compacted}} {
		v := meta.Get(f.key)
		if v == nil {
			continue
		}
		r, err := parseRev(v)
		if err != nil {
			return state{}, fmt.Errorf("meta %s: %w", f.key, err)
		}
		*f.dst = r
	}
	return st, nil
}

// saveState writes the meta state.
func saveState(tx *bbolt.Tx, st state) error {
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(metaRevision, revKey(st.rev)); err != nil {
		return err
	}
	return meta.Put(metaCompacted, revKey(st.compacted))
}

// trim drops log entries so that at most WatchHistory remain.
func (s *Store) trim(tx *bbolt.Tx, st *state) error {
	return compactLog(tx, st, st.rev-s.history)
}

// compactLog deletes the log entries at and below rev and records rev as
// compacted. Log keys are contiguous, so the range is walked by number.
func compactLog(tx *bbolt.Tx, st *state, rev int64) error {
	if rev <= st.compacted {
		return nil
	}
	log := tx.Bucket(bucketLog)
	for r := st.compacted + 1; r <= rev; r++ {
		if err := log.Delete(revKey(r)); err != nil {
			return fmt.Errorf("compact log entry %d: %w", r, err)
		}
	}
	st.compacted = rev
	return saveState(tx, *st)
}

// Path returns the file the store lives in.
func (s *Store) Path() string { return s.path }

// Get returns the key's value. It returns store.ErrNotFound when the key
// does not exist and store.ErrClosed after Close.
func (s *Store) Get(ctx context.Context, key string) (store.KeyValue, error) {
	var kv store.KeyValue
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketKV).Get([]byte(key))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		kv, err = s.codec.decodeKV(key, v)
		return err
	})
	if err != nil {
		return store.KeyValue{}, fmt.Errorf("get %s: %w", key, err)
	}
	return kv, nil
}

// List returns every key with the prefix in key order, and the revision
// the list was read at. A Watch from that revision misses nothing and
// repeats nothing. It returns store.ErrClosed after Close.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KeyValue, int64, error) {
	var (
		kvs []store.KeyValue
		rev int64
	)
	err := s.view(ctx, func(tx *bbolt.Tx) error {
		st, err := readState(tx)
		if err != nil {
			return err
		}
		rev = st.rev
		kvs = kvs[:0]
		p := []byte(prefix)
		c := tx.Bucket(bucketKV).Cursor()
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			kv, err := s.codec.decodeKV(string(k), v)
			if err != nil {
				return err
			}
			kvs = append(kvs, kv)
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
	}
	return kvs, rev, nil
}

func hasPrefix(b, prefix []byte) bool {
	return len(b) >= len(prefix) && string(b[:len(prefix)]) == string(prefix)
}

// Create stores a new key and returns the revision of the write. It
// returns store.ErrExists when the key exists and store.ErrClosed after
// Close.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return s.submit(ctx, &write{kind: opCreate, key: key, value: value})
}

// Update replaces the value of an existing key and returns the revision of
// the write. When rev is not 0 it returns store.ErrConflict unless the
// key's revision is rev. It returns store.ErrNotFound when the key does
// not exist and store.ErrClosed after Close.
func (s *Store) Update(ctx context.Context, key string, value []byte, rev int64) (int64, error) {
	return s.submit(ctx, &write{kind: opUpdate, key: key, value: value, want: rev})
}

// Delete removes the key. When rev is not 0 it returns store.ErrConflict
// unless the key's revision is rev. It returns store.ErrNotFound when the
// key does not exist and store.ErrClosed after Close.
func (s *Store) Delete(ctx context.Context, key string, rev int64) error {
	_, err := s.submit(ctx, &write{kind: opDelete, key: key, want: rev})
	return err
}

// Compact discards the change history at and below rev: a Watch from a
// revision below rev then returns store.ErrCompacted. The store compacts
// by itself to keep Options.WatchHistory changes; Compact is for callers
// that want to keep less. A rev at or below the compacted revision does
// nothing; a rev above the current revision is an error.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	_, err := s.submit(ctx, &write{kind: opCompact, want: rev})
	return err
}

// Revision returns the revision of the last write whose change has been
// handed to watchers. It returns store.ErrClosed after Close.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("revision: %w", err)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, fmt.Errorf("revision: %w", store.ErrClosed)
	}
	return s.hub.revision(), nil
}

// Close waits for queued writes to commit, ends every watch (their
// channels close), and closes the file. Methods called after Close return
// store.ErrClosed; a second Close returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.writes)
	close(s.closing)
	s.mu.Unlock()

	<-s.writerDone
	s.hub.close()
	s.watches.Wait()
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store %s: %w", s.path, err)
	}
	s.log.Debug("store closed")
	return nil
}

// view runs fn in a read transaction, unless ctx has ended or the store
// is closed.
func (s *Store) view(ctx context.Context, fn func(*bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.db.View(fn)
}

// opKind says what a write does.
type opKind int

const (
	opCreate opKind = iota + 1
	opUpdate
	opDelete
	opCompact
)

// write is one request to the writer goroutine and, once done is closed,
// its result.
type write struct {
	kind  opKind
	key   string
	value []byte
	put   putRecord // a create's or update's value, laid out for the buckets
	want  int64     // expected revision (0: any), or the Compact target

	rev  int64 // result: the revision of the write
	err  error // result
	done chan struct{}
}

// submit queues w for the writer and waits for its result. A write that
// was queued is waited for even when ctx ends meanwhile: once queued it
// may commit, and the caller must not be told otherwise.
func (s *Store) submit(ctx context.Context, w *write) (int64, error) {
	name := opName(w)
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	if w.kind != opCompact {
		if err := checkKey(w.key, w.value); err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
	}
	w.done = make(chan struct{})

	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return 0, fmt.Errorf("%s: %w", name, store.ErrClosed)
	}
	s.writes <- w
	s.mu.RUnlock()

	<-w.done
	if w.err != nil {
		return 0, fmt.Errorf("%s: %w", name, w.err)
	}
	return w.rev, nil
}

func opName(w *write) string {
	switch w.kind {
	case opCreate:
		return "create " + w.key
	case opUpdate:
		return "update " + w.key
	case opDelete:
		return "delete " + w.key
	default:
		return fmt.Sprintf("compact to revision %d", w.want)
	}
}

// checkKey rejects what bbolt would refuse inside the transaction, where a
// failure would fail the whole batch, and values past maxValue.
func checkKey(key string, value []byte) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case len(key) > bbolt.MaxKeySize:
		return fmt.Errorf("key of %d bytes, at most %d", len(key), bbolt.MaxKeySize)
	case len(value) > maxValue:
		return fmt.Errorf("value of %d bytes, at most %d", len(value), maxValue)
	}
	return nil
}

// writer commits queued writes in groups: every write that queued while
// the previous transaction was committing joins the next one, so
// concurrent writers share one fsync while a lone writer waits for
// nothing. It is the only goroutine that writes, so revisions are handed
// out, committed and published to watchers in order. It ends when Close
// closes the queue, after committing what was in it.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*write, 0, maxBatch)
	var events []store.Event
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	last := 0 // writes in the last commit
	for first := range s.writes {
		batch = append(batch[:0], first)
		var wait <-chan time.Time // set while the batch lingers
		if last >= lingerAfter {
			linger.Reset(lingerFor)
			wait = linger.C
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case w, ok := <-s.writes:
				if !ok {
					break fill
				}
				batch = append(batch, w)
				continue
			default:
			}
			if wait == nil || len(batch) >= last {
				break
			}
			select {
			case w, ok := <-s.writes:
				if !ok {
					break fill
				}
				batch = append(batch, w)
			case <-wait:
				wait = nil
				break fill
			}
		}
		if wait != nil {
			linger.Stop()
		}
		last = len(batch)

		// The writer, not each caller, makes the puts' blocks: the
		// dictionary's encoder keeps a 64 KiB table on the stack, which
		// in every goroutine that writes (hundreds under load: handlers,
		// reconcilers, event writers) grew its stack to 128 KiB and the
		// manager's memory by about 30 MB; here it is one stack. A
		// block costs about a microsecond. The record also owns the
		// value, which goes to watchers after the caller has returned.
		for _, w := range batch {
			if w.kind == opCreate || w.kind == opUpdate {
				w.put = s.codec.newPutRecord(w.key, w.value)
				w.value = w.put.value
			}
		}
		events = events[:0]
		err := s.db.Update(func(tx *bbolt.Tx) error {
			events = events[:0]
			var err error
			events, err = s.apply(tx, batch, events)
			return err
		})
		if err != nil {
			s.log.Error("commit failed", "writes", len(batch), "err", err)
			for _, w := range batch {
				w.rev, w.err = 0, fmt.Errorf("commit: %w", err)
			}
		} else {
			s.hub.publish(events)
		}
		for _, w := range batch {
			close(w.done)
		}
		clear(batch)
	}
}

// apply performs the batch inside tx, setting each write's result and
// appending the change events in revision order. A returned error is a
// storage failure that aborts the whole transaction; refusals such as
// ErrExists are results, not errors.
func (s *Store) apply(tx *bbolt.Tx, batch []*write, events []store.Event) ([]store.Event, error) {
	st, err := readState(tx)
	if err != nil {
		return events, err
	}
	kvb, logb := tx.Bucket(bucketKV), tx.Bucket(bucketLog)
	logb.FillPercent = 1 // keys are appended in order
	for _, w := range batch {
		w.rev, w.err = 0, nil
		if w.kind == opCompact {
			if w.want > st.rev {
				w.err = fmt.Errorf("revision %d is ahead of the current revision %d", w.want, st.rev)
				continue
			}
			if err := compactLog(tx, &st, w.want); err != nil {
				return events, err
			}
			continue
		}

		key := []byte(w.key)
		cur := kvb.Get(key)
		var curRev int64
		if cur != nil {
			if curRev, err = parseRev(cur[:min(8, len(cur))]); err != nil {
				return events, fmt.Errorf("key %s: %w", w.key, err)
			}
		}
		switch {
		case w.kind == opCreate && cur != nil:
			w.err = store.ErrExists
			continue
		case w.kind != opCreate && cur == nil:
			w.err = store.ErrNotFound
			continue
		case w.kind != opCreate && w.want != 0 && w.want != curRev:
			w.err = fmt.Errorf("%w (expected revision %d, is %d)", store.ErrConflict, w.want, curRev)
			continue
		}

		var prev store.KeyValue
		if w.kind == opDelete {
			// Its last value goes to the watchers. One that does not
			// decode fails this write alone, not the writes batched
			// with it.
			p, derr := s.codec.decodeKV(w.key, cur)
			if derr != nil {
				w.err = derr
				continue
			}
			prev = p
		}

		st.rev++
		ev := store.Event{Type: store.EventPut, Created: w.kind == opCreate}
		var entry []byte
		if w.kind == opDelete {
			ev.Type, ev.KV = store.EventDelete, store.KeyValue{Key: w.key, Value: prev.Value, Revision: st.rev}
			// The log keeps the last value's block as the kv bucket held it.
			entry = newEntry(ev, cur[8:])
			if err := kvb.Delete(key); err != nil {
				return events, fmt.Errorf("delete %s: %w", w.key, err)
			}
		} else {
			ev.KV = store.KeyValue{Key: w.key, Value: w.value, Revision: st.rev}
			if err := kvb.Put(key, w.put.kvValue(st.rev)); err != nil {
				return events, fmt.Errorf("put %s: %w", w.key, err)
			}
			entry = appendEntry(w.put.log, ev, w.put.block()) // in the room the record left for it
		}
		if err := logb.Put(revKey(st.rev), entry); err != nil {
			return events, fmt.Errorf("append log entry %d: %w", st.rev, err)
		}
		w.rev = st.rev
		events = append(events, ev)
	}
	if err := saveState(tx, st); err != nil {
		return events, err
	}
	return events, s.trim(tx, &st)
}
