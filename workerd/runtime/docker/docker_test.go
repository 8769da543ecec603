package docker_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/docker"
)

// These tests run against the real Docker engine and the image built by
// `make images` (hack/images.sh). MINKUBE_TEST_IMAGE names another image;
// MINKUBE_SKIP_DOCKER=1 skips them on machines without an engine.

const (
	labelTest = "io.minkube.test"
	labelRun  = "io.minkube.test.run"
)

func testImage() string {
	if img := os.Getenv("MINKUBE_TEST_IMAGE"); img != "" {
		return img
	}
	return "minkube/testapp:dev"
}

// mustRuntime returns a Runtime on the local engine, failing the test when
// the engine or the test image is missing.
func mustRuntime(t *testing.T, opts docker.Options) *docker.Runtime {
	t.Helper()
	if os.Getenv("MINKUBE_SKIP_DOCKER") == "1" {
		t.Skip("MINKUBE_SKIP_DOCKER=1")
	}
	r, err := docker.New(opts)
	if err != nil {
		t.Fatalf("docker.New: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := r.Ping(ctx); err != nil {
		t.Fatalf("no Docker engine: %v (start Docker, or set MINKUBE_SKIP_DOCKER=1 to skip these tests)", err)
	}
	if _, err := r.Client().ImageInspect(ctx, testImage()); err != nil {
		t.Fatalf("test image %s: %v (run `make images` to build it)", testImage(), err)
	}
	return r
}

func randSuffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// runLabels returns labels unique to this test, for listing and events.
func runLabels(t *testing.T) map[string]string {
	return map[string]string{labelTest: "1", labelRun: randSuffix(t)}
}

// mustCreate creates a container from the test image with a random name and
// the test label, and removes it when the test ends.
func mustCreate(t *testing.T, r *docker.Runtime, spec runtime.ContainerSpec) string {
	t.Helper()
	if spec.Name == "" {
		spec.Name = "minkube-test-" + randSuffix(t)
	}
	if spec.Image == "" {
		spec.Image = testImage()
	}
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[labelTest] = "1"
	id, err := r.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create(%s): %v", spec.Name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.Remove(ctx, id); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return id
}

func mustStart(t *testing.T, r *docker.Runtime, id string) {
	t.Helper()
	if err := r.Start(t.Context(), id); err != nil {
		t.Fatalf("Start: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after 20s.
func waitFor(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var lastErr error
	for time.Now().Before(deadline) {
		ok, err := cond()
		if ok {
			return
		}
		lastErr = err
		select {
		case <-time.After(50 * time.Millisecond):
		case <-t.Context().Done():
			t.Fatalf("waiting for %s: %v", what, t.Context().Err())
		}
	}
	t.Fatalf("gave up waiting for %s (last error: %v)", what, lastErr)
}

// mustLogsContain waits until the container's logs contain want and
// returns them.
func mustLogsContain(t *testing.T, r *docker.Runtime, id, want string) string {
	t.Helper()
	var logs string
	waitFor(t, fmt.Sprintf("logs to contain %q", want), func() (bool, error) {
		rc, err := r.Logs(t.Context(), id, runtime.LogOptions{Tail: -1})
		if err != nil {
			return false, err
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		logs = string(b)
		return strings.Contains(logs, want), err
	})
	return logs
}

func mustInspect(t *testing.T, r *docker.Runtime, id string) runtime.Container {
	t.Helper()
	c, err := r.Inspect(t.Context(), id)
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	return c
}

func TestRuntime_Lifecycle(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	ctx := t.Context()
	labels := runLabels(t)
	name := "minkube-test-" + randSuffix(t)
	spec := runtime.ContainerSpec{
		Name:   name,
		Image:  testImage(),
		Cmd:    []string{"serve", "--port", "8080"},
		Env:    []string{"MESSAGE=from the lifecycle test", "MODE=test"},
		Labels: labels,
		Ports: []runtime.PortBinding{
			{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"},
		},
		NanoCPUs: 500_000_000,
		Memory:   64 << 20,
	}
	id := mustCreate(t, r, spec)

	// Created, not started.
	c := mustInspect(t, r, id)
	if c.ID != id || c.Name != name || c.Image != testImage() {
		t.Errorf("Inspect = {ID %q Name %q Image %q}, want {%q %q %q}", c.ID, c.Name, c.Image, id, name, testImage())
	}
	if c.State.Status != "created" || c.State.Running || !c.State.StartedAt.IsZero() || !c.State.FinishedAt.IsZero() {
		t.Errorf("State before start = %+v, want created, not running, zero times", c.State)
	}
	for k, v := range labels {
		if c.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, c.Labels[k], v)
		}
	}
	if want := []runtime.PortBinding{{ContainerPort: 8080, Protocol: "tcp", HostIP: "127.0.0.1"}}; !slices.Equal(c.Ports, want) {
		t.Errorf("Ports before start = %+v, want the requested %+v", c.Ports, want)
	}

	// What the engine itself holds.
	raw, err := r.Client().ContainerInspect(ctx, id)
	if err != nil {
		t.Fatalf("ContainerInspect: %v", err)
	}
	if raw.HostConfig.NanoCPUs != spec.NanoCPUs || raw.HostConfig.Memory != spec.Memory {
		t.Errorf("engine limits = NanoCPUs %d Memory %d, want %d %d",
			raw.HostConfig.NanoCPUs, raw.HostConfig.Memory, spec.NanoCPUs, spec.Memory)
	}
	if !raw.HostConfig.RestartPolicy.IsNone() {
		t.Errorf("engine restart policy = %q, want none", raw.HostConfig.RestartPolicy.Name)
	}
	for _, kv := range spec.Env {
		if !slices.Contains(raw.Config.Env, kv) {
			t.Errorf("engine env %v lacks %q", raw.Config.Env, kv)
		}
	}
	if !slices.Equal(raw.Config.Cmd, spec.Cmd) {
		t.Errorf("engine cmd = %v, want %v", raw.Config.Cmd, spec.Cmd)
	}
	if got := raw.Config.Labels[labelRun]; got != labels[labelRun] {
		t.Errorf("engine label %s = %q, want %q", labelRun, got, labels[labelRun])
	}
	if b := raw.HostConfig.PortBindings["8080/tcp"]; len(b) != 1 || b[0].HostIP != "127.0.0.1" || b[0].HostPort != "" {
		t.Errorf("engine port bindings for 8080/tcp = %+v, want one on 127.0.0.1 with the port left to the engine", b)
	}

	// Running, serving on the port the engine chose.
	mustStart(t, r, id)
	c = mustInspect(t, r, id)
	if !c.State.Running || c.State.Status != "running" || c.State.StartedAt.IsZero() {
		t.Fatalf("State after start = %+v, want running with StartedAt", c.State)
	}
	if len(c.Ports) != 1 || c.Ports[0].HostPort == 0 || c.Ports[0].HostIP != "127.0.0.1" || c.Ports[0].ContainerPort != 8080 {
		t.Fatalf("Ports after start = %+v, want 8080 published on 127.0.0.1 at a chosen port", c.Ports)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/", c.Ports[0].HostPort)
	var body string
	waitFor(t, "GET "+url, func() (bool, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK, err
	})
	if !strings.Contains(body, "from the lifecycle test") {
		t.Errorf("GET / = %q, want the MESSAGE env var in it", body)
	}
	mustLogsContain(t, r, id, "GET / 200")

	// Stop is graceful: the app exits 0 on SIGTERM; a second Stop is fine.
	if err := r.Stop(ctx, id, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c = mustInspect(t, r, id)
	if c.State.Running || c.State.Status != "exited" || c.State.ExitCode != 0 || c.State.FinishedAt.IsZero() {
		t.Errorf("State after Stop = %+v, want exited 0 with FinishedAt", c.State)
	}
	if err := r.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop of a stopped container: %v, want nil", err)
	}

	// Gone after Remove.
	if err := r.Remove(ctx, id); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := r.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) || !strings.Contains(err.Error(), id) {
		t.Errorf("Inspect after Remove = %v, want ErrNotFound naming %s", err, id)
	}
}

func TestRuntime_NotFound(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	const id = "minkube-test-does-not-exist"
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Start", func(ctx context.Context) error { return r.Start(ctx, id) }},
		{"Stop", func(ctx context.Context) error { return r.Stop(ctx, id, time.Second) }},
		{"Remove", func(ctx context.Context) error { return r.Remove(ctx, id) }},
		{"Inspect", func(ctx context.Context) error { _, err := r.Inspect(ctx, id); return err }},
		{"Logs", func(ctx context.Context) error { _, err := r.Logs(ctx, id, runtime.LogOptions{Tail: -1}); return err }},
		{"Exec", func(ctx context.Context) error { _, _, err := r.Exec(ctx, id, []string{"/testapp"}); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(t.Context())
			if !errors.Is(err, runtime.ErrNotFound) || !strings.Contains(err.Error(), id) {
				t.Errorf("%s = %v, want ErrNotFound naming %s", tt.name, err, id)
			}
		})
	}
}

func TestRuntime_CreateInvalid(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	tests := []struct {
		name    string
		spec    runtime.ContainerSpec
		wantErr string
	}{
		{"container port zero", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 0}}}, "container port 0"},
		{"host port too big", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, HostPort: 70000}}}, "host port 70000"},
		{"bad protocol", runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80, Protocol: "icmp"}}}, `protocol "icmp"`},
		{"image missing", runtime.ContainerSpec{Image: "minkube-test.invalid/nosuch:1"}, "minkube-test.invalid/nosuch:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := tt.spec
			spec.Name = "minkube-test-" + randSuffix(t)
			if spec.Image == "" {
				spec.Image = testImage()
			}
			spec.Labels = map[string]string{labelTest: "1"}
			id, err := r.Create(t.Context(), spec)
			if err == nil {
				r.Remove(context.Background(), id)
				t.Fatalf("Create succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Create error = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestRuntime_StopIgnoringSIGTERM(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"ignore-sigterm"}})
	mustStart(t, r, id)
	// SIGTERM must not arrive before the app has set it to be ignored.
	mustLogsContain(t, r, id, "ignoring SIGTERM")

	if err := r.Stop(t.Context(), id, time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c := mustInspect(t, r, id)
	if c.State.Running || c.State.ExitCode != 137 {
		t.Errorf("State after Stop = %+v, want killed with exit code 137", c.State)
	}
}

func TestRuntime_Exec(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	id := mustCreate(t, r, runtime.ContainerSpec{})
	mustStart(t, r, id)

	tests := []struct {
		name     string
		cmd      []string
		wantCode int
		wantOut  string
	}{
		{"exit code and stdout", []string{"/testapp", "exit", "--code", "3", "--after", "0s"}, 3, "exiting with code 3"},
		{"stderr", []string{"/testapp", "crash"}, 1, "crashing on start"},
		{"success", []string{"/testapp", "exit"}, 0, "exiting with code 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, err := r.Exec(t.Context(), id, tt.cmd)
			if err != nil {
				t.Fatalf("Exec(%v): %v", tt.cmd, err)
			}
			if code != tt.wantCode || !strings.Contains(string(out), tt.wantOut) {
				t.Errorf("Exec(%v) = %d, %q; want %d and output containing %q", tt.cmd, code, out, tt.wantCode, tt.wantOut)
			}
		})
	}

	t.Run("bounded by ctx", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		_, _, err := r.Exec(ctx, id, []string{"/testapp", "exit", "--after", "1m"})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Exec past its deadline = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("no such binary", func(t *testing.T) {
		// The image has no shell; the engine says so with exit code 126.
		code, out, err := r.Exec(t.Context(), id, []string{"/bin/sh", "-c", "true"})
		if err != nil {
			t.Fatalf("Exec: %v", err)
		}
		if code != 126 || !strings.Contains(string(out), "/bin/sh") {
			t.Errorf("Exec of a missing binary = %d, %q; want 126 and a message naming /bin/sh", code, out)
		}
	})
}

func TestRuntime_Logs(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})

	t.Run("stderr of a crash", func(t *testing.T) {
		t.Parallel()
		id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"crash"}})
		mustStart(t, r, id)
		logs := mustLogsContain(t, r, id, "crashing on start")
		if strings.ContainsAny(logs, "\x00\x01\x02") {
			t.Errorf("logs %q carry the engine's stream framing", logs)
		}
	})

	t.Run("follow and tail", func(t *testing.T) {
		t.Parallel()
		id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"log", "--every", "50ms"}})
		mustStart(t, r, id)

		rc, err := r.Logs(t.Context(), id, runtime.LogOptions{Follow: true, Tail: -1})
		if err != nil {
			t.Fatalf("Logs(follow): %v", err)
		}
		sc := bufio.NewScanner(rc)
		var lines []string
		for len(lines) < 5 && sc.Scan() {
			lines = append(lines, sc.Text())
		}
		if err := rc.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		want := []string{"line 1", "line 2", "line 3", "line 4", "line 5"}
		if !slices.Equal(lines, want) {
			t.Errorf("followed lines = %q, want %q", lines, want)
		}

		rc, err = r.Logs(t.Context(), id, runtime.LogOptions{Tail: 2})
		if err != nil {
			t.Fatalf("Logs(tail 2): %v", err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read tail: %v", err)
		}
		if got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"); len(got) != 2 || !strings.HasPrefix(got[0], "line ") {
			t.Errorf("tail 2 = %q, want two log lines", got)
		}
	})

	t.Run("follow ends when the container does", func(t *testing.T) {
		t.Parallel()
		id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"exit", "--code", "0", "--after", "200ms"}})
		mustStart(t, r, id)
		rc, err := r.Logs(t.Context(), id, runtime.LogOptions{Follow: true, Tail: -1})
		if err != nil {
			t.Fatalf("Logs(follow): %v", err)
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		if err != nil {
			t.Fatalf("read followed logs: %v", err)
		}
		if !strings.Contains(string(b), "exiting with code 0") {
			t.Errorf("followed logs = %q, want the exit line", b)
		}
	})
}

