package apiserver

import (
	"context"
	"sync"
	"time"
)

// beatWindow is how long, by default, the first of the workers' periodic
// heartbeats waits for others before they write together.
const beatWindow = 50 * time.Millisecond

// writeGroup lines up writes that may wait a little: each call to wait
// returns at the end of the window the first of them opened, so that the
// writes their callers then make meet in the store's writer and are
// committed in one transaction (or few) rather than one each. Every
// periodic heartbeat stores its worker's status: a thousand workers send
// two hundred a second, and a commit of its own for each, with its page
// writes and its two fdatasyncs, made heartbeats 15% of a core for an
// idle manager.
type writeGroup struct {
	window time.Duration
	// after runs f once d has passed: time.AfterFunc, or a test's.
	after func(d time.Duration, f func())

	mu   sync.Mutex
	open *writeWindow // nil while no window is open
}

// writeWindow is one window of a writeGroup.
type writeWindow struct {
	end   chan struct{} // closed when it ends
	calls int           // the calls waiting in it
}

// wait returns when the window the call falls in ends, opening one when
// none is open, or when ctx ends; at once when the window is zero.
func (g *writeGroup) wait(ctx context.Context) {
	if g.window <= 0 {
		return
	}
	g.mu.Lock()
	w := g.open
	if w == nil {
		w = &writeWindow{end: make(chan struct{})}
		g.open = w
		after := g.after
		if after == nil {
			after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
		after(g.window, func() {
			g.mu.Lock()
			g.open = nil
			g.mu.Unlock()
			close(w.end)
		})
	}
	w.calls++
	g.mu.Unlock()
	select {
	case <-w.end:
	case <-ctx.Done():
	}
}

// waiting returns how many calls the open window holds, 0 when none is
// open.
func (g *writeGroup) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.open == nil {
		return 0
	}
	return g.open.calls
}
