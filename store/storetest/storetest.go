package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minkube/minkube/store"
)

// eventTimeout bounds the wait for an event that must come. It only keeps
// a broken backend from hanging the suite; it is not a speed requirement.
const eventTimeout = 10 * time.Second

// quietPeriod is how long the suite listens for events that must not come.
const quietPeriod = 50 * time.Millisecond

// Option changes how Run drives a backend.
type Option func(*config)

type config struct {
	compact func(ctx context.Context, s store.Store, rev int64) error
}

// WithCompact sets how the suite discards the history at and below rev,
// after which a Watch from a revision below rev must return
// store.ErrCompacted. Without it the suite calls the store's own
// Compact(ctx, rev) error method.
func WithCompact(fn func(ctx context.Context, s store.Store, rev int64) error) Option {
	return func(c *config) { c.compact = fn }
}

// compacter is the method Run uses when no WithCompact is given.
type compacter interface {
	Compact(ctx context.Context, rev int64) error
}

// Run runs the suite against stores made by newStore, which returns a
// fresh, empty store for each subtest and closes it in t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Get", testGet},
		{"Create", testCreate},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"ErrorsNameTheKey", testErrorsNameTheKey},
		{"CanceledContext", testCanceledContext},
		{"Revisions", testRevisions},
		{"List", testList},
		{"ListThenWatchLosesNothing", testListThenWatch},
		{"EmptyStoreListThenWatch", testEmptyListThenWatch},
		{"WatchReplaysPast", testWatchReplay},
		{"WatchFromNow", testWatchFromNow},
		{"WatchPrefix", testWatchPrefix},
		{"WatchEvents", testWatchEvents},
		{"KeepsNoCallersBuffer", testKeepsNoCallersBuffer},
		{"WatchEndsWithContext", testWatchCancel},
		{"WatchEndsWithClose", testWatchClose},
		{"Compacted", func(t *testing.T, s store.Store) { testCompacted(t, s, cfg) }},
		{"ConcurrentCAS", testConcurrentCAS},
		{"ClusterIDIsMadeOnce", testClusterID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

func testGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	rev := mustCreate(t, s, "/a/x", "1")
	tests := []struct {
		key     string
		want    store.KeyValue
		wantErr error
	}{
		{key: "/a/x", want: store.KeyValue{Key: "/a/x", Value: []byte("1"), Revision: rev}},
		{key: "/a/missing", wantErr: store.ErrNotFound},
		{key: "/a/", wantErr: store.ErrNotFound},
		{key: "/a/xy", wantErr: store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := s.Get(ctx, tt.key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Get(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			if tt.wantErr == nil {
				assertKV(t, got, tt.want)
			}
		})
	}
}

func testCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "/a/taken", "old")
	tests := []struct {
		name    string
		key     string
		value   []byte
		wantErr error
	}{
		{name: "new key", key: "/a/new", value: []byte("v")},
		{name: "empty value", key: "/a/empty", value: nil},
		{name: "binary value", key: "/a/bin", value: []byte{0, 1, 2, 255}},
		{name: "existing key", key: "/a/taken", value: []byte("new"), wantErr: store.ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rev, err := s.Create(ctx, tt.key, tt.value)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create(%q) error = %v, want %v", tt.key, err, tt.wantErr)
			}
			if tt.wantErr != nil {
				return
			}
			if rev <= 0 {
				t.Fatalf("Create(%q) revision = %d, want > 0", tt.key, rev)
			}
			assertKV(t, mustGet(t, s, tt.key), store.KeyValue{Key: tt.key, Value: tt.value, Revision: rev})
		})
	}
	if got := mustGet(t, s, "/a/taken"); string(got.Value) != "old" {
		t.Errorf("failed Create changed the value to %q", got.Value)
	}
}

func testUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		exists  bool
		rev     func(cur int64) int64
		wantErr error
	}{
		{name: "unconditional", exists: true, rev: func(int64) int64 { return 0 }},
		{name: "matching revision", exists: true, rev: func(cur int64) int64 { return cur }},
		{name: "stale revision", exists: true, rev: func(cur int64) int64 { return cur - 1 }, wantErr: store.ErrConflict},
		{name: "future revision", exists: true, rev: func(cur int64) int64 { return cur + 100 }, wantErr: store.ErrConflict},
		{name: "missing key", rev: func(int64) int64 { return 0 }, wantErr: store.ErrNotFound},
		{name: "missing key with revision", rev: func(int64) int64 { return 3 }, wantErr: store.ErrNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("/u/%d", i)
			var cur int64
			if tt.exists {
				mustCreate(t, s, key, "first")
				cur = mustUpdate(t, s, key, "second", 0) // so that cur-1 is a real old revision
			}
			rev, err := s.Update(ctx, key, []byte("new"), tt.rev(cur))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Update error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				if tt.exists {
					assertKV(t, mustGet(t, s, key), store.KeyValue{Key: key, Value: []byte("second"), Revision: cur})
				} else {
					mustNotExist(t, s, key)
				}
				return
			}
			if rev <= cur {
				t.Fatalf("Update revision = %d, want > %d", rev, cur)
			}
			assertKV(t, mustGet(t, s, key), store.KeyValue{Key: key, Value: []byte("new"), Revision: rev})
		})
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	tests := []struct {
		name    string
		exists  bool
		rev     func(cur int64) int64
		wantErr error
	}{
		{name: "unconditional", exists: true, rev: func(int64) int64 { return 0 }},
		{name: "matching revision", exists: true, rev: func(cur int64) int64 { return cur }},
		{name: "stale revision", exists: true, rev: func(cur int64) int64 { return cur - 1 }, wantErr: store.ErrConflict},
		{name: "missing key", rev: func(int64) int64 { return 0 }, wantErr: store.ErrNotFound},
		{name: "missing key with revision", rev: func(int64) int64 { return 2 }, wantErr: store.ErrNotFound},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := fmt.Sprintf("/d/%d", i)
			var cur int64
			if tt.exists {
				mustCreate(t, s, key, "first")
				cur = mustUpdate(t, s, key, "second", 0)
			}
			err := s.Delete(ctx, key, tt.rev(cur))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Delete error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && tt.exists {
				assertKV(t, mustGet(t, s, key), store.KeyValue{Key: key, Value: []byte("second"), Revision: cur})
				return
			}
			mustNotExist(t, s, key)
		})
	}

	t.Run("create after delete", func(t *testing.T) {
		mustCreate(t, s, "/d/again", "1")
		if err := s.Delete(ctx, "/d/again", 0); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		rev := mustCreate(t, s, "/d/again", "2")
		assertKV(t, mustGet(t, s, "/d/again"), store.KeyValue{Key: "/d/again", Value: []byte("2"), Revision: rev})
	})
}

func testErrorsNameTheKey(t *testing.T, s store.Store) {
	ctx := t.Context()
	rev := mustCreate(t, s, "/e/there", "v")
	tests := []struct {
		name    string
		key     string
		op      func() error
		wantErr error
	}{
		{"get", "/e/missing-get", func() error { _, err := s.Get(ctx, "/e/missing-get"); return err }, store.ErrNotFound},
		{"create", "/e/there", func() error { _, err := s.Create(ctx, "/e/there", nil); return err }, store.ErrExists},
		{"update", "/e/missing-update", func() error { _, err := s.Update(ctx, "/e/missing-update", nil, 0); return err }, store.ErrNotFound},
		{"update conflict", "/e/there", func() error { _, err := s.Update(ctx, "/e/there", nil, rev+7); return err }, store.ErrConflict},
		{"delete", "/e/missing-delete", func() error { return s.Delete(ctx, "/e/missing-delete", 0) }, store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op()
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name the key %s", err, tt.key)
			}
		})
	}
}

func testCanceledContext(t *testing.T, s store.Store) {
	mustCreate(t, s, "/c/x", "v")
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name string
		op   func() error
	}{
		{"get", func() error { _, err := s.Get(ctx, "/c/x"); return err }},
		{"list", func() error { _, _, err := s.List(ctx, "/c/"); return err }},
		{"create", func() error { _, err := s.Create(ctx, "/c/y", nil); return err }},
		{"update", func() error { _, err := s.Update(ctx, "/c/x", nil, 0); return err }},
		{"delete", func() error { return s.Delete(ctx, "/c/x", 0) }},
		{"watch", func() error { _, err := s.Watch(ctx, "/c/", 0); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, context.Canceled) {
				t.Fatalf("error = %v, want context.Canceled", err)
			}
		})
	}
	mustNotExist(t, s, "/c/y")
	if got := mustGet(t, s, "/c/x"); string(got.Value) != "v" {
		t.Errorf("value after canceled writes = %q, want v", got.Value)
	}
}

