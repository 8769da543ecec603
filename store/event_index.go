package store

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// eventIndex is all the manager keeps of the stored events in memory: the
// name of each and the revision of its last write, grouped by the object
// it is about. The event writer counts the bounds on it (MaxEvents,
// MaxEventsPerObject) and finds what to trim; the events themselves are
// read from the store when a client lists them, as kube-apiserver serves
// events without a watch cache. A cache of 20,000 decoded events cost the
// manager about 10 MB of heap and a decode of every event it wrote; the
// index costs about 80 bytes an event (1.6 MB at 20,000, about two events
// a task; TestEventIndex_Footprint) and no decode: it follows the store through
// a List and a Watch of the keys and revisions, and the writer notes its
// own writes and deletes at once, ahead of the watch.
//
// Ordered by revision, the events are ordered by when they were last
// written: the newest kept are the ones last raised or created. The
// writer stores the events of one round together, in no order, so among
// events recorded within the same few milliseconds the trim may keep one
// and delete another a little newer.
type eventIndex struct {
	store   Store
	log     *slog.Logger
	started atomic.Bool

	synced firstList

	mu  sync.Mutex
	rev int64 // the revision the watch has delivered
	n   int   // how many events
	// byObject holds the events by the object they are about
	// (eventObject of their names), in no order. An event's name is
	// not kept whole: eventName ends every name it makes in 16 hex
	// digits, which an entry keeps as a number, so an event costs 16
	// bytes beside its object's key rather than its own name, a map
	// entry and an object of its own (about 150 bytes, 3 MB at 20,000
	// events).
	byObject map[string][]indexEntry
	// odd holds the names eventName did not make (its 16 hex digits
	// missing), whole: name -> revision. None is expected.
	odd map[string]int64
}

// indexEntry is one event of an object: the hex digits its name ends
// with, and the revision of its last write.
type indexEntry struct {
	hash uint64
	rev  int64
}

// indexedEvent is one stored event: its name (the key without
// EventsPrefix) and the revision of its last write.
type indexedEvent struct {
	name string
	rev  int64
}

// eventHashDigits is how many hex digits end the name of an event, after
// a dot (see eventName).
const eventHashDigits = 16

// eventNameOf is the name of the event of obj (see eventObjectOf) whose
// hash is hash: obj, a dot and the hash in 16 lower-case hex digits.
func eventNameOf(obj string, hash uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], hash)
	return obj + "." + hex.EncodeToString(b[:])
}

// splitEventName returns the object part of an event's name and its
// hash, what eventNameOf put together, and false for a name eventNameOf
// did not make.
func splitEventName(name string) (obj string, hash uint64, ok bool) {
	obj = eventObject(name)
	digits := strings.TrimPrefix(name[len(obj):], ".")
	if len(digits) != eventHashDigits || strings.ContainsAny(digits, "ABCDEF") {
		return "", 0, false
	}
	hash, err := strconv.ParseUint(digits, 16, 64)
	return obj, hash, err == nil
}

func newEventIndex(s Store, logger *slog.Logger) *eventIndex {
	return &eventIndex{store: s, log: logger, synced: newFirstList("event index"),
		byObject: make(map[string][]indexEntry), odd: make(map[string]int64)}
}

// eventObject is the part of an event's name that names the object it is
// about ("task.web" of "task.web.0123456789abcdef", see eventName): the
// events of one object share it. Two objects can share it only when
// their names differ in a "/" against a "_" (files of the manifests
// directory); they then share a bound, and a list filters on the event's
// involvedObject.
func eventObject(name string) string {
	if i := len(name) - 1 - eventHashDigits; i > 0 && name[i] == '.' {
		return name[:i]
	}
	return name
}

// eventObjectOf is eventObject of the events about the object of kind and
// name.
func eventObjectOf(kind, name string) string {
	return strings.ToLower(kind) + "." + strings.ReplaceAll(name, "/", "_")
}

// Start lists the events' keys, then watches them, and lists again
// whenever the watch ends, until ctx ends.
func (x *eventIndex) Start(ctx context.Context) error {
	if !x.started.CompareAndSwap(false, true) {
		return fmt.Errorf("event index: already started")
	}
	relist(ctx, x.log, "event", x.listAndWatch, x.revision)
	return nil
}

func (x *eventIndex) listAndWatch(ctx context.Context) (delivered bool, err error) {
	kvs, rev, err := x.store.List(ctx, EventsPrefix)
	if err != nil {
		return false, fmt.Errorf("list events: %w", err)
	}
	x.replace(kvs, rev)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := x.store.Watch(wctx, EventsPrefix, rev)
	if err != nil {
		return false, fmt.Errorf("watch events: %w", err)
	}
	for ev := range ch {
		delivered = true
		x.apply(ev)
	}
	return delivered, nil
}

// replace installs what a list found.
func (x *eventIndex) replace(kvs []KeyValue, rev int64) {
	// Built apart, then swapped in: no one else sees fresh, so its puts
	// need no lock.
	fresh := eventIndex{byObject: make(map[string][]indexEntry), odd: make(map[string]int64)}
	for _, kv := range kvs {
		fresh.put(strings.TrimPrefix(kv.Key, EventsPrefix), kv.Revision)
	}
	x.mu.Lock()
	x.byObject, x.odd, x.n, x.rev = fresh.byObject, fresh.odd, fresh.n, rev
	x.mu.Unlock()
	x.synced.done()
}

