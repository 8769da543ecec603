package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TestApplyRunDelete walks the core loop: a manifest applied with mkctl
// becomes a container with the right labels, env, port and limits; the
// task shows Running; deleting it removes the container.
func TestApplyRunDelete(t *testing.T) {
	c := newCluster(t)
	worker := c.addWorker("w1")
	port := freePort(t)
	path := c.writeFile("web.yaml", fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata:
  name: web
  labels: {app: web}
spec:
  image: %s
  args: ["serve", "--port", "8080"]
  env:
    - {name: MESSAGE, value: hello-e2e}
  ports:
    - {name: http, containerPort: 8080, hostPort: %d}
  resources: {cpu: 250m, memory: 64Mi}
`, testImage, port))
	if out := c.mkctl("apply", "-f", path); strings.TrimSpace(out) != "task/web created" {
		t.Fatalf("apply printed %q, want task/web created", out)
	}
	task := c.waitTask("web", 60*time.Second, "phase Running", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning })
	if task.Status.Worker != worker || task.Status.ContainerID == "" || task.Status.HostIP != "127.0.0.1" {
		t.Fatalf("status = %+v, want worker %s, a container and host 127.0.0.1", task.Status, worker)
	}
	if len(task.Status.Ports) != 1 || task.Status.Ports[0].HostPort != int32(port) {
		t.Fatalf("status.ports = %+v, want host port %d", task.Status.Ports, port)
	}

	cts := containersOf(t, task.Metadata.UID)
	if len(cts) != 1 {
		t.Fatalf("%d containers for the task, want 1", len(cts))
	}
	info, err := docker.ContainerInspect(context.Background(), cts[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != task.Status.ContainerID {
		t.Errorf("status.containerID %s, engine has %s", task.Status.ContainerID, info.ID)
	}
	wantLabels := map[string]string{
		"io.minkube.task.uid":  task.Metadata.UID,
		"io.minkube.task.name": "web",
		"io.minkube.spec-hash": task.Spec.Hash(),
		labelWorker:            worker,
	}
	for k, v := range wantLabels {
		if got := info.Config.Labels[k]; got != v {
			t.Errorf("label %s = %q, want %q", k, got, v)
		}
	}
	if !slices.Contains(info.Config.Env, "MESSAGE=hello-e2e") {
		t.Errorf("env %v lacks MESSAGE=hello-e2e", info.Config.Env)
	}
	if info.HostConfig.NanoCPUs != 250_000_000 || info.HostConfig.Memory != 64<<20 {
		t.Errorf("limits: NanoCPUs %d Memory %d, want 250000000 and %d", info.HostConfig.NanoCPUs, info.HostConfig.Memory, 64<<20)
	}
	bindings := info.HostConfig.PortBindings["8080/tcp"]
	if len(bindings) != 1 || bindings[0].HostIP != "127.0.0.1" || bindings[0].HostPort != fmt.Sprint(port) {
		t.Errorf("port bindings %+v, want 127.0.0.1:%d", bindings, port)
	}
	body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if !strings.Contains(body, "hello-e2e") {
		t.Errorf("GET / = %q, want the MESSAGE env in it", body)
	}

	// Re-applying the same file changes nothing.
	if out := c.mkctl("apply", "-f", path); strings.TrimSpace(out) != "task/web unchanged" {
		t.Fatalf("second apply printed %q, want task/web unchanged", out)
	}

	if out := c.mkctl("delete", "task", "web"); !strings.Contains(out, "task/web deleted") {
		t.Fatalf("delete printed %q", out)
	}
	waitFor(t, 30*time.Second, "container removed", func() bool { return len(containersOf(t, task.Metadata.UID)) == 0 })
	waitFor(t, 30*time.Second, "task gone", func() bool {
		_, errOut, code := c.mkctlRaw("get", "task", "web")
		return code == 1 && strings.Contains(errOut, "not found")
	})
}

// TestRoundRobinTwoWorkers applies four tasks to two workers: two land on
// each.
func TestRoundRobinTwoWorkers(t *testing.T) {
	c := newCluster(t)
	w1 := c.addWorker("w1")
	w2 := c.addWorker("w2")
	var docs []string
	for i := range 4 {
		docs = append(docs, fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata: {name: rr-%d}
spec:
  image: %s
  args: ["log", "--every", "1s"]
`, i, testImage))
	}
	c.mkctl("apply", "-f", c.writeFile("rr.yaml", strings.Join(docs, "---\n")))
	perWorker := map[string][]string{}
	for i := range 4 {
		name := fmt.Sprintf("rr-%d", i)
		task := c.waitTask(name, 60*time.Second, "phase Running", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning })
		perWorker[task.Status.Worker] = append(perWorker[task.Status.Worker], name)
	}
	if len(perWorker[w1]) != 2 || len(perWorker[w2]) != 2 {
		t.Fatalf("placement %v, want two tasks on each of %s and %s", perWorker, w1, w2)
	}
	out := c.mkctl("get", "workers")
	for _, w := range []string{w1, w2} {
		if !strings.Contains(out, w) {
			t.Errorf("get workers lacks %s:\n%s", w, out)
		}
	}
}