func testRevisions(t *testing.T, s store.Store) {
	ctx := t.Context()
	start := mustRevision(t, s)
	var revs []int64
	revs = append(revs, mustCreate(t, s, "/r/a", "1"))
	revs = append(revs, mustCreate(t, s, "/other/b", "1"))
	revs = append(revs, mustUpdate(t, s, "/r/a", "2", 0))
	revs = append(revs, mustUpdate(t, s, "/other/b", "2", revs[1]))
	if err := s.Delete(ctx, "/r/a", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	afterDelete := mustRevision(t, s)
	revs = append(revs, afterDelete)

	prev := start
	for i, r := range revs {
		if r <= prev {
			t.Fatalf("write %d got revision %d, not above the previous %d (all: %v, start %d)", i, r, prev, revs, start)
		}
		prev = r
	}
	if afterDelete <= revs[3] {
		t.Errorf("Delete did not move the revision: %d after %d", afterDelete, revs[3])
	}

	// Refused writes leave the revision alone.
	_, _ = s.Create(ctx, "/other/b", nil)
	_, _ = s.Update(ctx, "/other/b", nil, 1)
	_, _ = s.Update(ctx, "/r/missing", nil, 0)
	_ = s.Delete(ctx, "/r/missing", 0)
	if got := mustRevision(t, s); got != afterDelete {
		t.Errorf("Revision after refused writes = %d, want %d", got, afterDelete)
	}
}

func testList(t *testing.T, s store.Store) {
	ctx := t.Context()
	keys := []string{"/tasks/b", "/tasksx/a", "/tasks/a", "/tasks", "/task/z", "/tasks/a/sub", "/tasks/c", "/workers/a"}
	revs := map[string]int64{}
	for _, k := range keys {
		revs[k] = mustCreate(t, s, k, "v"+k)
	}
	revs["/tasks/b"] = mustUpdate(t, s, "/tasks/b", "v/tasks/b", 0)

	tests := []struct {
		prefix string
		want   []string
	}{
		{prefix: "/tasks/", want: []string{"/tasks/a", "/tasks/a/sub", "/tasks/b", "/tasks/c"}},
		{prefix: "/tasks", want: []string{"/tasks", "/tasks/a", "/tasks/a/sub", "/tasks/b", "/tasks/c", "/tasksx/a"}},
		{prefix: "/workers/", want: []string{"/workers/a"}},
		{prefix: "/none/", want: nil},
		{prefix: "/", want: []string{"/task/z", "/tasks", "/tasks/a", "/tasks/a/sub", "/tasks/b", "/tasks/c", "/tasksx/a", "/workers/a"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			kvs, rev, err := s.List(ctx, tt.prefix)
			if err != nil {
				t.Fatalf("List(%q): %v", tt.prefix, err)
			}
			if want := mustRevision(t, s); rev != want {
				t.Errorf("List revision = %d, want the store revision %d", rev, want)
			}
			var got []string
			for _, kv := range kvs {
				got = append(got, kv.Key)
				assertKV(t, kv, store.KeyValue{Key: kv.Key, Value: []byte("v" + kv.Key), Revision: revs[kv.Key]})
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("List(%q) keys = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

// testEmptyListThenWatch lists a store nothing was ever written to, writes,
// and only then watches from the list's revision: the write must arrive.
// Watch from 0 means "from now on", so an empty store must not list at 0.
func testEmptyListThenWatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	kvs, rev, err := s.List(ctx, "/empty/")
	if err != nil {
		t.Fatalf("List of an empty store: %v", err)
	}
	if len(kvs) != 0 || rev <= 0 {
		t.Fatalf("List of an empty store = %d keys at revision %d; want none at a revision above 0", len(kvs), rev)
	}
	wrote := mustCreate(t, s, "/empty/a", "1")
	ev := mustNext(t, mustWatch(t, s, ctx, "/empty/", rev))
	if ev.KV.Key != "/empty/a" || ev.KV.Revision != wrote {
		t.Fatalf("first event after the list = %s at revision %d; want /empty/a at %d", ev.KV.Key, ev.KV.Revision, wrote)
	}
}

// testListThenWatch is the informer pattern under load: list, then watch
// from the list's revision while writers keep going. Replaying the watch
// over the list must end exactly at the store's final state. Like an
// informer it lists again if its revision is compacted or its watch
// closes, which a backend with a short history may do under this load.
func testListThenWatch(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		writers    = 8
		rounds     = 25
		maxRelists = 10
	)
	for i := range writers {
		mustCreate(t, s, fmt.Sprintf("/lw/w%d-seed", i), "seed")
	}
	mustCreate(t, s, "/lwx/noise", "x")

	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, writers)
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			if err := writeRounds(ctx, s, i, rounds); err != nil {
				errs <- err
			}
		}()
	}

	relists := 0
	listAndWatch := func() (map[string]store.KeyValue, <-chan store.Event, int64) {
		t.Helper()
		for ; relists <= maxRelists; relists++ {
			kvs, rev, err := s.List(ctx, "/lw/")
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			ch, err := s.Watch(ctx, "/lw/", rev)
			if errors.Is(err, store.ErrCompacted) {
				continue
			}
			if err != nil {
				t.Fatalf("Watch from the list's revision %d: %v", rev, err)
			}
			state := map[string]store.KeyValue{}
			for _, kv := range kvs {
				state[kv.Key] = kv
			}
			return state, ch, rev
		}
		t.Fatalf("listed %d times and lost every watch", relists)
		return nil, nil, 0
	}

	close(start)
	time.Sleep(time.Millisecond) // let the writers get going before the list
	state, ch, last := listAndWatch()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	// A last write under the prefix marks the end of the stream: the
	// final state may have been reached by writes outside it.
	endRev := mustCreate(t, s, "/lw/~end", "end")
	final, _, err := s.List(ctx, "/lw/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for last < endRev {
		ev, ok := mustNextOrClose(t, ch)
		if !ok {
			relists++
			state, ch, last = listAndWatch()
			continue
		}
		if ev.KV.Revision <= last {
			t.Fatalf("event at revision %d after %d: duplicate or out of order", ev.KV.Revision, last)
		}
		if !strings.HasPrefix(ev.KV.Key, "/lw/") {
			t.Fatalf("event for %s outside the watched prefix", ev.KV.Key)
		}
		last = ev.KV.Revision
		switch ev.Type {
		case store.EventPut:
			if _, had := state[ev.KV.Key]; had == ev.Created {
				t.Errorf("event for %s at %d: Created = %v, but the key existed = %v", ev.KV.Key, last, ev.Created, had)
			}
			state[ev.KV.Key] = ev.KV
		case store.EventDelete:
			if _, had := state[ev.KV.Key]; !had {
				t.Errorf("delete event for %s at %d, which did not exist", ev.KV.Key, last)
			}
			delete(state, ev.KV.Key)
		default:
			t.Fatalf("event type %d", ev.Type)
		}
	}
	if len(state) != len(final) {
		t.Errorf("watched state has %d keys, the store %d", len(state), len(final))
	}
	for _, kv := range final {
		assertKV(t, state[kv.Key], kv)
	}
}

// writeRounds creates, updates (compare-and-swap) and sometimes deletes
// keys of writer i.
func writeRounds(ctx context.Context, s store.Store, i, rounds int) error {
	for r := range rounds {
		key := fmt.Sprintf("/lw/w%d-%d", i, r)
		rev, err := s.Create(ctx, key, []byte("created"))
		if err != nil {
			return err
		}
		if _, err := s.Update(ctx, key, []byte("updated"), rev); err != nil {
			return err
		}
		if r%3 == 0 {
			if err := s.Delete(ctx, key, 0); err != nil {
				return err
			}
		}
		if _, err := s.Update(ctx, "/lwx/noise", []byte(key), 0); err != nil {
			return err
		}
	}
	return nil
}

func testWatchReplay(t *testing.T, s store.Store) {
	ctx := t.Context()
	r1 := mustCreate(t, s, "/p/a", "a1")
	r2 := mustCreate(t, s, "/p/b", "b1")
	r3 := mustUpdate(t, s, "/p/a", "a2", r1)
	mustCreate(t, s, "/q/c", "c1")
	if err := s.Delete(ctx, "/p/b", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	r5 := mustRevision(t, s)

	tests := []struct {
		from int64
		want []store.Event
	}{
		{from: r1, want: []store.Event{
			{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: "/p/b", Value: []byte("b1"), Revision: r2}},
			{Type: store.EventPut, KV: store.KeyValue{Key: "/p/a", Value: []byte("a2"), Revision: r3}},
			{Type: store.EventDelete, KV: store.KeyValue{Key: "/p/b", Value: []byte("b1"), Revision: r5}},
		}},
		{from: r3, want: []store.Event{
			{Type: store.EventDelete, KV: store.KeyValue{Key: "/p/b", Value: []byte("b1"), Revision: r5}},
		}},
		{from: r5},
	}
	// Open every watch before the live write, which each must then see
	// right after its replay.
	chans := make([]<-chan store.Event, len(tests))
	for i, tt := range tests {
		chans[i] = mustWatch(t, s, ctx, "/p/", tt.from)
	}
	live := mustCreate(t, s, "/p/live", "live")
	for i, tt := range tests {
		t.Run(strconv.FormatInt(tt.from, 10), func(t *testing.T) {
			for _, want := range tt.want {
				assertEvent(t, mustNext(t, chans[i]), want)
			}
			assertEvent(t, mustNext(t, chans[i]), store.Event{Type: store.EventPut, Created: true,
				KV: store.KeyValue{Key: "/p/live", Value: []byte("live"), Revision: live}})
		})
	}
}

func testWatchFromNow(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "/n/before", "1")
	ch := mustWatch(t, s, ctx, "/n/", 0)
	rev := mustCreate(t, s, "/n/after", "2")
	assertEvent(t, mustNext(t, ch), store.Event{Type: store.EventPut, Created: true,
		KV: store.KeyValue{Key: "/n/after", Value: []byte("2"), Revision: rev}})
	mustNoEvent(t, ch)
}

func testWatchPrefix(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustWatch(t, s, ctx, "/tasks/", 0)
	for _, k := range []string{"/tasksx/a", "/task/a", "/workers/a", "/tasks"} {
		mustCreate(t, s, k, "no")
	}
	rev := mustCreate(t, s, "/tasks/a", "yes")
	ev := mustNext(t, ch)
	if ev.KV.Key != "/tasks/a" || ev.KV.Revision != rev {
		t.Fatalf("first event = %s at %d, want /tasks/a at %d", ev.KV.Key, ev.KV.Revision, rev)
	}
	mustNoEvent(t, ch)
}

func testWatchEvents(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustWatch(t, s, ctx, "/ev/", 0)
	r1 := mustCreate(t, s, "/ev/k", "v1")
	r2 := mustUpdate(t, s, "/ev/k", "v2", r1)
	if err := s.Delete(ctx, "/ev/k", r2); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	r3 := mustRevision(t, s)
	r4 := mustCreate(t, s, "/ev/k", "v3")

	for _, want := range []store.Event{
		{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: "/ev/k", Value: []byte("v1"), Revision: r1}},
		{Type: store.EventPut, Created: false, KV: store.KeyValue{Key: "/ev/k", Value: []byte("v2"), Revision: r2}},
		{Type: store.EventDelete, KV: store.KeyValue{Key: "/ev/k", Value: []byte("v2"), Revision: r3}},
		{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: "/ev/k", Value: []byte("v3"), Revision: r4}},
	} {
		assertEvent(t, mustNext(t, ch), want)
	}
}

