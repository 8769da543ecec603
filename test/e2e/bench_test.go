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
	cl, err := client.New(c.server, c.token)
	if err != nil {
		b.Fatal(err)
	}
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
