package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	v1 "github.com/minkube/minkube/apis/v1"
)

// mkctlTask renders a Task manifest of the test image for the mkctl tests.
func mkctlTask(name, labels, extra string, args ...string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = strconv.Quote(a)
	}
	if labels == "" {
		labels = "{}"
	}
	return fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata:\n  name: %s\n  labels: %s\nspec:\n  image: %s\n  args: [%s]\n%s",
		name, labels, testImage, strings.Join(quoted, ", "), extra)
}

// mkctlApply applies the documents with mkctl apply -f -.
func (c *cluster) mkctlApply(docs ...string) {
	c.t.Helper()
	if out, errOut, code := c.mkctlStdin([]byte(strings.Join(docs, "---\n")), "apply", "-f", "-"); code != 0 {
		c.t.Fatalf("apply: exit %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

// mustMkctlFail runs mkctl, expects exit 1 and returns stderr, which must
// be "error: " lines (and the usage hint that follows a usage error) with
// no stack trace or raw JSON.
func (c *cluster) mustMkctlFail(args ...string) string {
	c.t.Helper()
	out, errOut, code := c.mkctlRaw(args...)
	if code != 1 {
		c.t.Fatalf("mkctl %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	checkErrorLines(c.t, args, errOut)
	return errOut
}

func checkErrorLines(t testing.TB, args []string, errOut string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(errOut, "\n"), "\n")
	for _, l := range lines {
		if !strings.HasPrefix(l, "error: ") && !strings.HasPrefix(l, "See 'mkctl") {
			t.Errorf("mkctl %s: stderr line %q is not an error line", strings.Join(args, " "), l)
		}
	}
	if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, `{"kind"`) {
		t.Errorf("mkctl %s: stderr has a stack trace or raw JSON: %q", strings.Join(args, " "), errOut)
	}
}

// bgMkctl is an mkctl run in the background (get -w, logs -f, wait)
// whose output lines are read as they come.
type bgMkctl struct {
	args   []string
	cmd    *exec.Cmd
	lines  chan string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

// Write collects stderr.
func (b *bgMkctl) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.Write(p)
}

func (b *bgMkctl) errOut() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stderr.String()
}

// startMkctl starts mkctl against the cluster; the test's end kills it if
// it still runs.
func (c *cluster) startMkctl(args ...string) *bgMkctl {
	c.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "mkctl"), args...)
	cmd.Env = append(os.Environ(), c.mkctlEnv()...)
	b := &bgMkctl{args: args, cmd: cmd, lines: make(chan string, 4096), done: make(chan struct{})}
	cmd.Stderr = b
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start mkctl %v: %v", args, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
		_ = cmd.Wait()
		close(b.done)
	}()
	c.t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-b.done
	})
	return b
}

// line returns the next line of output, or fails the test after timeout.
func (b *bgMkctl) line(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok {
			<-b.done
			t.Fatalf("mkctl %v ended (exit %d, stderr %q) while a line was expected", b.args, b.cmd.ProcessState.ExitCode(), b.errOut())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("mkctl %v: no line within %s (stderr %q)", b.args, timeout, b.errOut())
	}
	return ""
}

// lineMatching reads lines until one matches re, and returns it.
func (b *bgMkctl) lineMatching(t testing.TB, timeout time.Duration, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(timeout)
	var seen []string
	for {
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("mkctl %v: no line matching %s within %s; saw %q", b.args, re, timeout, seen)
		}
		select {
		case l, ok := <-b.lines:
			if !ok {
				<-b.done
				t.Fatalf("mkctl %v ended (stderr %q) before a line matching %s; saw %q", b.args, b.errOut(), re, seen)
			}
			if rx.MatchString(l) {
				return l
			}
			seen = append(seen, l)
		case <-time.After(left):
		}
	}
}

// exit waits for mkctl to end, after sending sig when it is not 0, and
// returns the output not yet read, stderr and the exit status.
func (b *bgMkctl) exit(t testing.TB, sig syscall.Signal, timeout time.Duration) (rest []string, errOut string, code int) {
	t.Helper()
	if sig != 0 {
		if err := b.cmd.Process.Signal(sig); err != nil {
			t.Fatalf("signal mkctl: %v", err)
		}
	}
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-b.lines:
			if ok {
				rest = append(rest, l)
				continue
			}
			<-b.done
			return rest, b.errOut(), b.cmd.ProcessState.ExitCode()
		case <-deadline:
			t.Fatalf("mkctl %v did not exit within %s (stderr %q)", b.args, timeout, b.errOut())
		}
	}
}

