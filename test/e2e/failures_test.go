package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	v1 "github.com/minkube/minkube/apis/v1"
)

// taskYAML renders a Task manifest for the test image.
func taskYAML(name string, extra string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = fmt.Sprintf("%q", a)
	}
	return fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: %s}\nspec:\n  image: %s\n  args: [%s]\n%s",
		name, testImage, strings.Join(quoted, ", "), extra)
}

func (c *cluster) apply(docs ...string) {
	c.t.Helper()
	out, errOut, code := c.mkctlStdin([]byte(strings.Join(docs, "---\n")), "apply", "-f", "-")
	if code != 0 {
		c.t.Fatalf("apply: exit %d: %s %s", code, out, errOut)
	}
}

// events lists the recorded events of a task.
func (c *cluster) events(task string) []v1.Event {
	c.t.Helper()
	cl := c.client()
	list, err := cl.ListEvents(context.Background(), task)
	if err != nil {
		c.t.Fatalf("list events of %s: %v", task, err)
	}
	return list.Items
}

func (c *cluster) waitEvent(task, reason string) v1.Event {
	c.t.Helper()
	var found v1.Event
	var seen []string // what was recorded instead, said when the wait fails
	defer func() {
		if found.Reason == "" {
			c.t.Logf("events of task %s when the wait for %s ended: %q", task, reason, seen)
		}
	}()
	waitFor(c.t, 60*time.Second, "event "+reason+" on task "+task, func() bool {
		seen = seen[:0]
		for _, e := range c.events(task) {
			if e.Reason == reason {
				found = e
				return true
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return false
	})
	return found
}

func running(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning }

// runningContainers counts the running containers of a task.
func runningContainers(t testing.TB, uid string) int {
	n := 0
	for _, ct := range containersOf(t, uid) {
		if ct.State == "running" {
			n++
		}
	}
	return n
}

func inspectStarted(t testing.TB, id string) string {
	t.Helper()
	info, err := docker.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect %s: %v", id, err)
	}
	return info.State.StartedAt
}

// TestRestartPolicies: crashes restart with backoff by policy; exits end
// Succeeded or Failed, keep their exit code and times, and stay visible.
func TestRestartPolicies(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.apply(
		taskYAML("crash", "  restartPolicy: Always\n", "crash"),
		taskYAML("done", "  restartPolicy: OnFailure\n", "exit", "--code", "0", "--after", "100ms"),
		taskYAML("retry", "  restartPolicy: OnFailure\n", "exit", "--code", "2", "--after", "100ms"),
		taskYAML("fail", "  restartPolicy: Never\n", "exit", "--code", "3", "--after", "100ms"),
	)
	crash := c.waitTask("crash", 60*time.Second, "restarts with CrashLoopBackOff", func(t *v1.Task) bool {
		return t.Status.RestartCount >= 2 && t.Status.Reason == v1.ReasonCrashLoopBackOff
	})
	if !strings.Contains(crash.Status.Message, "crashing on start") || crash.Status.ExitCode == nil || *crash.Status.ExitCode != 1 {
		t.Errorf("crash status %+v: want exit code 1 and the container's last output in the message", crash.Status)
	}
	done := c.waitTask("done", 60*time.Second, "Succeeded", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseSucceeded })
	if done.Status.ExitCode == nil || *done.Status.ExitCode != 0 || done.Status.StartedAt == nil || done.Status.FinishedAt == nil || done.Status.RestartCount != 0 {
		t.Errorf("done status %+v: want exit 0, start and finish times, no restarts", done.Status)
	}
	c.waitTask("retry", 60*time.Second, "restarted on failure", func(t *v1.Task) bool { return t.Status.RestartCount >= 1 })
	fail := c.waitTask("fail", 60*time.Second, "Failed", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseFailed })
	if fail.Status.ExitCode == nil || *fail.Status.ExitCode != 3 || fail.Status.RestartCount != 0 {
		t.Errorf("fail status %+v: want exit 3 and no restarts", fail.Status)
	}
	// Terminal tasks stay terminal and visible.
	time.Sleep(2 * time.Second)
	for name, phase := range map[string]v1.Phase{"done": v1.PhaseSucceeded, "fail": v1.PhaseFailed} {
		got, err := c.task(name)
		if err != nil || got.Status.Phase != phase || got.Status.RestartCount != 0 {
			t.Errorf("task %s later: %v %+v, want %s with no restarts", name, err, got, phase)
		}
	}
	c.waitEvent("crash", v1.ReasonCrashLoopBackOff)
}