// TestBadImage: a task whose image cannot be pulled ends with reason
// ErrImagePull (or ImagePullBackOff) naming the image, and the worker
// keeps serving the others.
func TestBadImage(t *testing.T) {
	c := newCluster(t)
	c.addWorker("w1")
	c.mkctl("apply", "-f", c.writeFile("tasks.yaml", fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata: {name: bad}
spec: {image: "minkube-e2e/no-such-image:1"}
---
apiVersion: minkube.io/v1
kind: Task
metadata: {name: good}
spec:
  image: %s
  args: ["log", "--every", "1s"]
`, testImage)))
	bad := c.waitTask("bad", 90*time.Second, "reason ErrImagePull", func(t *v1.Task) bool {
		return t.Status.Reason == v1.ReasonErrImagePull || t.Status.Reason == v1.ReasonImagePullBackOff
	})
	if !strings.Contains(bad.Status.Message, "minkube-e2e/no-such-image:1") {
		t.Errorf("message %q does not name the image", bad.Status.Message)
	}
	if bad.Status.Phase != v1.PhaseScheduled {
		t.Errorf("phase %s, want Scheduled while the image cannot be pulled", bad.Status.Phase)
	}
	c.waitTask("good", 60*time.Second, "phase Running", func(t *v1.Task) bool { return t.Status.Phase == v1.PhaseRunning })
}

// TestBadInput feeds broken manifests to mkctl apply: each exits 1 with a
// message naming the file, document and field, and nothing stored changes.
func TestBadInput(t *testing.T) {
	c := newCluster(t)
	c.mkctl("apply", "-f", c.writeFile("keep.yaml", fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata: {name: keep}
spec: {image: %s}
`, testImage)))
	before := c.mkctl("get", "tasks", "-o", "json")

	good := "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: fresh}\nspec: {image: " + testImage + "}\n"
	cases := []struct {
		name, content string
		want          []string // fragments of stderr
	}{
		{"unknown-field.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec: {image: x, imagePolicy: y}\n",
			[]string{"unknown-field.yaml: document 1", "spec.imagePolicy"}},
		{"bad-name.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: Web_1}\nspec: {image: x}\n",
			[]string{"bad-name.yaml: document 1", "metadata.name"}},
		{"no-image.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec: {}\n",
			[]string{"no-image.yaml: document 1", "spec.image", "required"}},
		{"port-0.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec: {image: x, ports: [{containerPort: 0}]}\n",
			[]string{"port-0.yaml: document 1", "spec.ports[0].containerPort"}},
		{"port-70000.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec: {image: x, ports: [{containerPort: 70000}]}\n",
			[]string{"port-70000.yaml: document 1", "spec.ports[0].containerPort"}},
		{"bad-quantity.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec: {image: x, resources: {memory: lots}}\n",
			[]string{"bad-quantity.yaml: document 1", "spec.resources.memory"}},
		{"duplicate-key.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: a}\nspec:\n  image: x\n  image: y\n",
			[]string{"duplicate-key.yaml: document 1", "image"}},
		{"wrong-kind.yaml", good + "---\napiVersion: minkube.io/v1\nkind: Pod\nmetadata: {name: b}\nspec: {image: x}\n",
			[]string{"wrong-kind.yaml: document 2", "kind"}},
		{"empty.yaml", "", []string{"empty.yaml"}},
		{"not-yaml.yaml", "this: is: not: yaml: [\n", []string{"not-yaml.yaml"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := c.writeFile(filepath.Join("bad", tc.name), tc.content)
			out, errOut, code := c.mkctlRaw("apply", "-f", path)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if !strings.HasPrefix(errOut, "error: ") || strings.Contains(errOut, "goroutine") {
				t.Errorf("stderr is not a clean error line: %q", errOut)
			}
		})
	}
	t.Run("5MiB", func(t *testing.T) {
		path := filepath.Join(c.dir, "huge.yaml")
		big := good + "# " + strings.Repeat("x", 5<<20) + "\n"
		if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := c.mkctlRaw("apply", "-f", path)
		if code != 1 || !strings.Contains(errOut, "huge.yaml") {
			t.Fatalf("exit %d stderr %q, want 1 naming huge.yaml", code, errOut)
		}
	})
	t.Run("all-or-nothing", func(t *testing.T) {
		dir := filepath.Join(c.dir, "mixed")
		c.writeFile("mixed/a.yaml", good)
		c.writeFile("mixed/b.yaml", "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: b}\nspec: {image: x, ports: [{containerPort: 0}]}\n")
		_, errOut, code := c.mkctlRaw("apply", "-f", dir)
		if code != 1 || !strings.Contains(errOut, "b.yaml: document 1 (Task \"b\"): spec.ports[0].containerPort") {
			t.Fatalf("exit %d stderr %q", code, errOut)
		}
	})
	if after := c.mkctl("get", "tasks", "-o", "json"); stripVolatile(after) != stripVolatile(before) {
		t.Fatalf("the store changed after bad input:\nbefore %s\nafter %s", before, after)
	}

	t.Run("no-token", func(t *testing.T) {
		resp, err := c.httpClient().Get(c.server + "/api/v1/tasks")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), `"reason":"Unauthorized"`) {
			t.Fatalf("status %d body %s, want 401 Unauthorized", resp.StatusCode, body)
		}
	})
	t.Run("malformed-json", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, c.server+"/api/v1/tasks/x", strings.NewReader(`{"metadata": {`))
		req.Header.Set("Authorization", "Bearer "+c.token)
		resp, err := c.httpClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `"reason":"BadRequest"`) ||
			!strings.Contains(string(body), "malformed") {
			t.Fatalf("status %d body %s, want 400 BadRequest with a message", resp.StatusCode, body)
		}
	})
}

// stripVolatile drops what moves with no change to the stored tasks: the
// list's revision.
func stripVolatile(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		if !strings.Contains(l, `"resourceVersion"`) || strings.Contains(l, "metadata") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	var body string
	waitFor(t, 15*time.Second, "GET "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	return body
}