// testKeepsNoCallersBuffer writes from one buffer, overwritten after each
// call, as a caller that reuses its buffer does: what the store keeps and
// what its watchers get are the values as they were at the calls.
func testKeepsNoCallersBuffer(t *testing.T, s store.Store) {
	ctx := t.Context()
	ch := mustWatch(t, s, ctx, "/buf/", 0)
	buf := []byte("first")
	r1, err := s.Create(ctx, "/buf/k", buf)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	copy(buf, "XXXXX")
	buf = append(buf[:0], "second"...)
	r2, err := s.Update(ctx, "/buf/k", buf, r1)
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	copy(buf, "YYYYYY")
	assertKV(t, mustGet(t, s, "/buf/k"), store.KeyValue{Key: "/buf/k", Value: []byte("second"), Revision: r2})
	assertEvent(t, mustNext(t, ch), store.Event{Type: store.EventPut, Created: true, KV: store.KeyValue{Key: "/buf/k", Value: []byte("first"), Revision: r1}})
	assertEvent(t, mustNext(t, ch), store.Event{Type: store.EventPut, KV: store.KeyValue{Key: "/buf/k", Value: []byte("second"), Revision: r2}})
	kvs, _, err := s.List(ctx, "/buf/")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(kvs) != 1 || string(kvs[0].Value) != "second" {
		t.Fatalf("List = %v, want the one key at %q", kvs, "second")
	}
}