// TestImagePullRecovery: a bad image backs off with ErrImagePull then
// ImagePullBackOff; applying a good image gets the task Running with no
// cleanup by hand.
func TestImagePullRecovery(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.apply("apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: img}\nspec: {image: \"minkube-e2e/missing:1\"}\n")
	c.waitTask("img", 60*time.Second, "ImagePullBackOff", func(t *v1.Task) bool {
		return t.Status.Reason == v1.ReasonImagePullBackOff && strings.Contains(t.Status.Message, "minkube-e2e/missing:1")
	})
	c.waitEvent("img", v1.ReasonErrImagePull)
	c.apply(taskYAML("img", "", "log", "--every", "1s"))
	task := c.waitTask("img", 60*time.Second, "Running with the good image", running)
	if n := runningContainers(t, task.Metadata.UID); n != 1 {
		t.Fatalf("%d running containers, want 1", n)
	}
}

// TestInsufficientDisk: workers without the disk a task asks for are passed
// over with a message that says why; the task is placed by itself once a
// worker fits.
func TestInsufficientDisk(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("full1", "--labels", "zone=a", "--disk-reserved", "1000Ti")
	c.addWorker("full2", "--labels", "zone=a", "--disk-reserved", "1000Ti")
	c.addWorker("other", "--labels", "zone=b")
	c.apply(taskYAML("big", "  resources: {disk: 1Gi}\n  nodeSelector: {zone: a}\n", "log", "--every", "1s"))
	c.waitTask("big", 30*time.Second, "Unschedulable", func(t *v1.Task) bool {
		return t.Status.Phase == v1.PhasePending && t.Status.Reason == v1.ReasonUnschedulable &&
			t.Status.Message == "0/3 workers fit: 2 insufficient disk, 1 does not match nodeSelector"
	})
	c.waitEvent("big", "FailedScheduling")
	fits := c.addWorker("roomy", "--labels", "zone=a")
	task := c.waitTask("big", 60*time.Second, "Running on the new worker", running)
	if task.Status.Worker != fits {
		t.Fatalf("placed on %s, want %s", task.Status.Worker, fits)
	}
}

// TestHealthChecks: a failing check restarts the container with reason
// Unhealthy; a passing one makes the task Ready.
func TestHealthChecks(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	p1, p2 := freePort(t), freePort(t)
	c.apply(
		taskYAML("sick", fmt.Sprintf(`  env: [{name: HEALTHZ_FAIL_AFTER, value: 2s}]
  ports: [{name: http, containerPort: 8080, hostPort: %d}]
  healthCheck: {http: {path: /healthz, port: http}, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2}
`, p1), "serve", "--port", "8080"),
		taskYAML("tcp", fmt.Sprintf(`  ports: [{name: web, containerPort: 8080, hostPort: %d}]
  healthCheck: {tcp: {port: web}, periodSeconds: 1}
`, p2), "serve", "--port", "8080"),
		taskYAML("exec", `  healthCheck: {exec: {command: ["/testapp", "exit", "--code", "1", "--after", "0s"]}, periodSeconds: 1, failureThreshold: 2}
`, "log", "--every", "1s"),
	)
	ready := func(t *v1.Task) bool {
		c := v1.FindCondition(t.Status.Conditions, v1.TaskReady)
		return c != nil && c.Status == v1.ConditionTrue
	}
	c.waitTask("sick", 30*time.Second, "Ready while healthy", ready)
	c.waitTask("tcp", 30*time.Second, "Ready", ready)
	c.waitTask("sick", 60*time.Second, "restarted for failing its check", func(t *v1.Task) bool { return t.Status.RestartCount >= 1 })
	c.waitEvent("sick", v1.ReasonUnhealthy)
	c.waitTask("exec", 60*time.Second, "restarted for failing its check", func(t *v1.Task) bool { return t.Status.RestartCount >= 1 })
	if tcp, _ := c.task("tcp"); tcp == nil || tcp.Status.RestartCount != 0 {
		t.Errorf("the healthy tcp task restarted: %+v", tcp)
	}
}