func cells(line string) string { return strings.Join(strings.Fields(line), " ") }

// TestMkctl_Tour drives one two-worker cluster through the everyday
// commands: apply --wait, get, a server dry run, wait, describe, logs,
// events, drain and delete.
func TestMkctl_Tour(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	w1 := c.addWorker("w1")
	w2 := c.addWorker("w2")
	web := mkctlTask("web", "{app: web, tier: front}", `  env: [{name: MESSAGE, value: hello}]
  ports: [{name: http, containerPort: 8080}]
  healthCheck:
    http: {path: /healthz, port: http}
    periodSeconds: 1
`, "serve", "--port", "8080")
	ticker := mkctlTask("ticker", "{app: ticker}", "", "log", "--every", "1s")
	manifest := c.writeFile("tour.yaml", web+"---\n"+ticker)

	t.Run("apply --wait", func(t *testing.T) {
		out := c.mkctl("apply", "-f", manifest, "--wait", "--timeout", "90s")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) < 3 || lines[0] != "task/web created" || lines[1] != "task/ticker created" || lines[len(lines)-1] != "2/2 Running" {
			t.Fatalf("apply --wait printed %q; want the two results, then progress ending in 2/2 Running", out)
		}
		for _, l := range lines[2:] {
			if !regexp.MustCompile(`^[0-2]/2 Running$`).MatchString(l) {
				t.Errorf("progress line %q (piped output has plain lines)", l)
			}
		}
		for _, name := range []string{"web", "ticker"} {
			if task, err := c.task(name); err != nil || task.Status.Phase != v1.PhaseRunning {
				t.Errorf("task %s after apply --wait: %v %+v", name, err, task)
			}
		}
	})

	t.Run("get", func(t *testing.T) {
		out := c.mkctl("get", "tasks", "-l", "tier=front", "--no-headers", "-o", "wide")
		if f := strings.Fields(out); len(f) != 8 || f[0] != "web" || f[1] != "Running" || !strings.HasSuffix(f[6], "->8080/TCP") {
			t.Errorf("get -l tier=front -o wide --no-headers = %q", out)
		}
		if out := c.mkctl("get", "tasks", "-l", "app in (web,ticker),tier!=front", "-o", "name"); out != "task/ticker\n" {
			t.Errorf("get with a set selector = %q, want task/ticker", out)
		}
		out = c.mkctl("get", "tasks")
		if !regexp.MustCompile(`(?m)^NAME\s+PHASE\s+WORKER\s+RESTARTS\s+AGE\n`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^ticker\s+Running\s+\S+\s+0\s+\d+s$`).MatchString(out) {
			t.Errorf("get tasks = %q", out)
		}
		out = c.mkctl("get", "workers", "-o", "name")
		if out != "worker/"+w1+"\nworker/"+w2+"\n" {
			t.Errorf("get workers -o name = %q", out)
		}
	})

	t.Run("apply --dry-run=server", func(t *testing.T) {
		before, err := c.task("web")
		if err != nil {
			t.Fatal(err)
		}
		changed := c.writeFile("web-changed.yaml", strings.Replace(web, "value: hello", "value: bonjour", 1))
		out := c.mkctl("apply", "-f", changed, "--dry-run=server")
		want := "task/web configured (server dry run)\n  spec.env[0].value: \"hello\" -> \"bonjour\"\n"
		if out != want {
			t.Errorf("dry run printed %q, want %q", out, want)
		}
		after, err := c.task("web")
		if err != nil {
			t.Fatal(err)
		}
		if after.Metadata.Generation != before.Metadata.Generation || after.Spec.Env[0].Value != "hello" {
			t.Errorf("the dry run changed the task: generation %d -> %d, env %v", before.Metadata.Generation, after.Metadata.Generation, after.Spec.Env)
		}
	})

	t.Run("wait", func(t *testing.T) {
		if out := c.mkctl("wait", "task/web", "--for=condition=Ready", "--timeout", "60s"); out != "task/web condition met\n" {
			t.Errorf("wait for Ready printed %q", out)
		}
		if out := c.mkctl("wait", "task/web", "task/ticker", "--for=phase=Running"); out != "task/web condition met\ntask/ticker condition met\n" {
			t.Errorf("wait for Running printed %q", out)
		}
	})

	t.Run("describe", func(t *testing.T) {
		task, err := c.task("web")
		if err != nil {
			t.Fatal(err)
		}
		out := c.mkctl("describe", "task", "web")
		for _, re := range []string{
			`(?m)^Name:\s+web$`,
			`(?m)^Phase:\s+Running$`,
			`(?m)^Worker:\s+` + task.Status.Worker + ` \(127\.0\.0\.1\)$`,
			`(?m)^Ports:\s+http 8080/TCP -> 127\.0\.0\.1:\d+$`,
			`(?m)^Health Check:\s+http GET /healthz on port http every 1s`,
			`(?m)^  Ready\s+True\s+`,
			`(?m)^Events:\n  Type\s+Reason\s+Age\s+From\s+Message$`,
			`(?m)^  Normal\s+Scheduled\s+\d+s\s+scheduler\s+assigned to worker ` + task.Status.Worker + `$`,
			`(?m)^  Normal\s+Started\s+\d+s\s+manager\s+started container [0-9a-f]{12} on worker ` + task.Status.Worker + `$`,
		} {
			if !regexp.MustCompile(re).MatchString(out) {
				t.Errorf("describe task web does not match %s:\n%s", re, out)
			}
		}
		out = c.mkctl("describe", "worker", task.Status.Worker)
		if !regexp.MustCompile(`(?m)^Tasks \(\d\):\n  Name\s+Phase\s+Restarts\s+Age\n  -+.*\n(  .*\n)*  web\s+Running\s+0\s+\d+s$`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^Status:\s+Ready$`).MatchString(out) {
			t.Errorf("describe worker does not list web:\n%s", out)
		}
	})

	t.Run("logs and events", func(t *testing.T) {
		c.waitTask("ticker", 30*time.Second, "two lines written", func(t *v1.Task) bool {
			return t.Status.StartedAt != nil && time.Since(*t.Status.StartedAt) > 2500*time.Millisecond
		})
		out := c.mkctl("logs", "ticker", "--tail", "2")
		if !regexp.MustCompile(`^line \d+\nline \d+\n$`).MatchString(out) {
			t.Errorf("logs --tail 2 = %q, want two numbered lines", out)
		}
		out = c.mkctl("get", "events", "--task", "web")
		if !regexp.MustCompile(`(?m)^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n`).MatchString(out) ||
			!regexp.MustCompile(`(?m)^\d+s\s+Normal\s+Scheduled\s+task/web\s+assigned to worker `).MatchString(out) ||
			strings.Contains(out, "task/ticker") {
			t.Errorf("get events --task web = %q", out)
		}
	})

	t.Run("drain", func(t *testing.T) {
		task, err := c.task("web")
		if err != nil {
			t.Fatal(err)
		}
		from, to := task.Status.Worker, w1
		if from == w1 {
			to = w2
		}
		out := c.mkctl("drain", from, "--timeout", "60s")
		for _, want := range []string{
			"worker/" + from + " cordoned\n",
			"moving task/web off worker " + from + "\n",
			"task/web placed on worker " + to + "\n",
			"worker/" + from + " drained\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("drain printed %q; it lacks %q", out, want)
			}
		}
		moved := c.waitTask("web", 60*time.Second, "Running on "+to, func(t *v1.Task) bool { return running(t) && t.Status.Worker == to })
		if moved.Metadata.UID != task.Metadata.UID {
			t.Errorf("drain replaced the task (uid %s -> %s) instead of moving it", task.Metadata.UID, moved.Metadata.UID)
		}
		waitFor(t, 30*time.Second, "the copy on "+from+" to stop", func() bool {
			return runningOn(t, task.Metadata.UID, from) == 0 && runningOn(t, task.Metadata.UID, to) == 1
		})
		if out := c.mkctl("get", "workers", from, "--no-headers"); !strings.Contains(out, "Ready,SchedulingDisabled") {
			t.Errorf("drained worker: %q", out)
		}
		if out := c.mkctl("uncordon", from); out != "worker/"+from+" uncordoned\n" {
			t.Errorf("uncordon printed %q", out)
		}
		if out := c.mkctl("cordon", to); out != "worker/"+to+" cordoned\n" {
			t.Errorf("cordon printed %q", out)
		}
		if out := c.mkctl("cordon", to); out != "worker/"+to+" already cordoned\n" {
			t.Errorf("cordon again printed %q", out)
		}
		c.mkctl("uncordon", to)
	})

	t.Run("delete", func(t *testing.T) {
		task, err := c.task("web")
		if err != nil {
			t.Fatal(err)
		}
		if out := c.mkctl("delete", "task", "web", "--wait", "--timeout", "60s"); out != "task/web deleted\n" {
			t.Errorf("delete --wait printed %q", out)
		}
		// --wait returned once the task was gone, and it goes only once
		// its container has stopped.
		if errOut := c.mustMkctlFail("get", "task", "web"); errOut != "error: task \"web\" not found\n" {
			t.Errorf("get after delete --wait: %q", errOut)
		}
		if n := runningContainers(t, task.Metadata.UID); n != 0 {
			t.Errorf("%d containers of web still running after delete --wait", n)
		}
		if out := c.mkctl("delete", "tasks", "-l", "app=ticker", "--wait"); out != "task/ticker deleted\n" {
			t.Errorf("delete -l printed %q", out)
		}
		out, errOut, code := c.mkctlRaw("get", "tasks")
		if code != 0 || out != "" || errOut != "No tasks found.\n" {
			t.Errorf("get tasks at the end: exit %d, %q, %q", code, out, errOut)
		}
	})
}