func TestRuntime_Events(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	labels := runLabels(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	events, errs := r.Events(ctx, map[string]string{labelRun: labels[labelRun]})

	// A container of another run must not show up.
	other := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"exit", "--code", "1"}, Labels: runLabels(t)})
	mustStart(t, r, other)
	id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"exit", "--code", "7", "--after", "100ms"}, Labels: labels})
	mustStart(t, r, id)

	var got []runtime.EventAction
	for !slices.Contains(got, runtime.ActionDie) {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("events closed early; err %v", <-errs)
			}
			if ev.ContainerID != id {
				t.Fatalf("event %s for container %s, want only %s", ev.Action, ev.ContainerID, id)
			}
			if ev.Labels[labelRun] != labels[labelRun] {
				t.Errorf("%s event labels = %v, want %s=%s", ev.Action, ev.Labels, labelRun, labels[labelRun])
			}
			if ev.Action == runtime.ActionDie {
				if code, ok := ev.ExitCode(); !ok || code != 7 {
					t.Errorf("die exit code = %d, %v; want 7", code, ok)
				}
			}
			got = append(got, ev.Action)
		case err := <-errs:
			t.Fatalf("events error: %v", err)
		case <-ctx.Done():
			t.Fatalf("saw %v, want start then die", got)
		}
	}
	if want := []runtime.EventAction{runtime.ActionStart, runtime.ActionDie}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}

	// Ending ctx closes both channels with no error.
	cancel()
	for range events {
	}
	if err, ok := <-errs; ok {
		t.Errorf("error after cancel = %v, want the channel closed", err)
	}
}