// TestGracefulStop: delete sends SIGTERM, waits the grace period, then
// SIGKILL; a task that ignores SIGTERM is still gone.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.apply(taskYAML("stubborn", "", "ignore-sigterm"), taskYAML("polite", "", "serve"))
	stubborn := c.waitTask("stubborn", 60*time.Second, "Running", running)
	polite := c.waitTask("polite", 60*time.Second, "Running", running)
	// The test image says when it has started ignoring SIGTERM.
	waitFor(t, 10*time.Second, "ignore-sigterm armed", func() bool {
		out, _ := exec.Command("docker", "logs", stubborn.Status.ContainerID).CombinedOutput()
		return strings.Contains(string(out), "ignoring SIGTERM")
	})
	c.mkctl("delete", "task", "stubborn", "polite")
	for _, task := range []*v1.Task{stubborn, polite} {
		waitFor(t, 30*time.Second, "container of "+task.Metadata.Name+" gone", func() bool { return len(containersOf(t, task.Metadata.UID)) == 0 })
		waitFor(t, 30*time.Second, "task "+task.Metadata.Name+" gone", func() bool {
			_, err := c.task(task.Metadata.Name)
			return err != nil
		})
	}
	c.waitEvent("", "Killing")
}

// TestDrift: what is done to containers behind Minkube's back is undone by
// the worker: killed, stopped or removed containers run again, strays are
// removed, a changed spec replaces the container and an unchanged one
// touches nothing.
func TestDrift(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	worker := c.addWorker("w1")
	ctx := context.Background()
	c.apply(taskYAML("drift", "  env: [{name: V, value: one}]\n", "log", "--every", "1s"))
	task := c.waitTask("drift", 60*time.Second, "Running", running)
	id := task.Status.ContainerID

	for i, action := range []string{"kill", "stop"} {
		if out, err := exec.Command("docker", action, id).CombinedOutput(); err != nil {
			t.Fatalf("docker %s: %v: %s", action, err, out)
		}
		c.waitTask("drift", 30*time.Second, "running again after docker "+action, func(t *v1.Task) bool {
			return running(t) && t.Status.RestartCount == int32(i+1)
		})
		waitFor(t, 10*time.Second, "one running container", func() bool { return runningContainers(t, task.Metadata.UID) == 1 })
	}
	if err := docker.ContainerRemove(ctx, id, container.RemoveOptions{Force: true}); err != nil {
		t.Fatal(err)
	}
	task = c.waitTask("drift", 30*time.Second, "a new container after docker rm", func(t *v1.Task) bool {
		return running(t) && t.Status.ContainerID != id
	})
	waitFor(t, 10*time.Second, "one running container", func() bool { return runningContainers(t, task.Metadata.UID) == 1 })

	// A stray: a container with this worker's and this cluster's labels
	// that no task owns. One with no cluster label may be another
	// cluster's (from before clusters had ids): it is left alone.
	cluster := inspect(t, task.Status.ContainerID).Config.Labels["io.minkube.cluster"]
	for _, stray := range []struct{ uid, cluster string }{{"stray-" + c.suffix, cluster}, {"unowned-" + c.suffix, ""}} {
		args := []string{"run", "-d", "--label", labelWorker + "=" + worker, "--label", "io.minkube.task.uid=" + stray.uid}
		if stray.cluster != "" {
			args = append(args, "--label", "io.minkube.cluster="+stray.cluster)
		}
		if out, err := exec.Command("docker", append(args, testImage, "log", "--every", "1s")...).CombinedOutput(); err != nil {
			t.Fatalf("docker run stray: %v: %s", err, out)
		}
	}
	waitFor(t, 30*time.Second, "stray removed", func() bool { return len(containersOf(t, "stray-"+c.suffix)) == 0 })
	if n := runningContainers(t, "unowned-"+c.suffix); n != 1 {
		t.Errorf("%d running containers with no cluster label; want it left running", n)
	}

	// An unchanged re-apply touches nothing; a changed spec replaces it.
	before := task.Status.ContainerID
	c.apply(taskYAML("drift", "  env: [{name: V, value: one}]\n", "log", "--every", "1s"))
	time.Sleep(2 * time.Second)
	if now, _ := c.task("drift"); now == nil || now.Status.ContainerID != before || now.Metadata.Generation != task.Metadata.Generation {
		t.Fatalf("unchanged re-apply changed the task: %+v", now)
	}
	c.apply(taskYAML("drift", "  env: [{name: V, value: two}]\n", "log", "--every", "1s"))
	task = c.waitTask("drift", 60*time.Second, "replaced for the new spec", func(t *v1.Task) bool {
		return running(t) && t.Status.ContainerID != before && t.Status.ObservedGeneration == t.Metadata.Generation
	})
	info, err := docker.ContainerInspect(ctx, task.Status.ContainerID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(info.Config.Env, " "), "V=two") {
		t.Errorf("new container env %v lacks V=two", info.Config.Env)
	}
	waitFor(t, 20*time.Second, "only the new container left", func() bool { return len(containersOf(t, task.Metadata.UID)) == 1 })
}

