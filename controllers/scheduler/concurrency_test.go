package scheduler_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/scheduler"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/statetest"
)

// errInjected is the failure flakyStore injects.
var errInjected = errors.New("injected store failure")

// flakyStore fails a share of the writes to tasks: some before they are
// applied, some after (the caller cannot tell whether the write landed,
// as with a timeout to etcd).
type flakyStore struct {
	store.Store
	failing atomic.Bool
	mu      sync.Mutex
	rng     *rand.Rand
	failed  atomic.Int64
}

func (s *flakyStore) roll() (before, after bool) {
	if !s.failing.Load() {
		return false, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r := s.rng.IntN(10); {
	case r < 2:
		return true, false
	case r < 3:
		return false, true
	}
	return false, false
}

func (s *flakyStore) Update(ctx context.Context, key string, value []byte, rev int64) (int64, error) {
	before, after := s.roll()
	if before {
		s.failed.Add(1)
		return 0, fmt.Errorf("update %s: %w", key, errInjected)
	}
	out, err := s.Store.Update(ctx, key, value, rev)
	if err == nil && after {
		s.failed.Add(1)
		return 0, fmt.Errorf("update %s: %w", key, errInjected)
	}
	return out, err
}

// capacityWorkers is a worker API that accepts every push and records,
// for the test to check, every copy of a task each worker accepted.
type capacityWorkers struct {
	mu     sync.Mutex
	copies map[string]map[string]bool // task uid -> workers that accepted it
	cpu    map[string]int64           // worker -> milli-CPU of the tasks it accepted
}

var _ scheduler.WorkerAPI = (*capacityWorkers)(nil)

func (f *capacityWorkers) AssignTask(_ context.Context, w *v1.Worker, _ *v1.Credential, t *v1.Task, _ bool) (*v1.TaskReport, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	uid, name := t.Metadata.UID, w.Metadata.Name
	if f.copies[uid] == nil {
		f.copies[uid] = map[string]bool{}
	}
	if !f.copies[uid][name] {
		f.copies[uid][name] = true
		f.cpu[name] += t.Spec.Resources.MilliCPU()
	}
	return nil, nil
}

func (f *capacityWorkers) StopTask(context.Context, *v1.Worker, *v1.Credential, string) error {
	return nil
}

// TestController_ConcurrentPlacementWithFailingWrites runs the scheduler
// at its default concurrency over a store that fails task writes at
// random, before or after applying them, and checks the two promises
// placement makes: never two accepted copies of one task, never more than
// a worker's capacity. In the end every task that fits is placed.
func TestController_ConcurrentPlacementWithFailingWrites(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := bolt.Open(filepath.Join(t.TempDir(), "minkube.db"), bolt.Options{Logger: logger, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	flaky := &flakyStore{Store: db, rng: rand.New(rand.NewPCG(1, 2))}
	st := store.NewState(flaky, logger)
	fw := &capacityWorkers{copies: map[string]map[string]bool{}, cpu: map[string]int64{}}
	statetest.Run(t, st, scheduler.New(scheduler.Options{State: st, Workers: fw, Logger: logger}))
	e := &env{st: st}

	const workers, tasks = 4, 40 // 2 CPUs each: 8 one-CPU tasks fit
	for i := range workers {
		e.mustWorker(t, fmt.Sprintf("w%d", i))
	}
	flaky.failing.Store(true)
	for i := range tasks {
		task := newTask(fmt.Sprintf("t-%02d", i))
		task.Spec.Resources.CPU = "1"
		v1.SetTaskDefaults(task)
		for {
			_, _, err := st.ApplyTask(t.Context(), task, store.ApplyOptions{})
			if err == nil {
				break
			}
			if !errors.Is(err, errInjected) {
				t.Fatal(err)
			}
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		placed, settled := 0, 0
		for _, task := range st.TaskCache.List() {
			switch {
			case task.Status.Worker != "":
				placed++
				settled++
			case task.Status.Reason == v1.ReasonUnschedulable:
				settled++
			}
		}
		fw.mu.Lock()
		for uid, ws := range fw.copies {
			if len(ws) > 1 {
				t.Fatalf("task uid %s accepted by %d workers: %v", uid, len(ws), ws)
			}
		}
		for w, cpu := range fw.cpu {
			if cpu > 2000 {
				t.Fatalf("worker %s accepted %dm of CPU, has 2000m", w, cpu)
			}
		}
		accepted := len(fw.copies)
		fw.mu.Unlock()
		if placed == 2*workers && settled == tasks && accepted == placed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not settled: %d placed, %d settled of %d, %d accepted", placed, settled, tasks, accepted)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if flaky.failed.Load() == 0 {
		t.Fatal("no write failed: the test proved nothing")
	}
	t.Logf("%d writes failed", flaky.failed.Load())
}
