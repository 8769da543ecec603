package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestSplitEventName: the names eventName makes come apart into their
// object and a number and back, and no other name does.
func TestSplitEventName(t *testing.T) {
	for _, name := range []string{
		"task.web.0123456789abcdef",
		"task.web.x.ffffffffffffffff",
		"file.dir_a.yaml.0000000000000000",
		eventName(taskRefOf("web"), "Normal", "Scheduled", "assigned to worker w1"),
	} {
		obj, hash, ok := splitEventName(name)
		if !ok {
			t.Errorf("%q: not split", name)
			continue
		}
		if obj != eventObject(name) {
			t.Errorf("%q: object %q, eventObject says %q", name, obj, eventObject(name))
		}
		if back := eventNameOf(obj, hash); back != name {
			t.Errorf("%q: put back together as %q", name, back)
		}
	}
	for _, name := range []string{
		"", "web", ".0123456789abcdef", "task.web.0123456789ABCDEF", "task.web.0123456789abcdeg",
		"task.web-0123456789abcdef", "task.web.0123456789abcde", "task.web.0123456789abcdef0",
	} {
		if obj, hash, ok := splitEventName(name); ok {
			t.Errorf("%q: split into %q and %x, want no split", name, obj, hash)
		}
	}
}

func taskRefOf(name string) v1.ObjectReference {
	return v1.ObjectReference{Kind: v1.KindTask, Name: name}
}

// TestEventIndex_AgreesWithAMap: through random writes, deletes and
// lists of events of a few objects, with names eventName makes and a few
// it does not, the index answers what a plain map of names to revisions
// answers.
func TestEventIndex_AgreesWithAMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	objects := []string{"task.a", "task.b", "task.a.b", "file.dir_x.yaml"}
	var names []string
	for _, obj := range objects {
		for i := range MaxEventsPerObject + 10 {
			names = append(names, fmt.Sprintf("%s.%016x", obj, rng.Uint64()>>uint(i%3*20)))
		}
	}
	// Names eventName does not make: a bare one, upper-case digits, a
	// digit short.
	names = append(names, "task.a", "task.a.0123456789ABCDEF", "task.a.0123456789abcde", "task.b.zz")
	x := newEventIndex(nil, nil)
	model := map[string]int64{}
	var rev int64
	check := func(step int) {
		t.Helper()
		if got := x.len(); got != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, got, len(model))
		}
		for _, name := range names {
			_, want := model[name]
			if got := x.has(name); got != want {
				t.Fatalf("step %d: has(%q) = %v, want %v", step, name, got, want)
			}
		}
		for _, obj := range objects {
			var want []indexedEvent
			for name, r := range model {
				if eventObject(name) == obj {
					want = append(want, indexedEvent{name, r})
				}
			}
			if got, want := x.overObject(obj), oldest(want, MaxEventsPerObject); !slices.Equal(got, want) {
				t.Fatalf("step %d: overObject(%q) = %v, want %v", step, obj, got, want)
			}
		}
	}
	for step := range 3000 {
		name := names[rng.IntN(len(names))]
		rev++
		x.mu.Lock()
		switch rng.IntN(4) {
		case 0, 1:
			x.put(name, rev)
			model[name] = max(model[name], rev)
		case 2:
			// A delete as of some revision: it forgets the event
			// only if it was not written after it.
			at := rev - int64(rng.IntN(20))
			x.remove(name, at)
			if r, ok := model[name]; ok && r <= at {
				delete(model, name)
			}
		case 3:
			// A write the watch delivers late: an older revision
			// must not move the event back.
			at := rev - int64(rng.IntN(20))
			x.put(name, at)
			model[name] = max(model[name], at)
		}
		x.mu.Unlock()
		if step%50 == 0 {
			check(step)
		}
	}
	check(-1)
	if len(model) == 0 {
		t.Fatal("the random walk left no events: it tested little")
	}
}

// TestEventIndex_OverAll: past the bound and a tenth, overAll names the
// oldest events beyond MaxEvents, oldest first, of every object.
func TestEventIndex_OverAll(t *testing.T) {
	x := newEventIndex(nil, nil)
	total := MaxEvents + MaxEvents/10
	want := map[string]int64{}
	x.mu.Lock()
	for i := range total {
		name := fmt.Sprintf("task.t%d.%016x", i%7919, i)
		x.put(name, int64(total-i)) // the last names are the oldest
		want[name] = int64(total - i)
	}
	x.mu.Unlock()
	if over := x.overAll(); over != nil {
		t.Fatalf("%d events, not past the bound and a tenth: %d over, want none", total, len(over))
	}
	x.mu.Lock()
	x.put("odd", 0)
	want["odd"] = 0
	x.mu.Unlock()
	over := x.overAll()
	if len(over) != total+1-MaxEvents {
		t.Fatalf("%d over, want %d", len(over), total+1-MaxEvents)
	}
	if over[0].name != "odd" {
		t.Errorf("oldest %q, want odd", over[0].name)
	}
	for i, e := range over[1:] {
		wantName := fmt.Sprintf("task.t%d.%016x", (total-1-i)%7919, total-1-i)
		if e.name != wantName || e.rev != want[wantName] {
			t.Fatalf("over[%d] = %s@%d, want %s@%d", i+1, e.name, e.rev, wantName, want[wantName])
		}
	}
}

// TestEventIndex_Footprint: the index of 20,000 events about 10,000
// tasks, two each, holds under 80 bytes an event (the map of names and
// an object per event it replaced held about 150).
func TestEventIndex_Footprint(t *testing.T) {
	const objects, perObject = 10000, 2
	names := make([]string, 0, objects*perObject)
	for i := range objects {
		for j := range perObject {
			names = append(names, EventsPrefix+eventName(taskRefOf(fmt.Sprintf("t-%05d", i)), "Normal", "Step", fmt.Sprint(j)))
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	x := newEventIndex(nil, nil)
	for i, key := range names {
		// As the watch delivers them: a key of its own each time.
		x.apply(Event{Type: EventPut, KV: KeyValue{Key: strings.Clone(key), Revision: int64(i + 1)}})
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if x.len() != len(names) {
		t.Fatalf("%d events indexed, want %d", x.len(), len(names))
	}
	perEvent := float64(after.HeapAlloc-before.HeapAlloc) / float64(len(names))
	t.Logf("%.0f bytes an event", perEvent)
	if perEvent > 80 {
		t.Errorf("%.0f bytes an event, want at most 80", perEvent)
	}
	runtime.KeepAlive(x)
	runtime.KeepAlive(names)
}
