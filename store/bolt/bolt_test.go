package bolt_test

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/storetest"
)

// mustOpen opens a store in a fresh file and closes it at cleanup.
func mustOpen(tb testing.TB, opts bolt.Options) *bolt.Store {
	tb.Helper()
	return mustOpenPath(tb, filepath.Join(tb.TempDir(), "state.db"), opts)
}

func mustOpenPath(tb testing.TB, path string, opts bolt.Options) *bolt.Store {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := bolt.Open(path, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, bolt.Options{}) })
}

func TestStore_smallWatchHistory(t *testing.T) {
	// The suite again with a log short enough to be trimmed while it runs.
	storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t, bolt.Options{WatchHistory: 50}) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return mustOpen(b, bolt.Options{}) })
}

func BenchmarkStore_NoSync(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store { return mustOpen(b, bolt.Options{NoSync: true}) })
}

func TestOpen_reopenKeepsDataAndRevision(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	ctx := t.Context()

	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	a, err := s.Create(ctx, "/k/a", []byte("1"))
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if _, err := s.Create(ctx, "/k/b", []byte("2")); err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Delete(ctx, "/k/b", 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	last, err := s.Revision(ctx)
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = mustOpenPath(t, path, bolt.Options{})
	if rev, err := s.Revision(ctx); err != nil || rev != last {
		t.Fatalf("Revision after reopen = %d, %v; want %d", rev, err, last)
	}
	kv, err := s.Get(ctx, "/k/a")
	if err != nil || string(kv.Value) != "1" || kv.Revision != a {
		t.Fatalf("Get after reopen = %q at %d, %v; want 1 at %d", kv.Value, kv.Revision, err, a)
	}
	if _, err := s.Get(ctx, "/k/b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted key after reopen: %v, want ErrNotFound", err)
	}
	next, err := s.Create(ctx, "/k/c", nil)
	if err != nil || next != last+1 {
		t.Fatalf("Create after reopen = %d, %v; want revision %d", next, err, last+1)
	}

	// History survives too: a watch from the first write replays the rest.
	ch, err := s.Watch(ctx, "/k/", a)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	var got []string
	for range 3 {
		ev := <-ch
		got = append(got, fmt.Sprintf("%d %s@%d", ev.Type, ev.KV.Key, ev.KV.Revision))
	}
	want := []string{
		fmt.Sprintf("%d /k/b@%d", store.EventPut, a+1),
		fmt.Sprintf("%d /k/b@%d", store.EventDelete, a+2),
		fmt.Sprintf("%d /k/c@%d", store.EventPut, next),
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("replay after reopen = %q, want %q", got, want)
	}
}

func TestOpen_locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	mustOpenPath(t, path, bolt.Options{})

	// bbolt's flock belongs to the open file, so a second Open in this
	// process meets the same lock another process would.
	start := time.Now()
	s, err := bolt.Open(path, bolt.Options{})
	if err == nil {
		s.Close()
		t.Fatal("second Open succeeded; want ErrLocked")
	}
	if !errors.Is(err, bolt.ErrLocked) {
		t.Fatalf("second Open: %v; want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the file", err)
	}
	if waited := time.Since(start); waited < 500*time.Millisecond {
		t.Errorf("gave up after %s; want it to wait for the lock first", waited)
	}
}

