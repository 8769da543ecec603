package scheduler_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/controllers/scheduler"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/statetest"
)

// Placement benchmarks at the scale of the control-plane figure: 10,000
// tasks on 100 workers.
const (
	benchWorkers = 100
	benchTasks   = 10_000
)

func benchWorker(i int) *v1.Worker {
	return readyWorker(fmt.Sprintf("w-%03d", i), withStats(v1.WorkerStats{CPUs: 2, MemoryTotal: 8 * gi, DiskFree: 100 * gi}))
}

// BenchmarkPlace measures one pure placement (filter, rank, pick) over 100
// workers that carry 10,000 tasks between them.
func BenchmarkPlace(b *testing.B) {
	cs := make([]scheduler.Candidate, benchWorkers)
	for i := range cs {
		cs[i] = scheduler.Candidate{
			Worker: benchWorker(i),
			Used: scheduler.Usage{
				MilliCPU: benchTasks / benchWorkers * 10, Memory: benchTasks / benchWorkers * 16 * mi,
				Ports: map[scheduler.HostPort]int{{Port: int32(20000 + i), Protocol: v1.ProtocolTCP}: 1},
			},
		}
	}
	task := placeTask(v1.Resources{CPU: "10m", Memory: "16Mi"}, map[string]string{"zone": "a"})
	task = withHostPorts(task, 18080)
	last := ""
	b.ReportAllocs()
	for b.Loop() {
		p := scheduler.Place(task, cs, last, nil)
		if p.Worker == nil {
			b.Fatal("nothing fits")
		}
		last = p.Worker.Metadata.Name
	}
}

// acceptingWorkers accepts every push and counts them.
type acceptingWorkers struct {
	mu       sync.Mutex
	accepted map[string]bool
	n        atomic.Int64
}

func (f *acceptingWorkers) AssignTask(_ context.Context, _ *v1.Worker, _ *v1.Credential, t *v1.Task, _ bool) (*v1.TaskReport, error) {
	f.mu.Lock()
	if !f.accepted[t.Metadata.UID] {
		f.accepted[t.Metadata.UID] = true
		f.n.Add(1)
	}
	f.mu.Unlock()
	return nil, nil
}

func (f *acceptingWorkers) StopTask(context.Context, *v1.Worker, *v1.Credential, string) error {
	return nil
}

// BenchmarkController_Place10000On100 runs the scheduler controller over
// a bolt store (without fsync) and a worker API that accepts at once, and
// measures how fast it places 10,000 tasks that are already stored on 100
// workers: each placement is a decision, one store write and a push.
func BenchmarkController_Place10000On100(b *testing.B) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for b.Loop() {
		b.StopTimer()
		st := statetest.New(b, logger)
		fw := &acceptingWorkers{accepted: map[string]bool{}}
		c := scheduler.New(scheduler.Options{State: st, Workers: fw, Logger: logger})
		ctx := b.Context()
		now := time.Now().UTC()
		for i := range benchWorkers {
			w := benchWorker(i)
			if _, err := st.Credentials.Create(ctx, &v1.Credential{Metadata: v1.ObjectMeta{Name: w.Metadata.Name}, TokenHash: "h", ManagerToken: "m"}); err != nil {
				b.Fatal(err)
			}
			w.Metadata.UID = store.NewUID()
			w.Status.LastHeartbeatTime = &now
			if _, err := st.Workers.Create(ctx, w); err != nil {
				b.Fatal(err)
			}
		}
		for i := range benchTasks {
			t := newTask(fmt.Sprintf("t-%05d", i))
			t.Spec.Resources = v1.Resources{CPU: "10m", Memory: "16Mi"}
			v1.SetTaskDefaults(t)
			if _, err := st.Tasks.Create(ctx, store.NewTask(t, now)); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		start := time.Now()
		statetest.Run(b, st, c)
		for fw.n.Load() < benchTasks {
			time.Sleep(time.Millisecond)
		}
		b.ReportMetric(benchTasks/time.Since(start).Seconds(), "tasks/s")
	}
}
