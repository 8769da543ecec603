package bolt

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minkube/minkube/store"
)

// TestReplay_writeBeforeJoin commits a change in the window between a
// replay's last read of the log and its joining the live fan-out. The
// watcher must still get it, once.
func TestReplay_writeBeforeJoin(t *testing.T) {
	tests := []struct {
		name   string
		writes int // before the watch; more than replayChunk makes several reads
	}{
		{name: "short replay", writes: 3},
		{name: "several chunks", writes: replayChunk + 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Registered before the store so that it runs after Close, once
			// no watch goroutine can read the hook.
			t.Cleanup(func() { testHookBeforeJoin = nil })
			s, err := Open(filepath.Join(t.TempDir(), "state.db"), Options{
				NoSync: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			ctx := t.Context()

			first, err := s.Create(ctx, "/k/first", nil)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			for i := range tt.writes {
				if _, err := s.Create(ctx, fmt.Sprintf("/k/%d", i), nil); err != nil {
					t.Fatalf("Create: %v", err)
				}
			}
			var (
				once    sync.Once
				hookRev int64
				hookErr error
			)
			testHookBeforeJoin = func() {
				once.Do(func() { hookRev, hookErr = s.Create(ctx, "/k/in-the-window", nil) })
			}
			ch, err := s.Watch(ctx, "/k/", first)
			if err != nil {
				t.Fatalf("Watch: %v", err)
			}
			for want := first + 1; want <= first+int64(tt.writes)+1; want++ {
				ev := mustNext(t, ch)
				if ev.KV.Revision != want {
					t.Fatalf("event at revision %d, want %d", ev.KV.Revision, want)
				}
			}
			if hookErr != nil || hookRev != first+int64(tt.writes)+1 {
				t.Fatalf("write in the window: revision %d, %v", hookRev, hookErr)
			}
			// Nothing twice: the next event is the next write.
			next, err := s.Create(ctx, "/k/next", nil)
			if err != nil {
				t.Fatalf("Create: %v", err)
			}
			if ev := mustNext(t, ch); ev.KV.Revision != next {
				t.Fatalf("event at revision %d after the window, want %d", ev.KV.Revision, next)
			}
		})
	}
}

// mustNext returns the next event, failing if the channel closes or stays
// empty for long (a guard against hangs, not a speed requirement).
func mustNext(t *testing.T, ch <-chan store.Event) store.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("watch channel closed; want an event")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10s")
	}
	return store.Event{}
}
