package store

import (
	"slices"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// The task cache holds every task decoded, each with its own copy of
// every string: 10,000 tasks on one image and a hundred workers hold that
// image's name, their worker's name, their conditions' words and an equal
// map of labels 10,000 times. Before a cache keeps an object it compacts
// it: the strings that repeat across objects (kinds, images, worker
// names, phases, reasons, short messages) become one shared copy each,
// equal small label maps become one shared map, and equal times within an
// object one value. This is safe only because the objects a cache holds
// are read-only (see Cache); DeepCopy copies maps and times again for a
// caller that changes one.

// Bounds of what a compactor shares: strings of at most maxInterned
// bytes (longer ones are free text, an error's output, that rarely
// repeats), label maps of at most maxSharedLabels entries, and at most
// maxShared of each; a full table starts afresh (what was shared stays
// shared by the objects that hold it), so that strings and maps no object
// holds any longer are not kept for ever.
const (
	maxInterned     = 64
	maxSharedLabels = 8
	maxShared       = 4096
)

// compactor holds the strings and label maps a cache's objects share. A
// cache calls it from one goroutine, the one that lists and watches.
type compactor struct {
	strings map[string]string
	labels  map[string]map[string]string // the entries, sorted, as k\0v\0... -> the shared map
	keys    []string                     // scratch
	buf     []byte                       // scratch
}

// intern replaces *s with the shared copy of its value.
func (c *compactor) intern(s *string) {
	if *s == "" || len(*s) > maxInterned {
		return
	}
	if shared, ok := c.strings[*s]; ok {
		*s = shared
		return
	}
	if c.strings == nil || len(c.strings) >= maxShared {
		c.strings = make(map[string]string)
	}
	// A copy of its own: *s may be part of a larger buffer, which the
	// table must not keep.
	*s = strings.Clone(*s)
	c.strings[*s] = *s
}

// share returns the shared map equal to m, which becomes it when there is
// none yet. m must not be changed afterwards.
func (c *compactor) share(m map[string]string) map[string]string {
	if len(m) == 0 || len(m) > maxSharedLabels {
		return m
	}
	c.keys = c.keys[:0]
	for k := range m {
		c.keys = append(c.keys, k)
	}
	slices.Sort(c.keys)
	c.buf = c.buf[:0]
	for _, k := range c.keys {
		c.buf = append(append(append(append(c.buf, k...), 0), m[k]...), 0)
	}
	if shared, ok := c.labels[string(c.buf)]; ok {
		return shared
	}
	if c.labels == nil || len(c.labels) >= maxShared {
		c.labels = make(map[string]map[string]string)
	}
	c.labels[string(c.buf)] = m
	return m
}

// meta compacts what every kind's metadata shares.
func (c *compactor) meta(tm *v1.TypeMeta, m *v1.ObjectMeta) {
	c.intern(&tm.APIVersion)
	c.intern(&tm.Kind)
	m.Labels = c.share(m.Labels)
}

// shareTimes makes the times of ts that are equal (==: the same instant,
// location and clock reading) one shared value.
func shareTimes(ts ...**time.Time) {
	for i, a := range ts {
		if *a == nil {
			continue
		}
		for _, b := range ts[:i] {
			if *b != nil && **b == **a {
				*a = *b
				break
			}
		}
	}
}

// task compacts a task: its name, uid and container are its own.
func (c *compactor) task(t *v1.Task) {
	c.meta(&t.TypeMeta, &t.Metadata)
	c.intern(&t.Spec.Image)
	c.intern((*string)(&t.Spec.RestartPolicy))
	s := &t.Status
	c.intern((*string)(&s.Phase))
	c.intern(&s.Reason)
	c.intern(&s.Message)
	c.intern(&s.Worker)
	c.intern(&s.HostIP)
	for i := range s.Conditions {
		cond := &s.Conditions[i]
		c.intern(&cond.Type)
		c.intern((*string)(&cond.Status))
		c.intern(&cond.Reason)
		c.intern(&cond.Message)
	}
	// A task that starts has its Started, Ready and Updated conditions
	// move at the same instant.
	var buf [12]**time.Time // on the stack for a task of up to 8 conditions
	times := append(buf[:0], &t.Metadata.CreationTimestamp, &t.Metadata.DeletionTimestamp, &s.StartedAt, &s.FinishedAt)
	for i := range s.Conditions {
		times = append(times, &s.Conditions[i].LastTransitionTime)
	}
	shareTimes(times...)
}
