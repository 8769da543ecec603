package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// TestHollowWorkers runs ten hollow workers in one process (minkube
// worker --runtime fake --replicas 10): each registers through the join
// path with its own listener and certificate, takes the tasks the manager
// pushes and reports them Running, as the scale benchmark's hundreds do.
func TestHollowWorkers(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	const workers, tasks = 10, 200
	prefix := c.workerName("hollow")
	c.workers[prefix] = c.start(prefix, "worker",
		"--manager", c.server,
		"--name", prefix,
		"--listen", "127.0.0.1:0",
		"--join-token-file", c.joinFile,
		"--data-dir", filepath.Join(c.dir, prefix),
		"--dns-server=",
		"--runtime", "fake",
		"--replicas", fmt.Sprint(workers),
	)
	cl := c.client()
	waitFor(t, 30*time.Second, "ten hollow workers Ready", func() bool {
		list, err := cl.ListWorkers(t.Context())
		if err != nil {
			return false
		}
		ready := 0
		for _, w := range list.Items {
			if w.Status.Phase == v1.WorkerReady && strings.HasPrefix(w.Metadata.Name, prefix+"-") {
				ready++
			}
		}
		return ready == workers
	})

	var wg sync.WaitGroup
	errs := make(chan error, tasks)
	sem := make(chan struct{}, 8)
	for i := range tasks {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			task := &v1.Task{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
				Metadata: v1.ObjectMeta{Name: fmt.Sprintf("hollow-%03d", i)},
				Spec:     v1.TaskSpec{Image: "example.invalid/never-pulled:1"}}
			if _, err := cl.CreateTask(t.Context(), task); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("create: %v", err)
	}

	perWorker := map[string]int{}
	waitFor(t, 60*time.Second, "every task Running on a hollow worker", func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		list, err := cl.ListTasks(ctx, client.ListOptions{})
		if err != nil {
			return false
		}
		clear(perWorker)
		for _, task := range list.Items {
			if task.Status.Phase != v1.PhaseRunning || !strings.HasPrefix(task.Status.Worker, prefix+"-") {
				return false
			}
			perWorker[task.Status.Worker]++
		}
		return len(list.Items) == tasks
	})
	if len(perWorker) != workers {
		t.Errorf("tasks ran on %d workers, want all %d: %v", len(perWorker), workers, perWorker)
	}
}
