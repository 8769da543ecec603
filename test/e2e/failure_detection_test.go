package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// workerPhases lists the phase of every worker of the cluster.
func (c *cluster) workerPhases(t *testing.T, cl *client.Client) map[string]v1.WorkerPhase {
	t.Helper()
	list, err := cl.ListWorkers(context.Background())
	if err != nil {
		t.Fatalf("list workers: %v", err)
	}
	out := map[string]v1.WorkerPhase{}
	for _, w := range list.Items {
		out[w.Metadata.Name] = w.Status.Phase
	}
	return out
}

// TestFastFailureDetection: a manager started with --worker-timeout 3s
// --reschedule-after 6s and workers on their defaults: the workers
// heartbeat at the interval the manager gives them, so none leaves Ready
// for 30 s; a worker killed with kill -9 has its tasks running elsewhere
// soon after (the time is logged; the design's figure is 12 s).
func TestFastFailureDetection(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "--worker-timeout", "3s", "--reschedule-after", "6s")
	w1 := c.addPlainWorker("fa")
	w2 := c.addPlainWorker("fb")
	var docs []string
	for i := range 4 {
		docs = append(docs, taskYAML(fmt.Sprintf("fast-%d", i), "", "log", "--every", "5s"))
	}
	c.apply(docs...)
	for i := range 4 {
		c.waitTask(fmt.Sprintf("fast-%d", i), 60*time.Second, "Running", running)
	}
	cl := c.client()

	end := time.Now().Add(30 * time.Second)
	for time.Now().Before(end) {
		for name, phase := range c.workerPhases(t, cl) {
			if phase != v1.WorkerReady {
				t.Fatalf("worker %s is %s with workers heartbeating at the manager's interval", name, phase)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	events, err := cl.ListEvents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if ev.Reason == "NodeNotReady" || ev.Reason == v1.ReasonWorkerLost {
			t.Errorf("event %s about %s: %s", ev.Reason, ev.InvolvedObject.Name, ev.Message)
		}
	}

	var lost []string
	for i := range 4 {
		name := fmt.Sprintf("fast-%d", i)
		if task, err := c.task(name); err == nil && task.Status.Worker == w1 {
			lost = append(lost, name)
		}
	}
	if len(lost) == 0 {
		t.Fatalf("no task on %s to lose", w1)
	}
	killed := time.Now()
	c.workers[w1].kill()
	for _, name := range lost {
		c.waitTask(name, 60*time.Second, "Running on "+w2, func(t *v1.Task) bool { return running(t) && t.Status.Worker == w2 })
	}
	t.Logf("worker killed to its %d tasks Running elsewhere: %s (--worker-timeout 3s --reschedule-after 6s)", len(lost), time.Since(killed).Round(100*time.Millisecond))
}

// TestManagerDownLongerThanRescheduleAfter: a manager that was down for
// 45 s with --reschedule-after 30s gives every worker a fresh grace period
// when it starts: the workers heartbeat again, and no task moves and no
// container is replaced.
func TestManagerDownLongerThanRescheduleAfter(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "--reschedule-after", "30s")
	c.addWorker("da")
	c.addWorker("db")
	var docs []string
	for i := range 4 {
		docs = append(docs, taskYAML(fmt.Sprintf("stay-%d", i), "", "log", "--every", "5s"))
	}
	c.apply(docs...)
	before := map[string]*v1.Task{}
	started := map[string]string{}
	for i := range 4 {
		name := fmt.Sprintf("stay-%d", i)
		before[name] = c.waitTask(name, 60*time.Second, "Running", running)
		started[name] = inspectStarted(t, before[name].Status.ContainerID)
	}

	c.restartManagerAfter(true, 45*time.Second)
	restarted := time.Now()
	// Past --worker-timeout (3s) from the start, and past the moment a
	// manager that judged workers by their old heartbeats moved every task.
	cl := c.client()
	for time.Since(restarted) < 10*time.Second {
		for name, phase := range c.workerPhases(t, cl) {
			if phase != v1.WorkerReady {
				t.Errorf("worker %s went %s after the manager came back", name, phase)
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	replaced := 0
	for name, was := range before {
		now := c.waitTask(name, 30*time.Second, "Running", running)
		if now.Status.Worker != was.Status.Worker || now.Status.ContainerID != was.Status.ContainerID {
			replaced++
			t.Errorf("%s: on %s in %.12s, was on %s in %.12s", name, now.Status.Worker, now.Status.ContainerID, was.Status.Worker, was.Status.ContainerID)
		}
		if got := inspectStarted(t, was.Status.ContainerID); got != started[name] {
			t.Errorf("%s: container restarted (started %s, was %s)", name, got, started[name])
		}
		if n := len(containersOf(t, was.Metadata.UID)); n != 1 {
			t.Errorf("%s: %d containers, want 1", name, n)
		}
	}
	events, err := cl.ListEvents(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range events.Items {
		if ev.Reason == "NodeNotReady" || ev.Reason == v1.ReasonWorkerLost || ev.Reason == "Rescheduling" {
			t.Errorf("event %s about %s: %s", ev.Reason, ev.InvolvedObject.Name, ev.Message)
		}
	}
	t.Logf("%d containers replaced", replaced)
}
