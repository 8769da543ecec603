package main

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
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/store/etcd/etcdtest"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// Shape of BenchmarkApply: how many tasks each iteration applies, from how
// many clients at once, onto how many simulated workers.
const (
	benchTasks   = 1000
	benchClients = 32
	benchWorkers = 4
	benchImage   = "minkube/testapp:dev"
)

// BenchmarkApply applies 1,000 tasks to one manager on each store, in the
// same run, onto simulated workers (in-memory runtime), and reports the
// creates/s of the applies and the tasks/s from the first apply to the
// last task Running. The etcd manager runs its own embedded member, as
// `minkube manager --store etcd --etcd-name` does.
func BenchmarkApply(b *testing.B) {
	for _, kind := range []string{storeBolt, storeEtcd} {
		b.Run(kind, func(b *testing.B) {
			cl := startBenchCluster(b, kind)
			var creates, running time.Duration
			for i := 0; b.Loop(); i++ {
				c, r := applyAndWait(b, cl, fmt.Sprintf("b%d", i))
				creates += c
				running += r
			}
			b.ReportMetric(float64(b.N*benchTasks)/creates.Seconds(), "creates/s")
			b.ReportMetric(float64(b.N*benchTasks)/running.Seconds(), "running/s")
		})
	}
}

// startBenchCluster runs a manager on the given store and the simulated
// workers, until the benchmark ends, and returns an admin client.
func startBenchCluster(b *testing.B, kind string) *client.Client {
	b.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := managerConfig{
		listen: "127.0.0.1:0", dataDir: b.TempDir(),
		workerTimeout: 15 * time.Second, rescheduleAft: 30 * time.Second,
		store: storeConfig{kind: kind, prefix: "/minkube", leaseTTL: 2 * time.Second},
		dns:   dnsConfig{domain: discovery.DefaultDomain, ttl: discovery.DefaultTTL},
	}
	if kind == storeEtcd {
		cfg.store.memberName = "m1"
		cfg.store.listenClient, cfg.store.listenPeer = "http://"+etcdtest.FreeAddr(b), "http://"+etcdtest.FreeAddr(b)
		cfg.store.heartbeat, cfg.store.election = 50*time.Millisecond, 500*time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.Cleanup(func() { cancel(); wg.Wait() })
	m, err := newManager(ctx, cfg, log)
	if err != nil {
		b.Fatal(err)
	}
	wg.Go(func() { _ = m.run(ctx) })
	api, err := client.New(m.url(), m.token, client.WithTLS(client.TLS{CAData: string(m.tls.caPEM)}))
	if err != nil {
		b.Fatal(err)
	}
	benchWait(b, "the manager ready", func() bool { return api.Readyz(ctx) == nil })
	for i := range benchWorkers {
		w, err := workerd.New(workerd.Options{
			Name: fmt.Sprintf("hollow-%d", i), Listen: "127.0.0.1:0", JoinToken: m.join.Secret,
			Manager: func(token string) (workerd.Manager, error) {
				return client.New(m.url(), token, client.WithTLS(client.TLS{CAHash: m.join.CAHash}))
			},
			Runtime: runtimetest.New(benchImage), Stats: hollowStats{}, Logger: log,
		})
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() { _ = w.Start(ctx) })
	}
	benchWait(b, "the workers Ready", func() bool {
		list, err := api.ListWorkers(ctx)
		if err != nil || len(list.Items) != benchWorkers {
			return false
		}
		for _, w := range list.Items {
			if w.Status.Phase != v1.WorkerReady {
				return false
			}
		}
		return true
	})
	return api
}

// applyAndWait creates benchTasks tasks named prefix-N from benchClients
// goroutines and waits until all of them run; it returns how long the
// creates took and how long until the last was Running.
func applyAndWait(b *testing.B, api *client.Client, prefix string) (creates, running time.Duration) {
	ctx := b.Context()
	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range benchClients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= benchTasks {
					return
				}
				task := &v1.Task{Metadata: v1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i), Labels: map[string]string{"bench": prefix}},
					Spec: v1.TaskSpec{Image: benchImage}}
				if _, _, err := api.ApplyTask(ctx, task, client.ApplyOptions{}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	creates = time.Since(start)
	benchWait(b, fmt.Sprintf("%d tasks Running", benchTasks), func() bool {
		list, err := api.ListTasks(ctx, client.ListOptions{LabelSelector: "bench=" + prefix})
		if err != nil {
			return false
		}
		n := 0
		for _, t := range list.Items {
			if t.Status.Phase == v1.PhaseRunning {
				n++
			}
		}
		return n == benchTasks
	})
	return creates, time.Since(start)
}

// hollowStats is the host of a simulated worker: room for every task.
type hollowStats struct{}

func (hollowStats) Sample() (v1.WorkerStats, error) {
	return v1.WorkerStats{CPUs: 64, MemoryTotal: 256 << 30, MemoryAvailable: 256 << 30, DiskTotal: 1 << 40, DiskFree: 1 << 40}, nil
}

func benchWait(b *testing.B, what string, cond func() bool) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			b.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