// runningOn counts the running containers of a task on one worker.
func runningOn(t testing.TB, uid, worker string) int {
	t.Helper()
	list, err := docker.ContainerList(context.Background(), container.ListOptions{
		Filters: filters.NewArgs(filters.Arg("label", "io.minkube.task.uid="+uid), filters.Arg("label", labelWorker+"="+worker)),
	})
	if err != nil {
		t.Fatalf("list containers: %v", err)
	}
	return len(list)
}

// TestMkctl_Wait checks every kind of wait against real tasks: met, met
// later, a timeout, and a terminal phase that can never meet the
// condition.
func TestMkctl_Wait(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.mkctlApply(
		mkctlTask("runs", "", "", "log", "--every", "1s"),
		mkctlTask("fails", "", "  restartPolicy: Never\n", "exit", "--code", "1", "--after", "0s"),
	)

	// Started before the task ends: the wait sees it end Failed.
	pending := c.startMkctl("wait", "task/fails", "--for=phase=Succeeded", "--timeout", "60s")
	if out := c.mkctl("wait", "task/runs", "--for=phase=Running", "--timeout", "60s"); out != "task/runs condition met\n" {
		t.Errorf("wait for Running printed %q", out)
	}
	if out := c.mkctl("wait", "task/runs", "--for=condition=Ready"); out != "task/runs condition met\n" {
		t.Errorf("wait for Ready printed %q", out)
	}
	_, errOut, code := pending.exit(t, 0, 60*time.Second)
	if code != 1 || !regexp.MustCompile(`^error: task/fails is Failed and can never be Succeeded \(exit code 1.*\)\n$`).MatchString(errOut) {
		t.Errorf("wait for Succeeded of a failing task: exit %d, stderr %q", code, errOut)
	}
	checkErrorLines(t, pending.args, errOut)

	tests := []struct {
		name string
		args []string
		want string // a regexp of stderr
	}{
		{
			name: "terminal phase, at once",
			args: []string{"wait", "task/fails", "--for=phase=Running"},
			want: `^error: task/fails is Failed and can never be Running \(exit code 1; Error: .+\)\n$`,
		},
		{
			name: "terminal phase, condition",
			args: []string{"wait", "task/fails", "--for=condition=Ready"},
			want: `^error: task/fails is Failed and can never have Ready=True \(exit code 1; Error: .+\)\n$`,
		},
		{
			name: "timeout",
			args: []string{"wait", "task/runs", "--for=phase=Succeeded", "--timeout", "2s"},
			want: `^error: timed out after 2s waiting for task/runs to be Succeeded: it is Running on worker w1-[0-9a-f]+\n$`,
		},
		{
			name: "unknown task",
			args: []string{"wait", "task/nope", "--for=condition=Ready"},
			want: `^error: task "nope" not found\n$`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errOut := c.mustMkctlFail(tt.args...)
			if !regexp.MustCompile(tt.want).MatchString(errOut) {
				t.Errorf("stderr %q does not match %s", errOut, tt.want)
			}
		})
	}

	t.Run("delete", func(t *testing.T) {
		w := c.startMkctl("wait", "task/runs", "--for=delete", "--timeout", "60s")
		c.mkctl("delete", "task", "runs")
		rest, errOut, code := w.exit(t, 0, 60*time.Second)
		if code != 0 || strings.Join(rest, "\n") != "task/runs deleted" || errOut != "" {
			t.Errorf("wait for delete: exit %d, stdout %q, stderr %q", code, rest, errOut)
		}
	})

	t.Run("apply --wait of a task that cannot start", func(t *testing.T) {
		// No registry is reachable: the image cannot be pulled, and the
		// task never runs.
		path := c.writeFile("badimage.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: badimage}\nspec: {image: minkube.invalid/nope:1}\n")
		out, errOut, code := c.mkctlRaw("apply", "-f", path, "--wait", "--timeout", "5s")
		if code != 1 || !strings.HasPrefix(out, "task/badimage created\n") || !strings.HasSuffix(out, "0/1 Running\n") ||
			!regexp.MustCompile(`^error: timed out after 5s waiting for task/badimage to be Running: it is (Pending|Scheduled)\b.*\n$`).MatchString(errOut) {
			t.Errorf("exit %d\nstdout %q\nstderr %q", code, out, errOut)
		}
	})
}

