package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// gitopsManifest renders a Task manifest for the test image.
func gitopsManifest(name string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: %s\nspec:\n  image: %s\n  args: [%s]\n",
		name, testImage, strings.Join(quoted, ", "))
}

func gitopsRunning(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning }

// gitopsSave saves a manifest the way editors and Git do: a temporary
// file renamed over the target.
func gitopsSave(t testing.TB, path, content string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// TestGitOpsSync drives a manager started with --manifests-dir through
// files alone: saving a file runs its task, editing the args replaces the
// container, deleting the file removes it.
func TestGitOpsSync(t *testing.T) {
	dir := t.TempDir()
	c := newCluster(t, "--manifests-dir", dir)
	c.addWorker("w1")
	path := filepath.Join(dir, "apps", "web.yaml")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	gitopsSave(t, path, gitopsManifest("gitops-web", "log", "--every", "1s"))
	first := c.waitTask("gitops-web", 60*time.Second, "phase Running", gitopsRunning)
	t.Logf("save to Running: %s (polled every 100ms)", time.Since(start).Round(time.Millisecond))
	if src := first.Metadata.Annotations[v1.AnnotationSource]; src != "apps/web.yaml" {
		t.Errorf("annotation %s = %q, want apps/web.yaml", v1.AnnotationSource, src)
	}
	if cts := containersOf(t, first.Metadata.UID); len(cts) != 1 || cts[0].ID != first.Status.ContainerID {
		t.Fatalf("containers %+v, want the one of status.containerID %s", cts, first.Status.ContainerID)
	}

	// Editing the args replaces the container; the task stays the same.
	gitopsSave(t, path, gitopsManifest("gitops-web", "log", "--every", "2s"))
	edited := c.waitTask("gitops-web", 60*time.Second, "the new args Running", func(t *v1.Task) bool {
		return gitopsRunning(t) && t.Status.ObservedGeneration == 2 && t.Status.ContainerID != first.Status.ContainerID
	})
	if edited.Metadata.UID != first.Metadata.UID || edited.Metadata.Generation != 2 {
		t.Errorf("uid %s generation %d, want uid %s generation 2", edited.Metadata.UID, edited.Metadata.Generation, first.Metadata.UID)
	}
	waitFor(t, 30*time.Second, "the old container removed", func() bool {
		cts := containersOf(t, first.Metadata.UID)
		return len(cts) == 1 && cts[0].ID == edited.Status.ContainerID
	})
	info, err := docker.ContainerInspect(t.Context(), edited.Status.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(info.Config.Cmd, " "); got != "log --every 2s" {
		t.Errorf("container command %q, want the edited args", got)
	}

	// A file that does not parse changes nothing.
	gitopsSave(t, path, "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: gitops-web}\nspec: {}\n")
	c.waitTask("gitops-web", 30*time.Second, "still running", gitopsRunning)
	cl := c.client()
	waitFor(t, 30*time.Second, "an InvalidManifest event", func() bool {
		evs, err := cl.ListEvents(t.Context(), "")
		if err != nil {
			return false
		}
		for _, ev := range evs.Items {
			if ev.Reason == "InvalidManifest" && ev.InvolvedObject.Name == "apps/web.yaml" && strings.Contains(ev.Message, "spec.image") {
				return true
			}
		}
		return false
	})
	if got, err := c.task("gitops-web"); err != nil || got.Metadata.Generation != 2 || got.Status.ContainerID != edited.Status.ContainerID {
		t.Fatalf("task after a broken save: %+v, %v; want generation 2 and the same container", got, err)
	}

	// Deleting the file deletes the task and its container.
	start = time.Now()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "container gone", func() bool { return len(containersOf(t, first.Metadata.UID)) == 0 })
	t.Logf("delete to container gone: %s (polled every 100ms)", time.Since(start).Round(time.Millisecond))
	waitFor(t, 30*time.Second, "task gone", func() bool {
		_, errOut, code := c.mkctlRaw("get", "task", "gitops-web")
		return code == 1 && strings.Contains(errOut, "not found")
	})
}

// gitopsBench is a cluster with a manifests directory and one worker.
type gitopsBench struct {
	c   *cluster
	cl  *client.Client
	dir string
}

func newGitOpsBench(b *testing.B) *gitopsBench {
	dir := b.TempDir()
	c := newCluster(b, "--manifests-dir", dir)
	c.addWorker("w1")
	cl := c.client()
	return &gitopsBench{c: c, cl: cl, dir: dir}
}

// saveRunning saves a manifest for name and waits, through the watch
// API, until its task is Running.
func (g *gitopsBench) saveRunning(b *testing.B, name string) {
	ctx, cancel := context.WithTimeout(b.Context(), 60*time.Second)
	defer cancel()
	w, err := g.cl.WatchTasks(ctx, "", client.ListOptions{}) // from now on
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	gitopsSave(b, filepath.Join(g.dir, name+".yaml"), gitopsManifest(name, "log", "--every", "10s"))
	for {
		ev, err := w.Next()
		if err != nil {
			b.Fatalf("watch for %s Running: %v", name, err)
		}
		if ev.Object != nil && ev.Object.Metadata.Name == name && ev.Object.Status.Phase == v1.PhaseRunning {
			return
		}
	}
}

// deleteGone deletes name's file and waits until its container is gone
// from the engine.
func (g *gitopsBench) deleteGone(b *testing.B, name string) {
	t, err := g.cl.GetTask(b.Context(), name)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(filepath.Join(g.dir, name+".yaml")); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(containersOf(b, t.Metadata.UID)) > 0 {
		if time.Now().After(deadline) {
			b.Fatalf("container of %s still there 60s after its file was deleted", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkGitOpsSaveToRunning measures the time from saving a manifest
// file in --manifests-dir (default settle window) to its task Running.
func BenchmarkGitOpsSaveToRunning(b *testing.B) {
	g := newGitOpsBench(b)
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("gitops-bench-%d", i)
		g.saveRunning(b, name)
		b.StopTimer()
		g.deleteGone(b, name)
		b.StartTimer()
	}
}

// BenchmarkGitOpsDeleteToGone measures the time from deleting a manifest
// file to its container gone from the Docker engine.
func BenchmarkGitOpsDeleteToGone(b *testing.B) {
	g := newGitOpsBench(b)
	for i := 0; b.Loop(); i++ {
		name := fmt.Sprintf("gitops-bench-%d", i)
		b.StopTimer()
		g.saveRunning(b, name)
		b.StartTimer()
		g.deleteGone(b, name)
	}
}