func testWatchCancel(t *testing.T, s store.Store) {
	tests := []struct {
		name string
		rev  func() int64
	}{
		{name: "from now", rev: func() int64 { return 0 }},
		{name: "from the past", rev: func() int64 { return 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustCreate(t, s, "/wc/"+tt.name, "v")
			ctx, cancel := context.WithCancel(t.Context())
			ch := mustWatch(t, s, ctx, "/wc/", tt.rev())
			cancel()
			mustClosed(t, ch)
			// The store still works for others.
			mustCreate(t, s, "/wc/after "+tt.name, "v")
		})
	}
}

func testWatchClose(t *testing.T, s store.Store) {
	ctx := t.Context()
	mustCreate(t, s, "/wx/a", "v")
	live := mustWatch(t, s, ctx, "/wx/", 0)
	past := mustWatch(t, s, ctx, "/wx/", 1)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	mustClosed(t, live)
	mustClosed(t, past)

	tests := []struct {
		name string
		op   func() error
	}{
		{"get", func() error { _, err := s.Get(ctx, "/wx/a"); return err }},
		{"list", func() error { _, _, err := s.List(ctx, "/wx/"); return err }},
		{"create", func() error { _, err := s.Create(ctx, "/wx/b", nil); return err }},
		{"update", func() error { _, err := s.Update(ctx, "/wx/a", nil, 0); return err }},
		{"delete", func() error { return s.Delete(ctx, "/wx/a", 0) }},
		{"watch", func() error { _, err := s.Watch(ctx, "/wx/", 0); return err }},
		{"revision", func() error { _, err := s.Revision(ctx); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.op(); !errors.Is(err, store.ErrClosed) {
				t.Fatalf("after Close: error = %v, want ErrClosed", err)
			}
		})
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testCompacted(t *testing.T, s store.Store, cfg config) {
	ctx := t.Context()
	compact := cfg.compact
	if compact == nil {
		c, ok := s.(compacter)
		if !ok {
			t.Fatalf("%T has no Compact(ctx, rev) error method; pass storetest.WithCompact", s)
		}
		compact = func(ctx context.Context, _ store.Store, rev int64) error { return c.Compact(ctx, rev) }
	}
	first := mustCreate(t, s, "/cp/a", "1")
	for i := range 5 {
		mustUpdate(t, s, "/cp/a", strconv.Itoa(i), 0)
	}
	at := mustRevision(t, s)
	if err := compact(ctx, s, at); err != nil {
		t.Fatalf("compact at %d: %v", at, err)
	}
	after := mustCreate(t, s, "/cp/b", "2")

	for _, rev := range []int64{first, first + 1} {
		if _, err := s.Watch(ctx, "/cp/", rev); !errors.Is(err, store.ErrCompacted) {
			t.Errorf("Watch from %d after compacting at %d: error = %v, want ErrCompacted", rev, at, err)
		}
	}
	ch := mustWatch(t, s, ctx, "/cp/", at)
	assertEvent(t, mustNext(t, ch), store.Event{Type: store.EventPut, Created: true,
		KV: store.KeyValue{Key: "/cp/b", Value: []byte("2"), Revision: after}})
	// Compaction drops history, not data.
	if got := mustGet(t, s, "/cp/a"); string(got.Value) != "4" {
		t.Errorf("value after compaction = %q, want 4", got.Value)
	}
}

// testConcurrentCAS has goroutines increment one counter with
// compare-and-swap, retrying on conflict; no increment may be lost.
func testConcurrentCAS(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		workers    = 8
		increments = 40
	)
	mustCreate(t, s, "/cas/counter", "0")
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range increments {
				if err := increment(ctx, s, "/cas/counter"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := string(mustGet(t, s, "/cas/counter").Value); got != strconv.Itoa(workers*increments) {
		t.Errorf("counter = %s, want %d", got, workers*increments)
	}
}

func increment(ctx context.Context, s store.Store, key string) error {
	for {
		kv, err := s.Get(ctx, key)
		if err != nil {
			return err
		}
		n, err := strconv.Atoi(string(kv.Value))
		if err != nil {
			return fmt.Errorf("counter %q: %w", kv.Value, err)
		}
		_, err = s.Update(ctx, key, []byte(strconv.Itoa(n+1)), kv.Revision)
		if errors.Is(err, store.ErrConflict) {
			continue
		}
		return err
	}
}

func mustCreate(t testing.TB, s store.Store, key, value string) int64 {
	t.Helper()
	rev, err := s.Create(t.Context(), key, []byte(value))
	if err != nil {
		t.Fatalf("Create(%q): %v", key, err)
	}
	return rev
}

func mustUpdate(t testing.TB, s store.Store, key, value string, rev int64) int64 {
	t.Helper()
	rev, err := s.Update(t.Context(), key, []byte(value), rev)
	if err != nil {
		t.Fatalf("Update(%q): %v", key, err)
	}
	return rev
}

func mustGet(t testing.TB, s store.Store, key string) store.KeyValue {
	t.Helper()
	kv, err := s.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return kv
}

func mustNotExist(t testing.TB, s store.Store, key string) {
	t.Helper()
	if kv, err := s.Get(t.Context(), key); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(%q) = %q, %v; want ErrNotFound", key, kv.Value, err)
	}
}

func mustRevision(t testing.TB, s store.Store) int64 {
	t.Helper()
	rev, err := s.Revision(t.Context())
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

func mustWatch(t testing.TB, s store.Store, ctx context.Context, prefix string, rev int64) <-chan store.Event {
	t.Helper()
	ch, err := s.Watch(ctx, prefix, rev)
	if err != nil {
		t.Fatalf("Watch(%q, %d): %v", prefix, rev, err)
	}
	return ch
}

// mustNext returns the next event, failing if the channel closes or
// nothing comes within eventTimeout.
func mustNext(t testing.TB, ch <-chan store.Event) store.Event {
	t.Helper()
	ev, ok := mustNextOrClose(t, ch)
	if !ok {
		t.Fatal("watch channel closed; want an event")
	}
	return ev
}

// mustNextOrClose returns the next event, or false when the channel
// closes, failing if neither happens within eventTimeout.
func mustNextOrClose(t testing.TB, ch <-chan store.Event) (store.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		return ev, ok
	case <-time.After(eventTimeout):
		t.Fatalf("no event within %s", eventTimeout)
	}
	return store.Event{}, false
}

// mustNoEvent fails if an event arrives within quietPeriod.
func mustNoEvent(t testing.TB, ch <-chan store.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %+v", ev)
		}
		t.Fatal("watch channel closed; want it open")
	case <-time.After(quietPeriod):
	}
}

