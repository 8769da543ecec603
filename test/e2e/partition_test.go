package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Failure detection of the partition tests: a worker is lost after 3s
// without heartbeats, and its tasks move after 6s.
const (
	labWorkerTimeout   = 3 * time.Second
	labRescheduleAfter = 6 * time.Second
)

// newLabCluster starts a manager in host mgr and a worker in each of
// workers, each process in its host's namespace: they reach each other
// over the lab's network only, and can be cut apart.
func newLabCluster(t *testing.T, mgr *labHost, workers ...*labHost) *cluster {
	t.Helper()
	c := &cluster{t: t, dir: t.TempDir(), workers: map[string]*proc{}, suffix: randomSuffix()}
	c.home = filepath.Join(c.dir, "home")
	if err := os.MkdirAll(c.home, 0o700); err != nil {
		t.Fatal(err)
	}
	// Each host has its own ports: fixed ones are free there.
	c.server = "https://" + mgr.ip + ":7070"
	c.dns = mgr.ip + ":7053"
	dataDir := filepath.Join(c.dir, "manager")
	c.manager = c.startIn(mgr.netns, "manager", nil, "manager", "--listen", mgr.ip+":7070", "--data-dir", dataDir,
		"--dns-listen", c.dns, "--worker-timeout", labWorkerTimeout.String(), "--reschedule-after", labRescheduleAfter.String())
	t.Cleanup(c.stopAll)
	c.waitManagerReady(dataDir)
	for _, h := range workers {
		name := c.workerName(h.name)
		c.workers[name] = c.startIn(h.netns, name, nil, "worker", "--manager", c.server, "--name", name,
			"--listen", h.ip+":7071", "--join-token-file", c.joinFile, "--data-dir", filepath.Join(c.dir, name),
			"--dns-server=", "--resync-interval", "3s", "--backoff-initial", "200ms", "--backoff-max", "2s", "--stop-grace", "2s")
	}
	for name := range c.workers {
		c.waitWorkerReady(name)
	}
	return c
}

// TestPartitions cuts a worker off its manager over a real network, one
// way and both ways, and checks that the tasks of a worker the manager
// can no longer hear from run elsewhere within the configured time, and
// that after the link heals, and 10s more, every task runs exactly once.
func TestPartitions(t *testing.T) {
	t.Parallel()
	lab := newNetLab(t)
	mgr := lab.addHost("mgr")
	hosts := map[string]*labHost{}
	var workerHosts []*labHost
	for _, n := range []string{"wa", "wb", "wc"} {
		h := lab.addHost(n)
		workerHosts = append(workerHosts, h)
	}
	c := newLabCluster(t, mgr, workerHosts...)
	for _, h := range workerHosts {
		hosts[c.workerName(h.name)] = h
	}
	var names []string
	var docs []string
	for i := range 6 {
		names = append(names, fmt.Sprintf("part-%d", i))
		docs = append(docs, taskYAML(names[i], "", "log", "--every", "5s"))
	}
	c.apply(docs...)
	c.waitRunning(names)
	c.mustRunExactlyOnce(names)

	scenarios := []struct {
		name string
		dir  cutDirection
		// moves is true when the manager stops hearing from the worker:
		// its tasks must run elsewhere.
		moves bool
	}{
		{"cut both ways", cutBoth, true},
		{"manager to worker only", cutFromPeer, false},
		{"worker to manager only", cutToPeer, true},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			worker := c.busiestWorker(names)
			h := hosts[worker]
			var held []string
			for _, n := range names {
				if tk, err := c.task(n); err == nil && tk.Status.Worker == worker {
					held = append(held, n)
				}
			}
			lab.cut(h, mgr, sc.dir)
			cutAt := time.Now()
			if sc.moves {
				waitFor(t, 60*time.Second, fmt.Sprintf("the tasks of %s (%v) Running elsewhere", worker, held), func() bool {
					for _, n := range held {
						tk, err := c.task(n)
						if err != nil || tk.Status.Phase != v1.PhaseRunning || tk.Status.Worker == worker || tk.Status.Worker == "" {
							return false
						}
					}
					return true
				})
				took := time.Since(cutAt)
				t.Logf("the tasks of %s ran elsewhere %s after the cut (worker timeout %s, reschedule after %s)",
					worker, took.Round(100*time.Millisecond), labWorkerTimeout, labRescheduleAfter)
				if limit := labRescheduleAfter + 30*time.Second; took > limit {
					t.Errorf("the tasks moved %s after the cut, more than %s", took, limit)
				}
			} else {
				// The manager cannot reach the worker, which still
				// reports: it stays Ready and keeps its tasks, and new
				// tasks still get placed and run.
				more := []string{fmt.Sprintf("late-%d-a", i), fmt.Sprintf("late-%d-b", i), fmt.Sprintf("late-%d-c", i)}
				var docs []string
				for _, n := range more {
					docs = append(docs, taskYAML(n, "", "log", "--every", "5s"))
				}
				c.apply(docs...)
				names = append(names, more...)
				c.waitRunning(names)
				if w, err := c.client().GetWorker(t.Context(), worker); err != nil || w.Status.Phase != v1.WorkerReady {
					t.Errorf("%s, whose reports reach the manager, is %v (%v); want Ready", worker, w.Status.Phase, err)
				}
			}
			lab.heal(h)
			healedAt := time.Now()
			waitFor(t, 60*time.Second, worker+" Ready again", func() bool {
				w, err := c.client().GetWorker(t.Context(), worker)
				return err == nil && w.Status.Phase == v1.WorkerReady
			})
			time.Sleep(10*time.Second - time.Since(healedAt))
			c.mustRunExactlyOnce(names)
		})
	}
}

