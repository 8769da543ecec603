package reconcile

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

// TestFifo_Order drives a fifo and a plain slice with the same random
// pushes and pops, through the fifo's compaction and its reset when
// emptied, and holds it to the slice's order.
func TestFifo_Order(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var f fifo
	var want []string
	next := 0
	for step := range 200000 {
		// Phases that mostly push, then mostly pop, so the fifo grows past
		// fifoKeep, empties, and turns over at every size between.
		pushBias := 0.3
		if step/5000%2 == 0 {
			pushBias = 0.7
		}
		if len(want) == 0 || rng.Float64() < pushBias {
			key := strconv.Itoa(next)
			next++
			f.push(key)
			want = append(want, key)
		} else {
			got := f.pop()
			if got != want[0] {
				t.Fatalf("step %d: pop = %q, want %q", step, got, want[0])
			}
			want = want[1:]
		}
		if f.len() != len(want) {
			t.Fatalf("step %d: len = %d, want %d", step, f.len(), len(want))
		}
	}
	for len(want) > 0 {
		if got := f.pop(); got != want[0] {
			t.Fatalf("draining: pop = %q, want %q", got, want[0])
		}
		want = want[1:]
	}
	if f.len() != 0 || f.head != 0 {
		t.Fatalf("drained fifo: len %d, head %d", f.len(), f.head)
	}
}

// TestFifo_KeepsItsArray: a fifo that turns over without growing reuses
// its array, and lets go of one a burst grew past fifoKeep once emptied;
// handed-out keys are not held.
func TestFifo_KeepsItsArray(t *testing.T) {
	var f fifo
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	allocs := testing.AllocsPerRun(100, func() {
		for _, k := range keys[:10] {
			f.push(k)
		}
		for range 10 {
			f.pop()
		}
		// Never empty: a steady queue that keeps one key moves its head
		// and compacts instead of growing.
		f.push("held")
		for range 40 {
			f.push(keys[0])
			f.pop()
		}
		f.pop()
	})
	if allocs != 0 {
		t.Errorf("steady pushes and pops allocated %.1f times a run, want 0", allocs)
	}
	// A queue that is never empty turns over in place: it moves what is
	// left to the front rather than grow its array.
	f.push("held")
	for range 10000 {
		f.push(keys[1])
		f.pop()
	}
	if f.len() != 1 || cap(f.keys) > 64 {
		t.Errorf("10,000 turns of a fifo of 1 or 2 keys: len %d, array of %d, want 1 and at most 64", f.len(), cap(f.keys))
	}
	f.pop()
	if slices.ContainsFunc(f.keys[:cap(f.keys)], func(s string) bool { return s != "" }) {
		t.Errorf("an emptied fifo still holds keys: %q", f.keys[:cap(f.keys)])
	}
	for i := range fifoKeep + 1 {
		f.push(strconv.Itoa(i))
	}
	for f.len() > 0 {
		f.pop()
	}
	if f.keys != nil {
		t.Errorf("a fifo grown to %d keys kept an array of %d once empty", fifoKeep+1, cap(f.keys))
	}
}
