package storetest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// benchClients is how many goroutines per CPU the parallel benchmarks run:
// the manager serves many API requests and controllers at once, and a
// backend that batches commits only shows it with many writers.
const benchClients = 64

// benchValue is a stored Task, running, of the size the scale benchmark
// stores (about 1.1 KB): its names and words repeat, its UID and
// container ID do not, as in a real one, so that a backend that
// compresses what it keeps is measured on what it would keep.
var benchValue = func() []byte {
	at := time.Date(2026, 12, 3, 13, 11, 18, 0, time.UTC)
	cond := func(typ string) v1.Condition {
		return v1.Condition{Type: typ, Status: v1.ConditionTrue, Reason: "Started", ObservedGeneration: 1, LastTransitionTime: &at}
	}
	t := v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: "minkube.io/v1", Kind: "Task"},
		Metadata: v1.ObjectMeta{
			Name: "scale-04711", UID: "6f1c2a9e-3b7d-4e58-9a0c-d2e4f6a8b1c3", ResourceVersion: "48213",
			Generation: 1, Labels: map[string]string{"app": "scale", "tier": "bench"}, CreationTimestamp: &at,
		},
		Spec: v1.TaskSpec{Image: "minkube/sleeper:1", Command: []string{"/sleeper"}, Args: []string{"3600"}, RestartPolicy: "Always"},
		Status: v1.TaskStatus{
			Phase: v1.PhaseRunning, Worker: "hollow-042", HostIP: "127.0.0.1", ObservedGeneration: 1, StartedAt: &at,
			ContainerID: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			Conditions:  []v1.Condition{cond(v1.TaskScheduled), cond(v1.TaskStarted), cond(v1.TaskReady), cond(v1.TaskUpdated)},
		},
	}
	b, err := json.Marshal(t)
	if err != nil {
		panic(err)
	}
	return b
}()

// Bench runs the backend benchmarks against stores made by newStore. Each
// reports writes/s besides ns/op where it writes.
func Bench(b *testing.B, newStore func(b *testing.B) store.Store) {
	b.Run("Create", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		for i := 0; b.Loop(); i++ {
			if _, err := s.Create(ctx, "/bench/"+strconv.Itoa(i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		reportWrites(b)
	})

	b.Run("CreateParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		var n atomic.Int64
		b.SetParallelism(benchClients)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := "/bench/" + strconv.FormatInt(n.Add(1), 10)
				if _, err := s.Create(ctx, key, benchValue); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportWrites(b)
	})

	b.Run("UpdateParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		const keys = 1000
		for i := range keys {
			if _, err := s.Create(ctx, fmt.Sprintf("/bench/%d", i), benchValue); err != nil {
				b.Fatal(err)
			}
		}
		var n atomic.Int64
		b.SetParallelism(benchClients)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := fmt.Sprintf("/bench/%d", n.Add(1)%keys)
				if _, err := s.Update(ctx, key, benchValue, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportWrites(b)
	})

	b.Run("GetParallel", func(b *testing.B) {
		s := newStore(b)
		ctx := b.Context()
		if _, err := s.Create(ctx, "/bench/x", benchValue); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx, "/bench/x"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// reportWrites adds a writes/s figure.
func reportWrites(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "writes/s")
	}
}