// apply applies one watched change.
func (x *eventIndex) apply(ev Event) {
	name := strings.TrimPrefix(ev.KV.Key, EventsPrefix)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.rev = max(x.rev, ev.KV.Revision)
	if ev.Type == EventDelete {
		x.remove(name, ev.KV.Revision)
	} else {
		x.put(name, ev.KV.Revision)
	}
}

// put records a write of the event name at rev, unless a later one is
// known. x.mu is held.
func (x *eventIndex) put(name string, rev int64) {
	obj, hash, ok := splitEventName(name)
	if !ok {
		if old, had := x.odd[name]; had {
			x.odd[name] = max(old, rev)
			return
		}
		x.odd[strings.Clone(name)] = rev
		x.n++
		return
	}
	entries, had := x.byObject[obj]
	for i := range entries {
		if entries[i].hash == hash {
			entries[i].rev = max(entries[i].rev, rev)
			return
		}
	}
	if !had {
		// A key of its own: obj is part of a watched key or of a
		// name the writer made, which the index must not keep whole.
		obj = strings.Clone(obj)
	}
	x.byObject[obj] = append(entries, indexEntry{hash: hash, rev: rev})
	x.n++
}

// remove forgets the event name unless it was written after rev. x.mu is
// held.
func (x *eventIndex) remove(name string, rev int64) {
	obj, hash, ok := splitEventName(name)
	if !ok {
		if old, had := x.odd[name]; had && old <= rev {
			delete(x.odd, name)
			x.n--
		}
		return
	}
	entries := x.byObject[obj]
	i := slices.IndexFunc(entries, func(e indexEntry) bool { return e.hash == hash })
	if i < 0 || entries[i].rev > rev {
		return
	}
	x.n--
	if len(entries) == 1 {
		delete(x.byObject, obj)
		return
	}
	x.byObject[obj] = slices.Delete(entries, i, i+1)
}

// written notes the writer's own write of the event name at rev, ahead of
// the watch. A write the watch has delivered, or passed, is left to it:
// what came after it (another manager's delete) must not be undone.
func (x *eventIndex) written(name string, rev int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if rev > x.rev {
		x.put(name, rev)
	}
}

// deleted notes the writer's own delete of the event name as last
// written at rev.
func (x *eventIndex) deleted(name string, rev int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.remove(name, rev)
}

// has reports whether the event name is stored, as far as the index
// knows.
func (x *eventIndex) has(name string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	obj, hash, ok := splitEventName(name)
	if !ok {
		_, had := x.odd[name]
		return had
	}
	return slices.ContainsFunc(x.byObject[obj], func(e indexEntry) bool { return e.hash == hash })
}

// len is how many events are stored.
func (x *eventIndex) len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// overObject returns the oldest events about the object obj (see
// eventObject) beyond MaxEventsPerObject, oldest first.
func (x *eventIndex) overObject(obj string) []indexedEvent {
	x.mu.Lock()
	entries := x.byObject[obj]
	var out []indexedEvent
	if len(entries)+len(x.odd) > MaxEventsPerObject {
		out = make([]indexedEvent, 0, len(entries))
		for _, e := range entries {
			out = append(out, indexedEvent{name: eventNameOf(obj, e.hash), rev: e.rev})
		}
		for name, rev := range x.odd {
			if eventObject(name) == obj {
				out = append(out, indexedEvent{name: name, rev: rev})
			}
		}
	}
	x.mu.Unlock()
	return oldest(out, MaxEventsPerObject)
}

// overAll returns the oldest events beyond MaxEvents, oldest first, once
// more than a tenth over it are stored (a trim deletes a share at a time,
// and need not start for every event past the bound).
func (x *eventIndex) overAll() []indexedEvent {
	x.mu.Lock()
	if x.n <= MaxEvents+MaxEvents/10 {
		x.mu.Unlock()
		return nil
	}
	out := make([]indexedEvent, 0, x.n)
	for obj, entries := range x.byObject {
		for _, e := range entries {
			out = append(out, indexedEvent{name: eventNameOf(obj, e.hash), rev: e.rev})
		}
	}
	for name, rev := range x.odd {
		out = append(out, indexedEvent{name: name, rev: rev})
	}
	x.mu.Unlock()
	return oldest(out, MaxEvents)
}

// oldest returns the oldest of events beyond keep, oldest first. It sorts
// events, the caller's own slice, in place.
func oldest(events []indexedEvent, keep int) []indexedEvent {
	if len(events) <= keep {
		return nil
	}
	slices.SortFunc(events, func(a, b indexedEvent) int { return cmp.Or(cmp.Compare(a.rev, b.rev), strings.Compare(a.name, b.name)) })
	return slices.Clip(events[:len(events)-keep])
}

func (x *eventIndex) revision() int64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.rev
}

// WaitForSync returns nil once the index holds its first list, or ctx's
// error if ctx ends first.
func (x *eventIndex) WaitForSync(ctx context.Context) error { return x.synced.wait(ctx) }

// HasSynced reports whether the index holds its first list.
func (x *eventIndex) HasSynced() bool { return x.synced.in() }
