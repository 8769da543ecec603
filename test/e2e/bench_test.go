package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// BenchmarkApplyToRunning measures one Task from apply to phase Running,
// seen through the watch API, on a real manager, worker and Docker engine.
// Compare it with BenchmarkDockerRun in the same run.
func BenchmarkApplyToRunning(b *testing.B) {
	c := newCluster(b)
	c.addWorker("w1")
	cl := c.client()
	ctx := b.Context()
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("bench-%d", i)
		task := &v1.Task{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
			Metadata: v1.ObjectMeta{Name: name},
			Spec:     v1.TaskSpec{Image: testImage, Args: []string{"log", "--every", "10s"}},
		}
		start := time.Now()
		out, _, err := cl.ApplyTask(ctx, task, client.ApplyOptions{})
		if err != nil {
			b.Fatal(err)
		}
		waitRunning(b, ctx, cl, name, out.Metadata.ResourceVersion)
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/last")
		b.StopTimer()
		if _, err := cl.DeleteTask(ctx, name); err != nil {
			b.Fatal(err)
		}
		waitFor(b, 30*time.Second, "task deleted", func() bool {
			_, err := cl.GetTask(ctx, name)
			return client.IsNotFound(err)
		})
		b.StartTimer()
	}
}

// waitRunning follows the watch from rv until the task is Running.
func waitRunning(b *testing.B, ctx context.Context, cl *client.Client, name, rv string) {
	b.Helper()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	w, err := cl.WatchTasks(ctx, rv, client.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for {
		ev, err := w.Next()
		if err != nil {
			b.Fatalf("watch: %v", err)
		}
		if ev.Object != nil && ev.Object.Metadata.Name == name && ev.Object.Status.Phase == v1.PhaseRunning {
			return
		}
	}
}

// BenchmarkDockerRun measures plain `docker run -d` of the same image: the
// engine's own figure to compare BenchmarkApplyToRunning with.
func BenchmarkDockerRun(b *testing.B) {
	name := "minkube-bench-" + randomSuffix()
	b.Cleanup(func() {
		_ = exec.Command("docker", "rm", "-f", name).Run()
	})
	for range b.N {
		b.StopTimer()
		_ = exec.Command("docker", "rm", "-f", name).Run()
		b.StartTimer()
		out, err := exec.Command("docker", "run", "-d", "--name", name, "--label", "io.minkube.test=1", testImage, "log", "--every", "10s").CombinedOutput()
		if err != nil {
			b.Fatalf("docker run: %v: %s", err, out)
		}
	}
}

// BenchmarkDriftKillToRunning measures the time from `docker kill` of a
// task container to the engine running it again (the worker's first
// restart is at once).
func BenchmarkDriftKillToRunning(b *testing.B) {
	c := newCluster(b)
	c.addWorker("w1", "--backoff-initial", "10s")
	c.apply(taskYAML("drift", "", "log", "--every", "10s"))
	task := c.waitTask("drift", 60*time.Second, "Running", running)
	id := task.Status.ContainerID
	ctx := context.Background()
	b.ResetTimer()
	for i := range b.N {
		before := inspectStarted(b, id)
		start := time.Now()
		if err := docker.ContainerKill(ctx, id, "KILL"); err != nil {
			b.Fatal(err)
		}
		if !poll10ms(30*time.Second, func() bool {
			info, err := docker.ContainerInspect(ctx, id)
			return err == nil && info.State.Running && info.State.StartedAt != before
		}) {
			b.Fatalf("kill %d: not running again", i)
		}
		b.ReportMetric(float64(time.Since(start).Milliseconds()), "ms/last")
		b.StopTimer()
		// Let the backoff reset so each kill measures a first restart.
		c.restartWorker(c.workerName("w1"), false)
		c.waitWorkerReady(c.workerName("w1"))
		b.StartTimer()
	}
}

// BenchmarkWorkerLossToRunningElsewhere measures, with the default
// --worker-timeout and --reschedule-after (and the heartbeat interval the
// manager derives from them), the time from a worker's death (SIGKILL) to
// its task Running on another worker.
func BenchmarkWorkerLossToRunningElsewhere(b *testing.B) {
	for i := range b.N {
		b.StopTimer()
		c := newCluster(b, "--worker-timeout", "15s", "--reschedule-after", "30s")
		defaults := []string{"--resync-interval", "30s"}
		w1 := c.addWorker(fmt.Sprintf("lost%d", i), defaults...)
		c.apply(taskYAML("moving", "", "log", "--every", "10s"))
		c.waitTask("moving", 60*time.Second, "Running", running)
		w2 := c.addWorker(fmt.Sprintf("spare%d", i), defaults...)
		b.StartTimer()
		start := time.Now()
		c.workers[w1].kill()
		c.waitTask("moving", 90*time.Second, "Running elsewhere", func(t *v1.Task) bool {
			return running(t) && t.Status.Worker == w2
		})
		b.ReportMetric(time.Since(start).Seconds(), "s/last")
	}
}

// poll10ms polls cond every 10ms until it holds or timeout passes.
func poll10ms(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}
