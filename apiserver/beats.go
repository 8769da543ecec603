package apiserver

import (
	"context"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
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

// reportBytesAtOnce is how many bytes of status reports, by their
// Content-Length, the manager reads, decodes and judges at once.
const reportBytesAtOnce = MaxBodyBytes

// reportGate bounds the status reports a manager holds at once, by their
// size. A report is held from its read until its task statuses are
// written: its body, the decoded report and the statuses it writes. When
// every worker's tasks start together, each worker reports its hundred
// tasks at the same moment (about 100 KB each); in the heap profile of
// the 10,000-task benchmark (hack/scale), the reports held together were
// 14 MB of the manager's 48, and its collector lets the heap grow to
// twice what it holds. Two cores judge no more reports a second for
// holding more of them at once: a report waits its turn unread, in its
// connection's socket, rather than decoded in the heap. A heartbeat with
// no task in it takes little room.
type reportGate struct {
	sem  *semaphore.Weighted
	size int64
}

func newReportGate(size int64) reportGate {
	return reportGate{sem: semaphore.NewWeighted(size), size: size}
}

// enter waits until r's report may be read: its Content-Length fits in
// what the reports held at once leave. A report of unknown length counts
// as the largest accepted. The caller calls release when done with the
// report.
func (g reportGate) enter(r *http.Request) (release func(), err error) {
	n := r.ContentLength
	if n <= 0 || n > g.size {
		n = g.size
	}
	if err := g.sem.Acquire(r.Context(), n); err != nil {
		return nil, err
	}
	return func() { g.sem.Release(n) }, nil
}
