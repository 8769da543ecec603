package store_test

import (
	"maps"
	"reflect"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// TestState_CachesKeepCompactedObjects checks the wiring: what the
// State's caches hold, from their first list and from their watch, is
// compacted, and reads the same as what the store holds.
func TestState_CachesKeepCompactedObjects(t *testing.T) {
	ctx := t.Context()
	st := store.NewState(mustStore(t, bolt.Options{NoSync: true}), quietLogger())
	labels := map[string]string{"app": "web"}
	mk := func(name string) *v1.Task {
		t.Helper()
		task := &v1.Task{Metadata: v1.ObjectMeta{Name: name, Labels: maps.Clone(labels)}, Spec: v1.TaskSpec{Image: "example.invalid/app:1"}}
		created, err := st.Tasks.Create(ctx, task)
		if err != nil {
			t.Fatal(err)
		}
		return created
	}
	mk("listed")
	startState(t, st)
	if err := st.TaskCache.WaitFor(ctx, mk("watched")); err != nil {
		t.Fatal(err)
	}
	listed, okL := st.TaskCache.Get("listed")
	watched, okW := st.TaskCache.Get("watched")
	if !okL || !okW {
		t.Fatalf("the cache holds listed: %v, watched: %v", okL, okW)
	}
	if !store.SameMap(listed.Metadata.Labels, watched.Metadata.Labels) || !store.SameString(listed.Spec.Image, watched.Spec.Image) {
		t.Error("the cache's tasks do not share their equal labels and image")
	}
	stored, err := st.Tasks.Get(ctx, "watched")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored, watched) {
		t.Errorf("the cache's task differs from the store's:\n got %+v\nwant %+v", watched, stored)
	}
}