// TestMkctl_LogsFollow follows a task that writes a line a second until
// interrupted, and one that exits until it does.
func TestMkctl_LogsFollow(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	c.mkctlApply(
		mkctlTask("ticker", "", "", "log", "--every", "1s"),
		mkctlTask("brief", "", "  restartPolicy: Never\n", "exit", "--code", "0", "--after", "4s"),
	)
	c.mkctl("wait", "task/ticker", "task/brief", "--for=phase=Running", "--timeout", "60s")

	f := c.startMkctl("logs", "ticker", "-f", "--tail", "1")
	var nums []int
	for len(nums) < 4 {
		l := f.line(t, 10*time.Second)
		var n int
		if _, err := fmt.Sscanf(l, "line %d", &n); err != nil {
			t.Fatalf("logs -f printed %q, want numbered lines", l)
		}
		nums = append(nums, n)
	}
	for i := 1; i < len(nums); i++ {
		if nums[i] != nums[i-1]+1 {
			t.Errorf("logs -f lines %v do not follow one another", nums)
		}
	}
	if _, errOut, code := f.exit(t, syscall.SIGINT, 10*time.Second); code != 0 || errOut != "" {
		t.Errorf("logs -f after Ctrl-C: exit %d, stderr %q; want 0 and nothing", code, errOut)
	}

	// -f ends by itself when the container stops.
	b := c.startMkctl("logs", "brief", "-f")
	rest, errOut, code := b.exit(t, 0, 30*time.Second)
	if code != 0 || errOut != "" || len(rest) != 1 || rest[0] != "exiting with code 0 after 4s" {
		t.Errorf("logs -f of a task that exits: exit %d, stdout %q, stderr %q", code, rest, errOut)
	}
}