// TestWorkerRestartAdopts: a worker killed with SIGKILL and started again
// adopts its running containers: same IDs, same start times, no duplicates.
func TestWorkerRestartAdopts(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	worker := c.addWorker("w1")
	c.apply(taskYAML("a1", "", "log", "--every", "1s"), taskYAML("a2", "", "serve"))
	before := map[string]string{}
	started := map[string]string{}
	uids := map[string]string{}
	for _, name := range []string{"a1", "a2"} {
		task := c.waitTask(name, 60*time.Second, "Running", running)
		before[name], uids[name] = task.Status.ContainerID, task.Metadata.UID
		started[name] = inspectStarted(t, task.Status.ContainerID)
	}
	c.restartWorker(worker, true)
	c.waitWorkerReady(worker)
	time.Sleep(3 * time.Second) // a resync and a few relists
	for _, name := range []string{"a1", "a2"} {
		task := c.waitTask(name, 30*time.Second, "Running", running)
		if task.Status.ContainerID != before[name] || task.Status.RestartCount != 0 {
			t.Errorf("%s: container %s restarts %d, want the adopted %s and no restarts", name, task.Status.ContainerID, task.Status.RestartCount, before[name])
		}
		if got := inspectStarted(t, before[name]); got != started[name] {
			t.Errorf("%s: container restarted (started %s, was %s)", name, got, started[name])
		}
		if n := len(containersOf(t, uids[name])); n != 1 {
			t.Errorf("%s: %d containers, want 1", name, n)
		}
	}
}

