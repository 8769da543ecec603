package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	v1 "github.com/minkube/minkube/apis/v1"
)

// These tests hold workerd to the truth of what it reports: an update that
// cannot be pulled leaves the old container serving and says so, Docker
// going away makes the worker NotReady and comes back without restarts,
// slow stops do not hold up crash restarts, and two clusters on one engine
// leave each other alone.

// inspect returns the engine's view of a container.
func inspect(t testing.TB, id string) container.InspectResponse {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return info
}

// TestUpdateToABadImageKeepsServing: applying an image that cannot be
// pulled leaves the running container serving; the task says the update is
// not done (observedGeneration behind, Updated False, an event naming the
// image) and `wait` and `apply --wait` fail with the reason. A good update
// then replaces the container, and one that needs the same host port says
// it stops the old one first.
func TestUpdateToABadImageKeepsServing(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.apply(taskYAML("web", "", "serve", "--port", "8080"))
	first := c.waitTask("web", 60*time.Second, "Running", running)

	bad := strings.Replace(taskYAML("web", "", "serve", "--port", "8080"), testImage, "minkube-e2e/missing:1", 1)
	c.apply(bad)
	task := c.waitTask("web", 60*time.Second, "the update failing on the pull", func(t *v1.Task) bool {
		return t.Metadata.Generation == 2 && (t.Status.Reason == v1.ReasonErrImagePull || t.Status.Reason == v1.ReasonImagePullBackOff)
	})
	if task.Status.Phase != v1.PhaseRunning || task.Status.ContainerID != first.Status.ContainerID || task.Status.ObservedGeneration != 1 {
		t.Errorf("status during the failed update = %+v; want Running on container %s, observedGeneration 1", task.Status, first.Status.ContainerID)
	}
	if u := v1.FindCondition(task.Status.Conditions, v1.TaskUpdated); u == nil || u.Status != v1.ConditionFalse || !strings.Contains(u.Message, "minkube-e2e/missing:1") {
		t.Errorf("Updated condition = %+v; want False naming the image", u)
	}
	if info := inspect(t, first.Status.ContainerID); !info.State.Running {
		t.Errorf("the old container %s is %s; want it still running", first.Status.ContainerID[:12], info.State.Status)
	}
	ev := c.waitEvent("web", v1.ReasonErrImagePull)
	if !strings.Contains(ev.Message, "minkube-e2e/missing:1") {
		t.Errorf("event %s says %q; want the image named", ev.Reason, ev.Message)
	}
	_, errOut, code := c.mkctlRaw("wait", "task/web", "--for=condition=Ready", "--timeout", "2s")
	if code != 1 || !strings.Contains(errOut, "the update is not done") || !strings.Contains(errOut, "minkube-e2e/missing:1") {
		t.Errorf("wait --for=condition=Ready: exit %d, stderr %q; want 1, saying the update is not done and why", code, errOut)
	}
	out, errOut, code := c.mkctlStdin([]byte(bad), "apply", "-f", "-", "--wait", "--timeout", "2s")
	if code != 1 || !strings.Contains(errOut, "timed out") || strings.Contains(out, "1/1 Running\n") {
		t.Errorf("apply --wait: exit %d, stdout %q, stderr %q; want 1 and a timeout, not 1/1 Running", code, out, errOut)
	}

	// A good update: make before break.
	c.apply(taskYAML("web", "", "serve", "--port", "8081"))
	task = c.waitTask("web", 60*time.Second, "updated", func(t *v1.Task) bool {
		return t.Metadata.Generation == 3 && t.Status.ObservedGeneration == 3 && t.Status.Phase == v1.PhaseRunning
	})
	if task.Status.ContainerID == first.Status.ContainerID {
		t.Errorf("still on the first container after a good update")
	}
	waitFor(t, 30*time.Second, "the old container removed", func() bool {
		return len(containersOf(t, task.Metadata.UID)) == 1
	})

	// A host port both would need: break before make, said in an event.
	port := freePort(t)
	withPort := func(version string) string {
		return taskYAML("pinned", fmt.Sprintf("  ports: [{containerPort: 8080, hostPort: %d}]\n  env: [{name: VERSION, value: %q}]\n", port, version),
			"serve", "--port", "8080")
	}
	c.apply(withPort("1"))
	c.waitTask("pinned", 60*time.Second, "Running", running)
	c.apply(withPort("2"))
	c.waitTask("pinned", 60*time.Second, "updated", func(t *v1.Task) bool {
		return t.Status.ObservedGeneration == 2 && t.Status.Phase == v1.PhaseRunning
	})
	c.waitEvent("pinned", v1.ReasonBreakBeforeMake)
}

