package metrics

import "sync"

// Memo keeps the children of a metric vector by their label values, so
// that a path taken for every request or call finds its child with one
// map lookup, where the vector's WithLabelValues hashes the values, locks
// the vector and allocates their slice each time (2-4% of a busy
// worker's CPU). Label values must be bounded, as for the vector itself.
type Memo[K comparable, M any] struct {
	mu       sync.RWMutex
	children map[K]M
	resolve  func(K) M // the vector's child of K
}

// NewMemo returns a Memo whose children resolve finds in the vector.
func NewMemo[K comparable, M any](resolve func(K) M) *Memo[K, M] {
	return &Memo[K, M]{children: make(map[K]M), resolve: resolve}
}

// Get returns the child of k, resolving it from the vector on first use.
func (m *Memo[K, M]) Get(k K) M {
	m.mu.RLock()
	c, ok := m.children[k]
	m.mu.RUnlock()
	if ok {
		return c
	}
	c = m.resolve(k)
	m.mu.Lock()
	m.children[k] = c
	m.mu.Unlock()
	return c
}
