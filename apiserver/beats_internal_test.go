package apiserver

import (
	"context"
	"sync"
	"testing"
	"time"
)

// The calls that fall in one window return together when it ends, and
// not before; a call after it opens the next; a call whose context ends
// returns then; with no window a call returns at once.
func TestWriteGroup(t *testing.T) {
	var mu sync.Mutex
	var ends []func() // the windows' ends, to fire by hand
	g := &writeGroup{window: time.Hour, after: func(d time.Duration, f func()) {
		if d != time.Hour {
			t.Errorf("window of %s, want 1h", d)
		}
		mu.Lock()
		ends = append(ends, f)
		mu.Unlock()
	}}
	windows := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(ends)
	}
	returned := make(chan int, 3)
	for i := range 3 {
		go func() {
			g.wait(context.Background())
			returned <- i
		}()
	}
	until(t, "3 calls in the open window", func() bool { return g.waiting() == 3 })
	select {
	case i := <-returned:
		t.Fatalf("call %d returned before its window ended", i)
	case <-time.After(50 * time.Millisecond):
	}
	if n := windows(); n != 1 {
		t.Fatalf("3 calls in one window opened %d windows", n)
	}
	ends[0]()
	for range 3 {
		<-returned
	}
	if n := g.waiting(); n != 0 {
		t.Errorf("%d calls wait once the window ended", n)
	}

	// The next call opens a window of its own.
	next := make(chan struct{})
	go func() {
		g.wait(context.Background())
		close(next)
	}()
	until(t, "a second window", func() bool { return windows() == 2 })
	ends[1]()
	<-next

	// A call whose context ends does not wait for its window.
	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan struct{})
	go func() {
		g.wait(ctx)
		close(gone)
	}()
	until(t, "a third window", func() bool { return windows() == 3 })
	cancel()
	<-gone
	ends[2]()

	off := &writeGroup{window: -1, after: func(time.Duration, func()) { t.Error("no window: a timer was set") }}
	off.wait(context.Background())
}

// until waits for cond, failing the test after 10 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10s", what)
		}
	}
}