// TestManagerRestart: while the manager is down (SIGKILL) workers keep
// their tasks and queue their reports; after the restart nothing is lost or
// restarted and statuses are current.
func TestManagerRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.apply(taskYAML("m1", "", "log", "--every", "1s"), taskYAML("m2", "", "serve"))
	m1 := c.waitTask("m1", 60*time.Second, "Running", running)
	m2 := c.waitTask("m2", 60*time.Second, "Running", running)
	c.manager.kill()
	// While the manager is away, a container is killed: the worker
	// restarts it and must report it later.
	if out, err := exec.Command("docker", "kill", m1.Status.ContainerID).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v: %s", err, out)
	}
	waitFor(t, 20*time.Second, "m1 running again without the manager", func() bool { return runningContainers(t, m1.Metadata.UID) == 1 })
	time.Sleep(time.Second)
	old := c.manager
	c.manager = c.start("manager", old.args...)
	c.manager.history = old.log.String() + "--- restarted ---\n"
	c.waitTask("m1", 30*time.Second, "the restart reported", func(t *v1.Task) bool { return running(t) && t.Status.RestartCount == 1 })
	got := c.waitTask("m2", 30*time.Second, "Running", running)
	if got.Status.ContainerID != m2.Status.ContainerID || got.Status.RestartCount != 0 || got.Metadata.UID != m2.Metadata.UID {
		t.Errorf("m2 changed across the manager restart: %+v", got.Status)
	}
	var list v1.TaskList
	if err := c.getJSON(&list, "get", "tasks"); err != nil || len(list.Items) != 2 {
		t.Fatalf("tasks after the restart: %v %d, want 2", err, len(list.Items))
	}
}

// TestWorkerLost: a frozen worker goes NotReady and its tasks Unknown
// (WorkerLost); after --reschedule-after they run elsewhere (policy Never:
// Failed). When it resumes, its first heartbeat stops its stale copies.
func TestWorkerLost(t *testing.T) {
	t.Parallel()
	c := newCluster(t, "--reschedule-after", "6s")
	w1 := c.addWorker("w1")
	c.apply(taskYAML("mover", "", "log", "--every", "1s"), taskYAML("once", "  restartPolicy: Never\n", "log", "--every", "1s"))
	mover := c.waitTask("mover", 60*time.Second, "Running", running)
	c.waitTask("once", 60*time.Second, "Running", running)
	w2 := c.addWorker("w2")

	c.workers[w1].signal(t, syscall.SIGSTOP)
	c.waitTask("mover", 30*time.Second, "Unknown/WorkerLost", func(t *v1.Task) bool {
		return t.Status.Phase == v1.PhaseUnknown && t.Status.Reason == v1.ReasonWorkerLost
	})
	var wk v1.Worker
	if err := c.getJSON(&wk, "get", "worker", w1); err != nil || wk.Status.Phase != v1.WorkerNotReady {
		t.Errorf("worker %s: %v phase %s, want NotReady", w1, err, wk.Status.Phase)
	}
	moved := c.waitTask("mover", 60*time.Second, "Running on the other worker", func(t *v1.Task) bool {
		return running(t) && t.Status.Worker == w2
	})
	if moved.Metadata.UID != mover.Metadata.UID {
		t.Errorf("the task was replaced, not moved")
	}
	c.waitTask("once", 30*time.Second, "Failed/WorkerLost", func(t *v1.Task) bool {
		return t.Status.Phase == v1.PhaseFailed && t.Status.Reason == v1.ReasonWorkerLost
	})
	c.waitEvent("mover", v1.ReasonWorkerLost)

	c.workers[w1].signal(t, syscall.SIGCONT)
	c.waitWorkerReady(w1)
	waitFor(t, 30*time.Second, "one running copy of mover", func() bool { return runningContainers(t, mover.Metadata.UID) == 1 })
	waitFor(t, 30*time.Second, "no running copy of the failed task", func() bool {
		once, err := c.task("once")
		return err == nil && runningContainers(t, once.Metadata.UID) == 0
	})
	if got, _ := c.task("mover"); got == nil || got.Status.Worker != w2 || !running(got) {
		t.Fatalf("mover after w1 came back: %+v", got)
	}
}