// TestDockerGoesAway: a worker that reaches Docker through a proxy the test
// stops for 20s is NotReady and takes no task while Docker is gone, and is
// Ready again once it is back, with its container never restarted.
func TestDockerGoesAway(t *testing.T) {
	t.Parallel()
	proxy := startDockerProxy(t)
	c := newCluster(t)
	far := c.addWorkerEnv("far", proxy.env(), "--labels", "via=proxy")
	near := c.addWorker("near")
	c.apply(taskYAML("kept", "  nodeSelector: {via: proxy}\n", "log", "--every", "1s"))
	kept := c.waitTask("kept", 60*time.Second, "Running", running)
	started := inspect(t, kept.Status.ContainerID).State.StartedAt

	proxy.stop()
	down := time.Now()
	workerPhase := func(name string) v1.WorkerPhase {
		var w v1.Worker
		if err := c.getJSON(&w, "get", "worker", name); err != nil {
			return ""
		}
		return w.Status.Phase
	}
	waitFor(t, 30*time.Second, "the worker NotReady", func() bool { return workerPhase(far) == v1.WorkerNotReady })
	t.Logf("worker NotReady %s after Docker went away", time.Since(down).Round(100*time.Millisecond))
	task := c.waitTask("kept", 30*time.Second, "marked as the last state seen", func(t *v1.Task) bool {
		return t.Status.Reason == v1.ReasonRuntimeUnreachable
	})
	if r := v1.FindCondition(task.Status.Conditions, v1.TaskReady); r == nil || r.Status != v1.ConditionUnknown {
		t.Errorf("Ready = %+v while Docker is gone; want Unknown", r)
	}

	// New tasks go elsewhere, or wait.
	c.apply(taskYAML("anywhere", "", "log", "--every", "1s"), taskYAML("there", "  nodeSelector: {via: proxy}\n", "log", "--every", "1s"))
	if got := c.waitTask("anywhere", 60*time.Second, "Running", running); got.Status.Worker != near {
		t.Errorf("task placed on %s while its Docker is gone; want %s", got.Status.Worker, near)
	}
	c.waitTask("there", 30*time.Second, "Unschedulable", func(t *v1.Task) bool {
		return t.Status.Phase == v1.PhasePending && t.Status.Reason == v1.ReasonUnschedulable && strings.Contains(t.Status.Message, "not ready")
	})

	time.Sleep(time.Until(down.Add(20 * time.Second)))
	proxy.start()
	back := time.Now()
	waitFor(t, 30*time.Second, "the worker Ready again", func() bool { return workerPhase(far) == v1.WorkerReady })
	t.Logf("worker Ready %s after Docker came back", time.Since(back).Round(100*time.Millisecond))
	task = c.waitTask("kept", 30*time.Second, "Ready again", func(t *v1.Task) bool {
		r := v1.FindCondition(t.Status.Conditions, v1.TaskReady)
		return t.Status.Reason == "" && r != nil && r.Status == v1.ConditionTrue
	})
	if task.Status.ContainerID != kept.Status.ContainerID || task.Status.RestartCount != 0 {
		t.Errorf("after the outage: container %s, restarts %d; want %s, 0", task.Status.ContainerID, task.Status.RestartCount, kept.Status.ContainerID)
	}
	if info := inspect(t, kept.Status.ContainerID); !info.State.Running || info.State.StartedAt != started {
		t.Errorf("the container was restarted: started %s, now %s (%s)", started, info.State.StartedAt, info.State.Status)
	}
	if got := c.waitTask("there", 60*time.Second, "Running", running); got.Status.Worker != far {
		t.Errorf("the waiting task runs on %s; want %s", got.Status.Worker, far)
	}
}