// TestMkctl_WatchAcrossRestart keeps get -w open from an empty cluster on,
// while the manager is stopped and started again: the watch resumes and
// shows what changed after the restart, without printing the table again.
func TestMkctl_WatchAcrossRestart(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")

	w := c.startMkctl("get", "tasks", "-w")
	if got := cells(w.line(t, 20*time.Second)); got != "NAME PHASE WORKER RESTARTS AGE" {
		t.Fatalf("header %q", got)
	}
	c.mkctl("apply", "-f", c.writeFile("before.yaml", mkctlTask("before", "", "", "log", "--every", "1s")))
	w.lineMatching(t, 60*time.Second, `^before\s+Running\s+`)

	c.restartManager(false)

	c.mkctl("apply", "-f", c.writeFile("after.yaml", mkctlTask("after", "", "", "log", "--every", "1s")))
	w.lineMatching(t, 60*time.Second, `^after\s+Running\s+`)
	c.mkctl("delete", "task", "before")
	w.lineMatching(t, 60*time.Second, `^before\s+Deleted\s+`)

	rest, errOut, code := w.exit(t, syscall.SIGINT, 10*time.Second)
	if code != 0 || errOut != "" {
		t.Errorf("get -w after Ctrl-C: exit %d, stderr %q", code, errOut)
	}
	for _, l := range rest {
		if strings.HasPrefix(l, "NAME") {
			t.Errorf("the table was printed again: %q", rest)
		}
	}
}