// mustClosed drains ch and fails unless it closes within eventTimeout.
func mustClosed(t testing.TB, ch <-chan store.Event) {
	t.Helper()
	deadline := time.After(eventTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatalf("watch channel still open after %s", eventTimeout)
		}
	}
}

func assertKV(t testing.TB, got, want store.KeyValue) {
	t.Helper()
	if got.Key != want.Key || string(got.Value) != string(want.Value) || got.Revision != want.Revision {
		t.Errorf("got %s=%q at %d, want %s=%q at %d", got.Key, got.Value, got.Revision, want.Key, want.Value, want.Revision)
	}
}

func assertEvent(t testing.TB, got, want store.Event) {
	t.Helper()
	if got.Type != want.Type || got.Created != want.Created {
		t.Errorf("event for %s at %d: type %d created %v, want type %d created %v",
			got.KV.Key, got.KV.Revision, got.Type, got.Created, want.Type, want.Created)
	}
	assertKV(t, got.KV, want.KV)
}

// testClusterID: managers that start together on an empty store, and any
// that start later, all get the one cluster id the first stored.
func testClusterID(t *testing.T, s store.Store) {
	ctx := t.Context()
	const racers = 8
	ids := make([]string, racers)
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() { ids[i], errs[i] = store.EnsureClusterID(ctx, s) })
	}
	wg.Wait()
	for i := range racers {
		if errs[i] != nil {
			t.Fatalf("EnsureClusterID (racer %d): %v", i, errs[i])
		}
		if ids[i] == "" || ids[i] != ids[0] {
			t.Fatalf("racing EnsureClusterID gave %q, want every racer to get %q", ids[i], ids[0])
		}
	}
	later, err := store.EnsureClusterID(ctx, s)
	if err != nil || later != ids[0] {
		t.Fatalf("EnsureClusterID later = %q, %v; want %q", later, err, ids[0])
	}
	if got := mustGet(t, s, store.ClusterIDKey); string(got.Value) != ids[0] {
		t.Fatalf("stored cluster id %q, want %q", got.Value, ids[0])
	}
}
