package store_test

import (
	"maps"
	"reflect"
	"testing"
	"time"
	"unsafe"

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
	mk := func(name string) {
		t.Helper()
		task := &v1.Task{Metadata: v1.ObjectMeta{Name: name, Labels: maps.Clone(labels)}, Spec: v1.TaskSpec{Image: "example.invalid/app:1"}}
		if _, err := st.Tasks.Create(ctx, task); err != nil {
			t.Fatal(err)
		}
	}
	mk("listed")
	startState(t, st)
	mk("watched")
	var watched *v1.Task
	deadline := time.Now().Add(10 * time.Second)
	for {
		var ok bool
		if watched, ok = st.TaskCache.Get("watched"); ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	listed, ok := st.TaskCache.Get("listed")
	if !ok || watched == nil {
		t.Fatalf("the cache holds listed: %v, watched: %v", ok, watched != nil)
	}
	if reflect.ValueOf(listed.Metadata.Labels).UnsafePointer() != reflect.ValueOf(watched.Metadata.Labels).UnsafePointer() || unsafe.StringData(listed.Spec.Image) != unsafe.StringData(watched.Spec.Image) {
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
