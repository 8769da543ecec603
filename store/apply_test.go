package store_test

import (
	"errors"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

func applyIn(name, image string) *v1.Task {
	t := &v1.Task{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask}, Metadata: v1.ObjectMeta{Name: name}, Spec: v1.TaskSpec{Image: image}}
	v1.SetTaskDefaults(t)
	return t
}

// An apply tries a create first when the task cache holds no task of that
// name; when the cache is behind and the task is stored after all, the
// apply updates the stored task as it would have, keeping its uid, and a
// create-only apply is refused.
func TestApplyTask_CacheBehind(t *testing.T) {
	// Not started: the cache holds nothing, whatever is stored.
	st := statetest.New(t, nil)
	ctx := t.Context()
	stored, result, err := st.ApplyTask(ctx, applyIn("web", "nginx:1.27"), store.ApplyOptions{})
	if err != nil || result != store.Created {
		t.Fatalf("first apply = %v, %v; want created", result, err)
	}
	if _, cached := st.TaskCache.Get("web"); cached {
		t.Fatal("the cache holds the task: the test needs a cache behind the store")
	}

	for _, tc := range []struct {
		image      string
		want       store.ApplyResult
		generation int64
	}{
		{"nginx:1.28", store.Configured, 2},
		{"nginx:1.28", store.Unchanged, 2},
	} {
		out, result, err := st.ApplyTask(ctx, applyIn("web", tc.image), store.ApplyOptions{})
		if err != nil || result != tc.want {
			t.Fatalf("apply of %s = %v, %v; want %v", tc.image, result, err, tc.want)
		}
		got, err := st.Tasks.Get(ctx, "web")
		if err != nil {
			t.Fatal(err)
		}
		for what, task := range map[string]*v1.Task{"answer": out, "stored": got} {
			if task.Metadata.UID != stored.Metadata.UID || task.Spec.Image != tc.image || task.Metadata.Generation != tc.generation {
				t.Errorf("after applying %s, %s: uid %s, image %s, generation %d; want uid %s, image %s, generation %d", tc.image, what,
					task.Metadata.UID, task.Spec.Image, task.Metadata.Generation, stored.Metadata.UID, tc.image, tc.generation)
			}
		}
		if out.Metadata.ResourceVersion != got.Metadata.ResourceVersion {
			t.Errorf("answer at resourceVersion %s, stored at %s", out.Metadata.ResourceVersion, got.Metadata.ResourceVersion)
		}
	}

	if _, _, err := st.ApplyTask(ctx, applyIn("web", "nginx:1.29"), store.ApplyOptions{CreateOnly: true}); !errors.Is(err, store.ErrExists) {
		t.Errorf("create-only apply of a stored task = %v, want ErrExists", err)
	}
	if got, err := st.Tasks.Get(ctx, "web"); err != nil || got.Spec.Image != "nginx:1.28" {
		t.Errorf("after a refused create: %v, %v; want nginx:1.28 kept", got, err)
	}
}