func TestOpen_errors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a bolt file ", 1024)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		opts    bolt.Options
		wantErr error
	}{
		{name: "not a store", path: garbage, wantErr: bolt.ErrCorrupt},
		{name: "missing directory", path: filepath.Join(dir, "nope", "state.db"), wantErr: os.ErrNotExist},
		{name: "negative history", path: filepath.Join(dir, "neg.db"), opts: bolt.Options{WatchHistory: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := bolt.Open(tt.path, tt.opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded; want an error")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Open: %v; want %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestWatch_historyTrimmed(t *testing.T) {
	const history = 10
	s := mustOpen(t, bolt.Options{WatchHistory: history})
	ctx := t.Context()
	var revs []int64
	for i := range 3 * history {
		rev, err := s.Create(ctx, fmt.Sprintf("/h/%02d", i), nil)
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		revs = append(revs, rev)
	}
	last := revs[len(revs)-1]
	tests := []struct {
		from       int64
		wantErr    error
		wantEvents int
	}{
		{from: revs[0], wantErr: store.ErrCompacted},
		{from: last - history - 1, wantErr: store.ErrCompacted},
		{from: last - history, wantEvents: history},
		{from: last - 3, wantEvents: 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.from), func(t *testing.T) {
			ch, err := s.Watch(ctx, "/h/", tt.from)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Watch from %d (last %d): %v, want %v", tt.from, last, err, tt.wantErr)
			}
			for i := range tt.wantEvents {
				if ev := <-ch; ev.KV.Revision != tt.from+int64(i)+1 {
					t.Fatalf("event %d at revision %d, want %d", i, ev.KV.Revision, tt.from+int64(i)+1)
				}
			}
		})
	}
}

func TestWatch_slowWatcherClosed(t *testing.T) {
	const buffer = 4
	s := mustOpen(t, bolt.Options{WatchBuffer: buffer})
	ctx := t.Context()
	slow, err := s.Watch(ctx, "/s/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	other, err := s.Watch(ctx, "/other/", 0)
	if err != nil {
		t.Fatalf("Watch: %v", err)
	}
	for i := range 2 * buffer {
		if _, err := s.Create(ctx, fmt.Sprintf("/s/%d", i), nil); err != nil {
			t.Fatalf("Create: %v", err)
		}
	}
	// The writes did not wait for the reader; the reader gets what fit and
	// then the close that tells it to list again.
	got := 0
	for range slow {
		got++
	}
	if got != buffer {
		t.Errorf("slow watcher got %d events before closing, want %d", got, buffer)
	}
	// A watcher that keeps up is unaffected.
	rev, err := s.Create(ctx, "/other/x", nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if ev := <-other; ev.KV.Revision != rev {
		t.Errorf("other watcher got revision %d, want %d", ev.KV.Revision, rev)
	}
}

func TestCompact_aheadOfRevision(t *testing.T) {
	s := mustOpen(t, bolt.Options{})
	rev, err := s.Create(t.Context(), "/x", nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if err := s.Compact(t.Context(), rev+1); err == nil {
		t.Fatal("Compact beyond the current revision succeeded")
	}
	if err := s.Compact(t.Context(), rev); err != nil {
		t.Fatalf("Compact at the current revision: %v", err)
	}
}

func TestCreate_badKey(t *testing.T) {
	s := mustOpen(t, bolt.Options{})
	for _, key := range []string{"", strings.Repeat("k", 40000)} {
		if _, err := s.Create(t.Context(), key, nil); err == nil {
			t.Errorf("Create with a %d-byte key succeeded", len(key))
		}
	}
	// A refused write does not break the store.
	if _, err := s.Create(t.Context(), "/ok", nil); err != nil {
		t.Fatalf("Create after refused writes: %v", err)
	}
}

// A value past the most the store keeps is refused, naming both sizes,
// and nothing is written.
func TestCreate_valueTooLarge(t *testing.T) {
	s := mustOpen(t, bolt.Options{})
	ctx := t.Context()
	before, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Create(ctx, "/big/a", make([]byte, 64<<20+1))
	if err == nil || !strings.Contains(err.Error(), "value of 67108865 bytes, at most 67108864") {
		t.Fatalf("Create of a value of 64 MiB and a byte: %v; want a refusal naming both sizes", err)
	}
	if rev, err := s.Revision(ctx); err != nil || rev != before {
		t.Errorf("Revision after the refusal = %d, %v; want %d", rev, err, before)
	}
	if _, err := s.Create(ctx, "/big/b", make([]byte, 64<<20)); err != nil {
		t.Errorf("Create of a value of 64 MiB: %v", err)
	}
}
