package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

func ExampleResource() {
	dir, _ := os.MkdirTemp("", "minkube-example")
	defer os.RemoveAll(dir)
	s, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx := context.Background()
	tasks := store.NewResource[v1.Task](s, "/tasks/", "task")

	web, _ := tasks.Create(ctx, &v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "nginx:1.27"}})
	fmt.Println("created at resourceVersion", web.Metadata.ResourceVersion)

	// A system writer: read, change, compare-and-swap, retry on conflict.
	web, _ = tasks.GuaranteedUpdate(ctx, "web", func(t *v1.Task) (*v1.Task, error) {
		t.Status.Phase = v1.PhaseScheduled
		return t, nil
	})
	fmt.Println("phase", web.Status.Phase, "at resourceVersion", web.Metadata.ResourceVersion)

	// A client that read before that write holds a stale version.
	stale := web.DeepCopy()
	stale.Metadata.ResourceVersion = "1"
	_, err = tasks.Update(ctx, stale)
	fmt.Println(err, errors.Is(err, store.ErrConflict))
	// Output:
	// created at resourceVersion 2
	// phase Scheduled at resourceVersion 3
	// task "web": conflict: the object has been modified true
}

func ExampleCache() {
	dir, _ := os.MkdirTemp("", "minkube-example")
	defer os.RemoveAll(dir)
	s, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{Logger: quietLogger()})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	tasks := store.NewResource[v1.Task](s, "/tasks/", "task")

	cache := store.NewCache(tasks, quietLogger())
	cache.AddIndex("worker", func(t *v1.Task) []string { return []string{t.Status.Worker} })
	done := make(chan error)
	go func() { done <- cache.Start(ctx) }()
	defer func() { cancel(); <-done }()
	if err := cache.WaitForSync(ctx); err != nil {
		fmt.Println(err)
		return
	}

	for _, name := range []string{"web", "db"} {
		t, _ := tasks.Create(ctx, &v1.Task{
			Metadata: v1.ObjectMeta{Name: name},
			Spec:     v1.TaskSpec{Image: "nginx:1.27"},
			Status:   v1.TaskStatus{Worker: "worker-1"},
		})
		// Read-your-write: wait until the cache has the write.
		rev, _ := store.ParseResourceVersion(t.Metadata.ResourceVersion)
		_ = cache.WaitForRevision(ctx, rev)
	}
	for _, t := range cache.ByIndex("worker", "worker-1") {
		fmt.Println(t.Metadata.Name, t.Metadata.ResourceVersion)
	}
	// Output:
	// db 3
	// web 2
}