// TestMkctl_Errors checks that every kind of mistake ends in one clear
// error line and exit 1.
func TestMkctl_Errors(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.addWorker("w1")
	closed := freeAddr(t)
	tests := []struct {
		name string
		args []string
		env  []string
		want string // the whole of stderr
	}{
		{name: "unreachable, flag", args: []string{"get", "tasks", "--server", closed},
			want: "error: cannot reach the manager at https://" + closed + " (from --server): connection refused\n"},
		{name: "unreachable, environment", args: []string{"describe", "task", "web"}, env: []string{"MINKUBE_SERVER=" + closed},
			want: "error: cannot reach the manager at https://" + closed + " (from $MINKUBE_SERVER): connection refused\n"},
		{name: "unreachable, watch", args: []string{"get", "tasks", "-w", "--server", closed},
			want: "error: cannot reach the manager at https://" + closed + " (from --server): connection refused\n"},
		{name: "bad token", args: []string{"logs", "web", "--token", "wrong"},
			want: "error: the manager at " + c.server + " rejected the token (invalid bearer token); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n"},
		{name: "bad token, drain", args: []string{"drain", "w1", "--token", "wrong"},
			want: "error: the manager at " + c.server + " rejected the token (invalid bearer token); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n"},
		{name: "unknown task, get", args: []string{"get", "task", "nope"}, want: "error: task \"nope\" not found\n"},
		{name: "unknown task, describe", args: []string{"describe", "task", "nope"}, want: "error: task \"nope\" not found\n"},
		{name: "unknown task, logs", args: []string{"logs", "nope", "-f"}, want: "error: task \"nope\" not found\n"},
		{name: "unknown task, delete", args: []string{"delete", "task", "nope", "--wait"}, want: "error: task \"nope\" not found\n"},
		{name: "unknown worker, drain", args: []string{"drain", "nope"}, want: "error: worker \"nope\" not found\n"},
		{name: "unknown worker, cordon", args: []string{"cordon", "nope"}, want: "error: worker \"nope\" not found\n"},
		{name: "unknown flag", args: []string{"get", "tasks", "--bogus"}, want: "error: unknown flag: --bogus\nSee 'mkctl get --help' for usage.\n"},
		{name: "unknown command", args: []string{"drian", "w1"}, want: "error: unknown command \"drian\" for \"mkctl\"; did you mean \"drain\"?\nSee 'mkctl --help' for usage.\n"},
		{name: "bad selector, get", args: []string{"get", "tasks", "-l", "app in (web"},
			want: "error: bad label selector (-l) \"app in (web\": unable to parse requirement: found '', expected: ',' or ')'\n"},
		{name: "bad selector, delete", args: []string{"delete", "tasks", "-l", "=web"},
			want: "error: bad label selector (-l) \"=web\": found '=', expected: !, identifier, or 'end of string'\n"},
		{name: "bad condition", args: []string{"wait", "task/web", "--for=ready"},
			want: "error: --for=ready: use phase=PHASE, condition=TYPE[=True|False] or delete\nSee 'mkctl wait --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(binDir, "mkctl"), tt.args...)
			cmd.Env = append(os.Environ(), c.mkctlEnv()...)
			cmd.Env = append(cmd.Env, tt.env...)
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 1 || errOut.String() != tt.want || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, %q", code, out.String(), errOut.String(), tt.want)
			}
		})
	}
}