func TestRuntime_ListSummaries(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	labels := runLabels(t)
	run := labels[labelRun]
	web := mustCreate(t, r, runtime.ContainerSpec{
		Labels: map[string]string{labelRun: run, "role": "web"},
		Ports:  []runtime.PortBinding{{ContainerPort: 8080, HostIP: "127.0.0.1"}},
	})
	job := mustCreate(t, r, runtime.ContainerSpec{
		Labels: map[string]string{labelRun: run, "role": "job"},
		Cmd:    []string{"exit", "--code", "5"},
	})
	idle := mustCreate(t, r, runtime.ContainerSpec{Labels: map[string]string{labelRun: run}})
	mustStart(t, r, web)
	mustStart(t, r, job)
	waitFor(t, "the job to exit", func() (bool, error) {
		c, err := r.Inspect(t.Context(), job)
		return err == nil && c.State.Status == "exited", err
	})

	tests := []struct {
		name     string
		selector map[string]string
		want     []string
	}{
		{"whole run", map[string]string{labelRun: run}, []string{web, job, idle}},
		{"by value", map[string]string{labelRun: run, "role": "web"}, []string{web}},
		{"any value", map[string]string{labelRun: run, "role": ""}, []string{web, job}},
		{"no match", map[string]string{labelRun: run, "role": "db"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, err := r.ListSummaries(t.Context(), tt.selector)
			if err != nil {
				t.Fatalf("ListSummaries: %v", err)
			}
			var ids []string
			for _, s := range list {
				ids = append(ids, s.ID)
			}
			slices.Sort(ids)
			want := slices.Sorted(slices.Values(tt.want))
			if !slices.Equal(ids, want) {
				t.Errorf("ListSummaries(%v) = %v, want %v", tt.selector, ids, want)
			}
		})
	}

	list, err := r.ListSummaries(t.Context(), map[string]string{labelRun: run})
	if err != nil {
		t.Fatalf("ListSummaries: %v", err)
	}
	byID := map[string]runtime.Summary{}
	for _, s := range list {
		byID[s.ID] = s
	}
	for id, want := range map[string]string{web: "running", job: "exited", idle: "created"} {
		if s := byID[id]; s.Status != want || s.Labels[labelRun] != run {
			t.Errorf("summary of %s = %+v, want status %s and its labels", id[:12], s, want)
		}
	}
	if byID[web].Labels["role"] != "web" {
		t.Errorf("summary labels of web = %v, want role=web", byID[web].Labels)
	}
	// Inspect gives what a list does not: times, exit codes, ports.
	if c := mustInspect(t, r, web); !c.State.Running || c.Image != testImage() ||
		len(c.Ports) != 1 || c.Ports[0].HostPort == 0 || c.Ports[0].HostIP != "127.0.0.1" || !strings.HasPrefix(c.Name, "minkube-test-") {
		t.Errorf("inspected web = %+v, want running, image %s, port published on 127.0.0.1", c, testImage())
	}
	if c := mustInspect(t, r, job); c.State.Running || c.State.ExitCode != 5 ||
		c.State.StartedAt.IsZero() || c.State.FinishedAt.Before(c.State.StartedAt) {
		t.Errorf("inspected job state = %+v, want exited with code 5, started and then finished", c.State)
	}
	if c := mustInspect(t, r, idle); c.State.Status != "created" || c.State.Started() {
		t.Errorf("inspected idle state = %+v, want created and never started", c.State)
	}
}

