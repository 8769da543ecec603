package reconcile

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock that moves only when Step is called.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // active timers
	created []time.Time   // deadline of every timer ever made
	changed chan struct{} // closed and replaced whenever a timer is made
}

var _ Clock = (*fakeClock)(nil)

func newFakeClock() *fakeClock {
	return &fakeClock{
		now:     time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		changed: make(chan struct{}),
	}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) NewTimerAt(at time.Time) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{clock: c, at: at, ch: make(chan time.Time, 1)}
	c.created = append(c.created, at)
	close(c.changed)
	c.changed = make(chan struct{})
	if !at.After(c.now) {
		t.ch <- c.now
		return t
	}
	t.active = true
	c.timers = append(c.timers, t)
	return t
}

// Step moves the clock forward by d and fires the timers that are due.
func (c *fakeClock) Step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.timers[:0]
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.active = false
		t.ch <- c.now
	}
	clear(c.timers[len(kept):])
	c.timers = kept
}

// mustWaitForTimer blocks until a timer for at has been made: the sign
// that the Queue holds a key back until at. It fails the test if none
// appears within a generous failsafe.
func mustWaitForTimer(t *testing.T, c *fakeClock, at time.Time) {
	t.Helper()
	failsafe := time.NewTimer(10 * time.Second)
	defer failsafe.Stop()
	for {
		c.mu.Lock()
		for _, made := range c.created {
			if made.Equal(at) {
				c.mu.Unlock()
				return
			}
		}
		changed := c.changed
		c.mu.Unlock()
		select {
		case <-changed:
		case <-failsafe.C:
			t.Fatalf("no timer was set for %v", at)
		}
	}
}

type fakeTimer struct {
	clock  *fakeClock
	at     time.Time
	ch     chan time.Time
	active bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	c := t.clock
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.active {
		return false
	}
	t.active = false
	for i, other := range c.timers {
		if other == t {
			c.timers = append(c.timers[:i], c.timers[i+1:]...)
			break
		}
	}
	return true
}
