package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestMkctl_KubectlHabits drives one real manager, with a manifests
// directory and one worker, through what a kubectl user reaches for:
// directory ownership kept by apply, contexts, jobs under apply --wait,
// worker labels and nodeSelector, logs flags, templates and versions.
func TestMkctl_KubectlHabits(t *testing.T) {
	t.Parallel()
	manifests := filepath.Join(t.TempDir(), "manifests")
	if err := os.MkdirAll(manifests, 0o755); err != nil {
		t.Fatal(err)
	}
	hello := mkctlTask("hello", "{app: hello}", "  env: [{name: MESSAGE, value: hi}]\n", "serve", "--port", "8080")
	if err := os.WriteFile(filepath.Join(manifests, "hello.yaml"), []byte(hello), 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, "--manifests-dir", manifests, "--manifests-settle", "100ms")
	w1 := c.addWorker("w1", "--labels", "zone=a")
	c.waitTask("hello", 60*time.Second, "Running", running)

	t.Run("apply keeps the directory's ownership", func(t *testing.T) {
		file := filepath.Join(manifests, "hello.yaml")
		if out := c.mkctl("apply", "-f", file); out != "task/hello unchanged\n" {
			t.Errorf("apply of the directory's file = %q, want unchanged", out)
		}
		if task, _ := c.task("hello"); task == nil || task.Metadata.Annotations[v1.AnnotationSource] != "hello.yaml" {
			t.Errorf("the source annotation is gone: %+v", task)
		}
		changed := c.writeFile("hello-changed.yaml", strings.Replace(hello, "value: hi", "value: bonjour", 1))
		errOut := c.mustMkctlFail("apply", "-f", changed)
		if !strings.Contains(errOut, `task "hello" is managed by the manifests directory (file hello.yaml)`) || !strings.Contains(errOut, "--force-conflicts") {
			t.Errorf("a change to a managed task: %q", errOut)
		}
		out, errOut, code := c.mkctlRaw("delete", "task", "hello")
		if code != 0 || out != "task/hello deleted\n" || !strings.Contains(errOut, "warning: task/hello comes from the manifests directory (file hello.yaml), which will create it again") {
			t.Errorf("delete of a managed task: exit %d, %q, %q", code, out, errOut)
		}
	})

	t.Run("contexts", func(t *testing.T) {
		run := func(args ...string) string {
			cmd := exec.Command(filepath.Join(binDir, "mkctl"), args...)
			cmd.Env = append(os.Environ(), "HOME="+c.home, "MINKUBE_SERVER=", "MINKUBE_TOKEN=", "MINKUBE_CONFIG=", "MINKUBE_CONTEXT=")
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Run(); err != nil {
				t.Fatalf("mkctl %v: %v: %s", args, err, errb.String())
			}
			return out.String()
		}
		// The manager added its cluster to the config in HOME: mkctl
		// works with no flags, and the token is not shown by default.
		if out := run("config", "get-contexts"); !regexp.MustCompile(`(?m)^CURRENT\s+NAME\s+CLUSTER\s+SERVERS\n\*\s+minkube\s+minkube\s+` + regexp.QuoteMeta(c.server) + `$`).MatchString(out) {
			t.Errorf("config get-contexts = %q", out)
		}
		if out := run("get", "workers", "-o", "name"); out != "worker/"+w1+"\n" {
			t.Errorf("get workers through the context = %q", out)
		}
		if view := run("config", "view"); strings.Contains(view, c.token) || !strings.Contains(view, "REDACTED") {
			t.Errorf("config view shows the token: %q", view)
		}
		if raw := run("config", "view", "--raw"); !strings.Contains(raw, c.token) {
			t.Errorf("config view --raw hides the token: %q", raw)
		}
	})

	t.Run("apply --wait on a job that fails", func(t *testing.T) {
		job := mkctlTask("job-fails", "", "  restartPolicy: Never\n", "exit", "--code", "4", "--after", "2s")
		out, errOut, code := c.mkctlStdin([]byte(job), "apply", "-f", "-", "--wait", "--timeout", "60s")
		if code != 1 || !strings.Contains(errOut, "error: task/job-fails Failed: exit code 4") {
			t.Errorf("apply --wait of a failing job: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	t.Run("label worker moves nodeSelector placement", func(t *testing.T) {
		c.mkctlApply(mkctlTask("picky", "", "  nodeSelector: {disk: ssd}\n", "serve", "--port", "8080"))
		c.waitTask("picky", 30*time.Second, "Unschedulable", func(t *v1.Task) bool { return t.Status.Reason == v1.ReasonUnschedulable })
		if out := c.mkctl("label", "worker", w1, "disk=ssd"); out != "worker/"+w1+" labeled\n" {
			t.Errorf("label printed %q", out)
		}
		c.waitTask("picky", 60*time.Second, "Running on "+w1, func(t *v1.Task) bool { return running(t) && t.Status.Worker == w1 })
		if errOut := c.mustMkctlFail("label", "worker", w1, "disk=hdd"); !strings.Contains(errOut, "already has label disk=ssd; use --overwrite") {
			t.Errorf("label without --overwrite: %q", errOut)
		}
		// The label survives a worker restart; its own --labels stay too.
		c.restartWorker(w1, false)
		c.waitWorkerReady(w1)
		var wk v1.Worker
		if err := c.getJSON(&wk, "get", "worker", w1); err != nil || wk.Metadata.Labels["disk"] != "ssd" || wk.Metadata.Labels["zone"] != "a" {
			t.Errorf("labels after a restart: %v, %v", wk.Metadata.Labels, err)
		}
	})

	t.Run("logs flags", func(t *testing.T) {
		c.mkctlApply(mkctlTask("crashy", "", "", "exit", "--code", "3", "--after", "300ms"))
		c.waitTask("crashy", 60*time.Second, "a restart", func(t *v1.Task) bool { return t.Status.RestartCount >= 1 && t.Status.Phase == v1.PhaseRunning })
		if out := c.mkctl("logs", "crashy", "--previous"); !strings.Contains(out, "exiting with code 3") {
			t.Errorf("logs --previous = %q", out)
		}
		out := c.mkctl("logs", "crashy", "--timestamps", "--tail", "1")
		if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z exiting with code 3 after 300ms\n$`).MatchString(out) {
			t.Errorf("logs --timestamps --tail 1 = %q", out)
		}
		if out := c.mkctl("logs", "crashy", "--since-time", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)); out != "" {
			t.Errorf("logs --since-time in the future = %q", out)
		}
		if errOut := c.mustMkctlFail("logs", "picky", "--previous"); !strings.Contains(errOut, "has not restarted") {
			t.Errorf("logs --previous of a task that never restarted: %q", errOut)
		}
	})

	t.Run("templates, short names and versions", func(t *testing.T) {
		if out := c.mkctl("get", "t", "picky", "-o", "jsonpath={.status.worker}"); out != w1 {
			t.Errorf("jsonpath = %q", out)
		}
		out := c.mkctl("get", "w", "-o", "custom-columns=NAME:.metadata.name,DISK:.metadata.labels.disk")
		if !regexp.MustCompile(`^NAME\s+DISK\n` + w1 + `\s+ssd\n$`).MatchString(out) {
			t.Errorf("custom-columns = %q", out)
		}
		var v struct{ ServerVersion v1.VersionInfo }
		if err := json.Unmarshal([]byte(c.mkctl("version", "-o", "json")), &v); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(filepath.Join(binDir, "minkube"), "version", "-o", "json")
		data, err := cmd.Output()
		var local v1.VersionInfo
		if err != nil || json.Unmarshal(data, &local) != nil || local != v.ServerVersion {
			t.Errorf("minkube version -o json = %s (%v); the manager says %+v", data, err, v.ServerVersion)
		}
	})
}