// TestSlowStopsDoNotHoldUpRestarts: ten tasks that ignore SIGTERM are
// deleted at once (each stop takes its full grace); meanwhile another
// task's container is killed, and it runs again at once, on the same host
// port.
func TestSlowStopsDoNotHoldUpRestarts(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1", "--stop-grace", "60s", "--port-host-ip=")
	const stubborn = 10
	docs := []string{taskYAML("web", "  ports: [{containerPort: 8080}]\n", "serve", "--port", "8080")}
	names := make([]string, stubborn)
	for i := range names {
		names[i] = fmt.Sprintf("stubborn-%d", i)
		docs = append(docs, taskYAML(names[i], "", "ignore-sigterm"))
	}
	c.apply(docs...)
	for _, name := range names {
		c.waitTask(name, 90*time.Second, "Running", running)
	}
	web := c.waitTask("web", 60*time.Second, "Running", running)
	if web.Status.HostIP != "127.0.0.1" || len(web.Status.Ports) != 1 || web.Status.Ports[0].HostPort == 0 {
		t.Fatalf("web status = %+v; want a host port on 127.0.0.1", web.Status)
	}
	hostPort := fmt.Sprint(web.Status.Ports[0].HostPort)
	if b := inspect(t, web.Status.ContainerID).HostConfig.PortBindings["8080/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != hostPort {
		t.Errorf("bindings %+v; want 127.0.0.1:%s, as the status says (not all addresses)", b, hostPort)
	}

	c.mkctl(append([]string{"delete", "task"}, names...)...)
	waitFor(t, 30*time.Second, "the stops under way", func() bool {
		for _, name := range names {
			if tk, err := c.task(name); err != nil || tk.Metadata.DeletionTimestamp == nil {
				return false
			}
		}
		return true
	})
	time.Sleep(time.Second) // let the worker take the stops up
	before := inspect(t, web.Status.ContainerID).State.StartedAt
	if err := docker.ContainerKill(context.Background(), web.Status.ContainerID, "KILL"); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	waitFor(t, 20*time.Second, "the killed container running again", func() bool {
		info := inspect(t, web.Status.ContainerID)
		return info.State.Running && info.State.StartedAt != before
	})
	t.Logf("killed container running again %s later, while %d stops took their grace", time.Since(killed).Round(10*time.Millisecond), stubborn)
	if b := inspect(t, web.Status.ContainerID).NetworkSettings.Ports["8080/tcp"]; len(b) == 0 || b[0].HostPort != hostPort {
		t.Errorf("host port after the restart %+v; want %s kept", b, hostPort)
	}
}

// TestTwoClustersOneEngine: two clusters whose workers have the same name
// share one Docker engine; each runs a task of the same name, and after 30s
// neither container has been touched.
func TestTwoClustersOneEngine(t *testing.T) {
	t.Parallel()
	a, b := newCluster(t), newCluster(t)
	b.suffix = a.suffix // the same worker name, as two hosts' defaults would be
	wa, wb := a.addWorker("w1"), b.addWorker("w1")
	if wa != wb {
		t.Fatalf("worker names %s and %s; want the same", wa, wb)
	}
	a.apply(taskYAML("victim", "", "log", "--every", "1s"))
	b.apply(taskYAML("victim", "", "log", "--every", "1s"))
	ta := a.waitTask("victim", 60*time.Second, "Running", running)
	tb := b.waitTask("victim", 60*time.Second, "Running", running)
	startA, startB := inspect(t, ta.Status.ContainerID).State.StartedAt, inspect(t, tb.Status.ContainerID).State.StartedAt
	if ca, cb := inspect(t, ta.Status.ContainerID).Config.Labels["io.minkube.cluster"], inspect(t, tb.Status.ContainerID).Config.Labels["io.minkube.cluster"]; ca == "" || ca == cb {
		t.Fatalf("cluster labels %q and %q; want two different cluster ids", ca, cb)
	}

	time.Sleep(30 * time.Second)
	for _, side := range []struct {
		c       *cluster
		was     *v1.Task
		started string
	}{{a, ta, startA}, {b, tb, startB}} {
		now, err := side.c.task("victim")
		if err != nil {
			t.Fatal(err)
		}
		if now.Status.Phase != v1.PhaseRunning || now.Status.ContainerID != side.was.Status.ContainerID || now.Status.RestartCount != 0 {
			t.Errorf("task after 30s = %+v; want Running on %s with no restart", now.Status, side.was.Status.ContainerID)
		}
		if info := inspect(t, side.was.Status.ContainerID); !info.State.Running || info.State.StartedAt != side.started {
			t.Errorf("container %s touched: %s, started %s (was %s)", side.was.Status.ContainerID[:12], info.State.Status, info.State.StartedAt, side.started)
		}
	}
}
