package store

import (
	"reflect"
	"time"
	"unsafe"

	v1 "github.com/minkube/minkube/apis/v1"
)

// SetNow sets the clock r stamps its events with.
func SetNow(r *Recorder, now func() time.Time) { r.now = now }

// SetEventQueueBound sets how many distinct events st's writer queues,
// before st starts.
func SetEventQueueBound(st *State, n int) { st.events.max = n }

// IndexedEvents is how many events st's event index knows.
func IndexedEvents(st *State) int { return st.eventIndex.len() }

// SameMap reports whether a and b are one map, not two equal ones.
func SameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// SameString reports whether a and b share their bytes.
func SameString(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }

// SetFeedSizes sets how many changes c keeps for its watchers and how
// many a watcher may have waiting, before c starts.
func SetFeedSizes[T any, P interface {
	*T
	v1.Object
}](c *Cache[T, P], history, buffer int) {
	c.feed.histCap, c.feed.buffer = history, buffer
}
