package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func sortedTask(name, image string) *v1.Task {
	return &v1.Task{Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: image}}
}

// checkByName compares b with the model (name -> image), and checks the
// chunks' bounds.
func checkByName(t *testing.T, b *byName[*v1.Task], model map[string]string) {
	t.Helper()
	all := b.all()
	want := slices.Sorted(func(yield func(string) bool) {
		for name := range model {
			if !yield(name) {
				return
			}
		}
	})
	got := make([]string, len(all))
	for i, obj := range all {
		got[i] = obj.Metadata.Name
		if img := model[obj.Metadata.Name]; img != obj.Spec.Image {
			t.Fatalf("%s holds image %q, want %q", obj.Metadata.Name, obj.Spec.Image, img)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("all() = %d names, want %d in order; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	if b.n != len(model) {
		t.Fatalf("n = %d, want %d", b.n, len(model))
	}
	for i, c := range b.chunks {
		if len(c) == 0 || len(c) > 2*chunkSize {
			t.Fatalf("chunk %d of %d holds %d", i, len(b.chunks), len(c))
		}
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestByName follows a model through inserts, replacements and deletes in
// random name order, from empty and from a reset, and checks the order,
// the content and the chunks' bounds; churn must not leave a trail of
// small chunks.
func TestByName(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, start := range []int{0, 3000} {
		t.Run(fmt.Sprintf("reset=%d", start), func(t *testing.T) {
			var b byName[*v1.Task]
			model := map[string]string{}
			var items []*v1.Task
			for i := range start {
				name := fmt.Sprintf("task-%06d", i*2)
				items = append(items, sortedTask(name, "a"))
				model[name] = "a"
			}
			b.reset(items)
			checkByName(t, &b, model)
			for round := range 20 {
				for range 500 {
					name := fmt.Sprintf("task-%06d", rng.IntN(10000))
					switch rng.IntN(3) {
					case 0, 1:
						img := fmt.Sprint(round)
						b.set(sortedTask(name, img))
						model[name] = img
					default:
						b.delete(name)
						delete(model, name)
					}
				}
				checkByName(t, &b, model)
			}
			// Delete all but a few: the chunks join as they empty.
			for name := range model {
				if len(model) == 5 {
					break
				}
				b.delete(name)
				delete(model, name)
			}
			checkByName(t, &b, model)
			if len(b.chunks) != 1 {
				t.Errorf("5 objects in %d chunks, want 1", len(b.chunks))
			}
		})
	}
}

// TestByName_resetSharesNoTail: growing a chunk that reset carved out of
// the listed slice does not overwrite the next chunk.
func TestByName_resetSharesNoTail(t *testing.T) {
	var items []*v1.Task
	model := map[string]string{}
	for i := range 2 * chunkSize {
		name := fmt.Sprintf("task-%06d", i*2)
		items = append(items, sortedTask(name, "a"))
		model[name] = "a"
	}
	var b byName[*v1.Task]
	b.reset(items)
	name := fmt.Sprintf("task-%06d", 2*chunkSize-3) // in the first chunk, before its end
	b.set(sortedTask(name, "b"))
	model[name] = "b"
	checkByName(t, &b, model)
}

// BenchmarkCache_RandomOrder measures one added object and one deleted,
// in random name order, in a cache holding 10,000 or 100,000 objects: the
// cost of keeping List's order must not grow with the objects held.
func BenchmarkCache_RandomOrder(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			c := NewCache[v1.Task, *v1.Task](nil, nil)
			rng := rand.New(rand.NewPCG(1, 2))
			rev := int64(0)
			apply := func(typ v1.WatchEventType, name string) {
				rev++
				c.apply(WatchEvent[*v1.Task]{Type: typ, Object: sortedTask(name, "a"), Revision: rev})
			}
			names := make([]string, n)
			for i := range names {
				names[i] = fmt.Sprintf("task-%016x", rng.Uint64())
				apply(v1.Added, names[i])
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				// Replace a random object with a new random name.
				k := i % n
				apply(v1.Deleted, names[k])
				names[k] = fmt.Sprintf("task-%016x", rng.Uint64())
				apply(v1.Added, names[k])
				i++
			}
			if c.Len() != n || len(c.List()) != n {
				b.Fatalf("Len %d, List %d; want %d", c.Len(), len(c.List()), n)
			}
		})
	}
}
