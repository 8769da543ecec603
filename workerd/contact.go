package workerd

import (
	"strconv"
	"sync"
	"time"
)

// minContactTimeout is the shortest silence after which the worker takes
// itself to be out of contact with the manager, so that reports slowed
// down by a busy host do not count as lost contact. It is the manager's
// worker timeout at 1s heartbeats; only a --reschedule-after shorter than
// it moves tasks before a worker would know.
const minContactTimeout = 3 * time.Second

// managerContact is what the worker last heard from the manager: the
// heartbeat interval to keep, the newest task revision the manager
// answered at, and when it last answered.
type managerContact struct {
	fallback time.Duration // Options.HeartbeatInterval: until the manager says

	mu       sync.Mutex
	interval time.Duration // the manager's; 0 until it says
	revision int64
	last     time.Time
}

// heard records an answer of the manager at now. interval and revision
// are what it carried; 0 means it said nothing of them.
func (c *managerContact) heard(now time.Time, interval time.Duration, revision int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = now
	if interval > 0 {
		c.interval = interval
	}
	c.revision = max(c.revision, revision)
}

// heartbeat returns the period of full status reports: the manager's
// interval once it has given one.
func (c *managerContact) heartbeat() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.interval > 0 {
		return c.interval
	}
	return c.fallback
}

// trusts reports whether a push of a task the worker does not hold, whose
// resourceVersion is rv, can be taken at once. It cannot when the push may
// be one the manager has given up on, and the worker then checks the
// manager's list of its tasks first:
//   - the manager has answered at a revision not below rv since the push
//     was made, so the push may have been delayed past the manager's
//     wait for it;
//   - the worker has not heard from the manager for about the manager's
//     worker timeout (three heartbeat intervals): the manager may have
//     judged it lost and moved its tasks.
func (c *managerContact) trusts(rv string, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	interval := c.interval
	if interval <= 0 {
		interval = c.fallback
	}
	if now.Sub(c.last) > max(3*interval, minContactTimeout) {
		return false
	}
	if c.revision == 0 {
		return true // the manager gives no revisions: nothing to compare
	}
	n, err := strconv.ParseInt(rv, 10, 64)
	return err == nil && n > c.revision
}