func TestRuntime_EnsureImage(t *testing.T) {
	t.Parallel()

	// A registry that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var conns []net.Conn
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	silent := ln.Addr().String() + "/minkube/silent:1"

	r := mustRuntime(t, docker.Options{PullTimeout: time.Second})
	tests := []struct {
		name     string
		ref      string
		wantPull bool // whether ErrImagePull is expected
		wantMsg  string
	}{
		{name: "present", ref: testImage()},
		{name: "unknown registry", ref: "minkube-test.invalid/nosuch/image:1", wantPull: true, wantMsg: `pull image "minkube-test.invalid/nosuch/image:1"`},
		{name: "no such image", ref: "nosuch/image:1", wantPull: true, wantMsg: `pull image "nosuch/image:1"`},
		{name: "silent registry", ref: silent, wantPull: true, wantMsg: "no result after 1s"},
		{name: "invalid reference", ref: "Not/A:Valid:Ref", wantPull: true, wantMsg: `"Not/A:Valid:Ref"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.EnsureImage(t.Context(), tt.ref)
			if !tt.wantPull {
				if err != nil {
					t.Fatalf("EnsureImage(%s) = %v, want nil", tt.ref, err)
				}
				return
			}
			if !errors.Is(err, runtime.ErrImagePull) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("EnsureImage(%s) = %v, want ErrImagePull containing %q", tt.ref, err, tt.wantMsg)
			}
		})
	}

	t.Run("caller cancels", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
		defer cancel()
		r := mustRuntime(t, docker.Options{PullTimeout: time.Minute})
		err := r.EnsureImage(ctx, silent)
		if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, runtime.ErrImagePull) {
			t.Errorf("EnsureImage with an ending ctx = %v, want the ctx error and not ErrImagePull", err)
		}
	})
}

// TestStats reads a running container's CPU time and working set from
// the engine, and refuses a container that does not exist.
func TestStats(t *testing.T) {
	r := mustRuntime(t, docker.Options{})
	id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"log", "--every", "10ms"}})
	mustStart(t, r, id)
	var u runtime.Usage
	waitFor(t, "CPU time and memory in the stats", func() (bool, error) {
		var err error
		u, err = r.Stats(t.Context(), id)
		return err == nil && u.CPUSeconds > 0 && u.MemoryBytes > 0, err
	})
	if u.Read.IsZero() || time.Since(u.Read) > time.Minute {
		t.Errorf("stats read at %v, want just now", u.Read)
	}
	if u.MemoryBytes > 512<<20 {
		t.Errorf("working set %d bytes for a tiny Go program: the page cache was not taken off", u.MemoryBytes)
	}
	if _, err := r.Stats(t.Context(), "minkube-no-such-container"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Stats of a missing container = %v, want ErrNotFound", err)
	}
}