// TestMkctl_ApplyMany applies more Tasks than one request carries against
// a real manager: every document's line comes in document order; a
// re-apply says which changed; a Task the manifests directory manages is
// refused alone, named with the way out, while the others are applied;
// --force-conflicts takes it.
func TestMkctl_ApplyMany(t *testing.T) {
	t.Parallel()
	c := newCluster(t) // no worker: the Tasks stay Pending
	const n = 600      // more than one request's 250
	const managed = 123
	manifest := func(changed map[int]string) string {
		docs := make([]string, n)
		for i := range docs {
			image := testImage
			if img, ok := changed[i]; ok {
				image = img
			}
			meta := fmt.Sprintf("{name: many-%03d, labels: {app: many}}", i)
			if i == managed {
				meta = fmt.Sprintf("{name: many-%03d, labels: {app: many}, annotations: {%s: dir/many.yaml}}", i, v1.AnnotationSource)
			}
			docs[i] = fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata: %s\nspec:\n  image: %s\n", meta, image)
		}
		return strings.Join(docs, "---\n")
	}
	lines := func(out string, word func(i int) string) {
		t.Helper()
		got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if len(got) != n {
			t.Fatalf("%d lines for %d documents:\n%s", len(got), n, out)
		}
		for i, line := range got {
			if want := fmt.Sprintf("task/many-%03d %s", i, word(i)); line != want {
				t.Fatalf("line %d = %q, want %q", i, line, want)
			}
		}
	}

	lines(c.mkctl("apply", "-f", c.writeFile("many.yaml", manifest(nil))), func(int) string { return "created" })
	var list v1.TaskList
	if err := c.getJSON(&list, "get", "tasks", "-l", "app=many"); err != nil || len(list.Items) != n {
		t.Fatalf("after the apply: %d tasks, %v; want %d", len(list.Items), err, n)
	}

	changed := map[int]string{5: "minkube/testapp:other", managed: "minkube/testapp:other", n - 1: "minkube/testapp:other"}
	file := c.writeFile("many-changed.yaml", manifest(changed))
	out, errOut, code := c.mkctlRaw("apply", "-f", file)
	if code == 0 {
		t.Errorf("an apply with a refused document exited 0")
	}
	wantErr := fmt.Sprintf("task \"many-%03d\" is managed by the manifests directory (file dir/many.yaml)", managed)
	if !strings.Contains(errOut, wantErr) || !strings.Contains(errOut, "--force-conflicts") || strings.Count(errOut, "error:") != 1 {
		t.Errorf("stderr = %q, want one error saying %q and the way out", errOut, wantErr)
	}
	// The refused document prints no line of its own on stdout.
	want := make([]string, 0, n-1)
	for i := range n {
		switch {
		case i == managed:
		case changed[i] != "":
			want = append(want, fmt.Sprintf("task/many-%03d configured", i))
		default:
			want = append(want, fmt.Sprintf("task/many-%03d unchanged", i))
		}
	}
	if out != strings.Join(want, "\n")+"\n" {
		t.Errorf("stdout of the re-apply is not one line per applied document in order:\n%s", out)
	}
	for i, image := range map[int]string{5: "minkube/testapp:other", managed: testImage, n - 1: "minkube/testapp:other", 6: testImage} {
		task, err := c.task(fmt.Sprintf("many-%03d", i))
		if err != nil || task.Spec.Image != image {
			t.Errorf("many-%03d: %v, %v; want image %s", i, task, err, image)
		}
	}

	lines(c.mkctl("apply", "-f", file, "--force-conflicts"), func(i int) string {
		if i == managed {
			return "configured"
		}
		return "unchanged"
	})
	if task, err := c.task(fmt.Sprintf("many-%03d", managed)); err != nil || task.Spec.Image != "minkube/testapp:other" || task.Metadata.Annotations[v1.AnnotationSource] != "" {
		t.Errorf("after --force-conflicts: %+v, %v; want the new image and no source annotation", task, err)
	}
}
