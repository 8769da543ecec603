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

	mu   sync.Mutex
	open chan struct{} // closed when the open window ends; nil while none is
}

// wait returns when the window the call falls in ends, opening one when
// none is open, or when ctx ends; at once when the window is zero.
func (g *writeGroup) wait(ctx context.Context) {
	if g.window <= 0 {
		return
	}
	g.mu.Lock()
	end := g.open
	if end == nil {
		end = make(chan struct{})
		g.open = end
		time.AfterFunc(g.window, func() {
			g.mu.Lock()
			g.open = nil
			g.mu.Unlock()
			close(end)
		})
	}
	g.mu.Unlock()
	select {
	case <-end:
	case <-ctx.Done():
	}
}