// waitRunning waits until every task named is Running.
func (c *cluster) waitRunning(names []string) {
	c.t.Helper()
	for _, n := range names {
		c.waitTask(n, 90*time.Second, "Running", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning })
	}
}

// busiestWorker returns the worker that runs the most of the tasks named.
func (c *cluster) busiestWorker(names []string) string {
	c.t.Helper()
	count := map[string]int{}
	for _, n := range names {
		if tk, err := c.task(n); err == nil && tk.Status.Worker != "" {
			count[tk.Status.Worker]++
		}
	}
	var best string
	for _, w := range slices.Sorted(maps.Keys(count)) {
		if best == "" || count[w] > count[best] {
			best = w
		}
	}
	if best == "" {
		c.t.Fatalf("no worker runs any of %v", names)
	}
	return best
}

// mustRunExactlyOnce checks that each task named is Running and that the
// Docker engine runs exactly one container of it: the one its status
// names, on the worker its status names.
func (c *cluster) mustRunExactlyOnce(names []string) {
	c.t.Helper()
	for _, n := range names {
		tk, err := c.task(n)
		if err != nil {
			c.t.Errorf("task %s: %v", n, err)
			continue
		}
		list, err := docker.ContainerList(context.Background(), container.ListOptions{
			Filters: filters.NewArgs(filters.Arg("label", "io.minkube.task.uid="+tk.Metadata.UID), filters.Arg("status", "running"))})
		if err != nil {
			c.t.Fatal(err)
		}
		var where []string
		for _, ct := range list {
			where = append(where, ct.Labels[labelWorker]+"/"+ct.ID[:12])
		}
		switch {
		case tk.Status.Phase != v1.PhaseRunning:
			c.t.Errorf("task %s is %s (%s), want Running", n, tk.Status.Phase, tk.Status.Message)
		case len(list) != 1:
			c.t.Errorf("task %s runs %d times: %v; want once, on %s", n, len(list), where, tk.Status.Worker)
		case list[0].Labels[labelWorker] != tk.Status.Worker || !strings.HasPrefix(list[0].ID, tk.Status.ContainerID):
			c.t.Errorf("task %s runs as %v, but its status says %s/%s", n, where, tk.Status.Worker, tk.Status.ContainerID)
		}
	}
}
