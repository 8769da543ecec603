package store

import "time"

// SetNow sets the clock r stamps its events with.
func SetNow(r *Recorder, now func() time.Time) { r.now = now }

// SetEventQueueBound sets how many distinct events st's writer queues,
// before st starts.
func SetEventQueueBound(st *State, n int) { st.events.max = n }
