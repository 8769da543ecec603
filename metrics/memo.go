package metrics

import (
	"maps"
	"sync"
	"sync/atomic"
)

// memo keeps the children of a metric vector by their label values, so
// that a path taken for every request or call finds its child with one
// map lookup, where the vector's WithLabelValues hashes the values, locks
// the vector and allocates their slice each time (the metrics of every
// request and runtime call were 4% of the hollow workers' CPU). Label
// values must be bounded, as for the vector itself.
//
// Readers share nothing they write to: the map is replaced, copied with
// the new child, when a child is first resolved, which bounded labels make
// rare (a read lock's counter, shared by every reader, cost as much as
// the lookup).
type memo[K comparable, M any] struct {
	children atomic.Pointer[map[K]M]
	mu       sync.Mutex // serializes the copies
	resolve  func(K) M  // the vector's child of K
}

// newMemo returns a memo whose children resolve finds in the vector.
func newMemo[K comparable, M any](resolve func(K) M) *memo[K, M] {
	m := &memo[K, M]{resolve: resolve}
	m.children.Store(&map[K]M{})
	return m
}

// get returns the child of k, resolving it from the vector on first use.
func (m *memo[K, M]) get(k K) M {
	if c, ok := (*m.children.Load())[k]; ok {
		return c
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.children.Load()
	if c, ok := old[k]; ok {
		return c
	}
	c := m.resolve(k)
	next := maps.Clone(old)
	next[k] = c
	m.children.Store(&next)
	return c
}
