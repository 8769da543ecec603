package workerd_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

func TestNew_RejectsBadOptions(t *testing.T) {
	t.Parallel()
	mgr := &fakeManager{}
	good := func() workerd.Options {
		return workerd.Options{
			Name: workerName, Listen: "127.0.0.1:0", Manager: mgr.dial,
			Runtime: runtimetest.New(), Stats: &fakeStats{}, Logger: slog.New(slog.DiscardHandler),
		}
	}
	tests := []struct {
		name string
		edit func(*workerd.Options)
		want string
	}{
		{"no name", func(o *workerd.Options) { o.Name = "" }, "worker name"},
		{"name not a DNS label", func(o *workerd.Options) { o.Name = "Worker_1" }, "Worker_1"},
		{"no runtime", func(o *workerd.Options) { o.Runtime = nil }, "Runtime"},
		{"no manager", func(o *workerd.Options) { o.Manager = nil }, "Manager"},
		{"no stats", func(o *workerd.Options) { o.Stats = nil }, "Stats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := good()
			tt.edit(&opts)
			w, err := workerd.New(opts)
			if err == nil || w != nil {
				t.Fatalf("New = %v, %v; want an error", w, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error %q does not mention %q", err, tt.want)
			}
		})
	}
	if _, err := workerd.New(good()); err != nil {
		t.Fatalf("New with good options: %v", err)
	}
}

func TestWorker_StartFailsFast(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { busy.Close() })

	tests := []struct {
		name  string
		edit  func(*workerd.Options, *runtimetest.Fake)
		check func(error) bool
	}{
		{
			name:  "listen address in use",
			edit:  func(o *workerd.Options, _ *runtimetest.Fake) { o.Listen = busy.Addr().String() },
			check: func(err error) bool { return strings.Contains(err.Error(), busy.Addr().String()) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := runtimetest.New(testImage)
			mgr := &fakeManager{}
			opts := testOptions(fake, mgr, &fakeStats{}, &syncBuffer{})
			tt.edit(&opts, fake)
			w, err := workerd.New(opts)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			done := make(chan error, 1)
			go func() { done <- w.Start(t.Context()) }()
			select {
			case err := <-done:
				if err == nil || !tt.check(err) {
					t.Fatalf("Start = %v; want the failure named", err)
				}
			case <-time.After(waitTimeout):
				t.Fatal("Start did not return")
			}
			if n := mgr.registerAttempts(); n != 0 {
				t.Errorf("%d registration attempts by a worker that failed to start; want 0", n)
			}
		})
	}
}

func TestWorker_StartReturnsWhenContextEnds(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	h.mustAssign(t, token, newTask("web", "uid-web-1"), http.StatusCreated)
	c := h.mustRunning(t, token, "uid-web-1", 0)

	addr, err := h.w.Listen()
	if err != nil {
		t.Fatalf("Listen after Start: %v", err)
	}
	if "https://"+addr.String() != h.url {
		t.Errorf("Listen after Start = %s; want the address it bound first, %s", addr, h.url)
	}
	if err := h.stop(t); err != nil {
		t.Fatalf("Start = %v; want nil", err)
	}
	// The API is closed, and the container keeps running for the next
	// worker process to adopt.
	if conn, err := net.DialTimeout("tcp", addr.String(), time.Second); err == nil {
		conn.Close()
		t.Error("the worker API still accepts connections after Start returned")
	}
	got, err := fake.Inspect(t.Context(), c.ID)
	if err != nil || !got.State.Running {
		t.Errorf("container after Start returned = %+v, %v; want it still running", got.State, err)
	}
}

func TestWorker_StartFailsWhenTheManagerCannotBeDialed(t *testing.T) {
	t.Parallel()
	// A --manager URL the client refuses is a configuration error: the
	// worker must say so rather than run on, never registering.
	errDial := errors.New(`--manager ftp://manager: unsupported scheme "ftp"`)
	opts := testOptions(runtimetest.New(testImage), &fakeManager{}, &fakeStats{}, &syncBuffer{})
	opts.Manager = func(string) (workerd.Manager, error) { return nil, errDial }
	w, err := workerd.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.Start(ctx) }()
	select {
	case err := <-done:
		if !errors.Is(err, errDial) {
			t.Fatalf("Start = %v; want the dialer's error", err)
		}
	case <-time.After(waitTimeout):
		cancel()
		<-done
		t.Fatalf("Start still ran %s after the manager client could not be made; want it to return %q", waitTimeout, errDial)
	}
}

func TestWorker_StartEndsInFlightRequests(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-web-1")
	h.mustAssign(t, token, task, http.StatusCreated)
	c := h.mustRunning(t, token, task.Metadata.UID, 0)
	if err := fake.WriteLog(c.ID, "ready\n"); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+"/api/v1/tasks/uid-web-1/logs?follow=true", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := workerHTTPClient().Do(req)
	if err != nil {
		t.Fatalf("GET logs?follow: %v", err)
	}
	defer resp.Body.Close()
	line := make([]byte, len("ready\n"))
	if _, err := io.ReadFull(resp.Body, line); err != nil {
		t.Fatalf("read the followed log: %v", err)
	}

	if err := h.stop(t); err != nil {
		t.Fatalf("Start = %v; want nil", err)
	}
	// Start returns after its goroutines, the API's handlers among them:
	// the followed stream is over.
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	select {
	case <-ended:
	case <-time.After(waitTimeout):
		t.Fatalf("a followed log request was still being served %s after Start returned", waitTimeout)
	}
}

func TestWorker_AdoptionSurvivesAContainerWithNoTaskUID(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	task := newTask("web", "uid-web-1")
	id := mustRunContainer(t, fake, "mk-web", mustTaskLabels(t, task, workerName))
	// Carries this worker's label and nothing else: no uid to reconcile.
	mustRunContainer(t, fake, "odd", map[string]string{runtime.LabelWorker: workerName})

	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	mustSettle(t, fake, 5)
	if c, err := fake.Inspect(t.Context(), id); err != nil || !c.State.Running {
		t.Errorf("adopted container = %+v, %v; want it running on", c.State, err)
	}
	if n := fake.Calls(runtimetest.MethodCreate); n != 2 {
		t.Errorf("Create called %d times; want 2 (only the two containers made before the worker started)", n)
	}
	if st, ok := h.status(t, token, task.Metadata.UID); !ok || st.ContainerID != id {
		t.Errorf("task status = %+v (held %t); want it on the adopted container %s", st, ok, id)
	}
}

func TestWorker_RegistersWithRetries(t *testing.T) {
	t.Parallel()
	mgr := &fakeManager{}
	mgr.setRegisterErr(&v1.Status{Code: http.StatusServiceUnavailable, Reason: v1.StatusReasonServiceUnavailable, Message: "manager starting"})
	h := mustStartWorker(t, runtimetest.New(testImage), mgr, nil)

	mustEventually(t, "a second registration attempt", func() bool { return mgr.registerAttempts() >= 2 })
	// Before its first registration the worker has no certificate of the
	// cluster CA: whoever verifies it (the manager) sends it nothing, and
	// whoever does not is told it is not registered.
	if _, _, err := h.try(t, h.http, http.MethodGet, "/healthz", "", nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("GET /healthz before registration, verifying the worker: %v; want a certificate that does not verify", err)
	}
	code, body, err := h.try(t, unverifiedHTTPClient, http.MethodGet, "/api/v1/tasks", managerToken(1), nil)
	if err != nil || code != http.StatusServiceUnavailable || mustStatusBody(t, body).Reason != v1.StatusReasonServiceUnavailable {
		t.Fatalf("GET /api/v1/tasks before registration = %d %s (%v); want 503 ServiceUnavailable", code, body, err)
	}
	code, body, err = h.try(t, unverifiedHTTPClient, http.MethodPost, "/api/v1/tasks", managerToken(1), newTask("web", "uid-web-1"))
	if err != nil || code != http.StatusServiceUnavailable {
		t.Fatalf("POST /api/v1/tasks before registration = %d %s (%v); want 503", code, body, err)
	}
	if code, body, err := h.try(t, unverifiedHTTPClient, http.MethodGet, "/healthz", "", nil); err != nil || code != http.StatusOK || string(body) != "ok\n" {
		t.Errorf("GET /healthz before registration = %d %q (%v); want 200 ok", code, body, err)
	}

	mgr.setRegisterErr(nil)
	token := h.mustRegistered(t, 1)

	regs := mgr.registered()
	if len(regs) != 1 {
		t.Fatalf("%d registrations accepted; want 1", len(regs))
	}
	if r := regs[0]; r.Name != workerName || "https://"+r.Address != h.url || r.Labels["disk"] != "ssd" || r.Stats.DiskFree == 0 {
		t.Errorf("registration request = %+v; want name %s, address %s, labels disk=ssd and stats", r, workerName, h.url)
	}
	dialed := mgr.tokensDialed()
	if len(dialed) < 2 || dialed[0] != joinToken || dialed[len(dialed)-1] != workerToken {
		t.Errorf("manager clients dialed with %q; want the join token first, then the worker token", dialed)
	}

	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"no credentials", "", http.StatusUnauthorized},
		{"wrong token", "Bearer not-the-token", http.StatusUnauthorized},
		{"the join token", "Bearer " + joinToken, http.StatusUnauthorized},
		{"not a bearer token", "Basic " + token, http.StatusUnauthorized},
		{"the manager token", "Bearer " + token, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/tasks", "/api/v1/stats"} {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, h.url+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				if tt.header != "" {
					req.Header.Set("Authorization", tt.header)
				}
				resp, err := h.http.Do(req)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("GET %s with %q = %d; want %d", path, tt.header, resp.StatusCode, tt.want)
				}
			}
		})
	}
}

func TestWorker_AdoptsContainersBeforeTheManagerAnswers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		policy v1.RestartPolicy
		exit   *int // the container had exited with this code
		// want
		restarted bool
		phase     v1.Phase
	}{
		{name: "running container is adopted as is", policy: v1.RestartAlways, phase: v1.PhaseRunning},
		{name: "exited container of policy Always is restarted in place", policy: v1.RestartAlways, exit: ptr(1), restarted: true, phase: v1.PhaseRunning},
		{name: "exited container of policy Never is finished", policy: v1.RestartNever, exit: ptr(0), phase: v1.PhaseSucceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := runtimetest.New(testImage)
			note := mustClusterNote(t, fake)
			task := newTask("web", "uid-web-adopted", func(t *v1.Task) { t.Spec.RestartPolicy = tt.policy })
			id := mustRunContainer(t, fake, "mk-web-uid-web--"+workerName, mustTaskLabels(t, task, workerName))
			if tt.exit != nil {
				if err := fake.Exit(id, *tt.exit); err != nil {
					t.Fatal(err)
				}
			}
			starts := fake.Calls(runtimetest.MethodStart)

			mgr := &fakeManager{}
			mgr.setRegisterErr(errors.New("connection refused"))
			h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.ClusterFile = note })

			// While the manager does not answer, the worker acts on what
			// the container's labels say: it remembers its cluster.
			wantStarts := starts
			if tt.restarted {
				wantStarts++
				mustEventually(t, "the exited container to be restarted", func() bool {
					c, err := fake.Inspect(t.Context(), id)
					return err == nil && c.State.Running
				})
			}
			mustSettle(t, fake, 5)
			if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
				t.Errorf("Create called %d times; want 1 (the container made before the worker started)", n)
			}
			for method, want := range map[string]int{runtimetest.MethodStart: wantStarts, runtimetest.MethodRemove: 0, runtimetest.MethodStop: 0} {
				if n := fake.Calls(method); n != want {
					t.Errorf("%s called %d times before registration; want %d", method, n, want)
				}
			}
			if mgr.registerAttempts() == 0 || len(mgr.registered()) != 0 {
				t.Fatalf("registration attempts %d, accepted %d; want the manager still refusing", mgr.registerAttempts(), len(mgr.registered()))
			}

			mgr.setRegisterErr(nil)
			token := h.mustRegistered(t, 1)
			mustEventually(t, "the adopted task in a report", func() bool {
				return mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool {
					return r.Status.Phase == tt.phase && r.Status.ContainerID == id && r.Name == "web" && r.Generation == 1
				})
			})
			st, ok := h.status(t, token, task.Metadata.UID)
			if !ok || st.ContainerID != id || st.Phase != tt.phase {
				t.Errorf("status in the worker API = %+v (held %t); want phase %s on container %s", st, ok, tt.phase, id)
			}
			if cs := h.containers(t, task.Metadata.UID); len(cs) != 1 || cs[0].ID != id {
				t.Errorf("containers of the task = %d; want the adopted one only", len(cs))
			}
			if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
				t.Errorf("Create called %d times; want 1", n)
			}
		})
	}
}

// mustClusterNote runs a worker that registers and remembers its cluster
// in a file, stops it, and returns the file.
func mustClusterNote(t *testing.T, fake *runtimetest.Fake) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "worker.cluster")
	h := mustStartWorker(t, fake, &fakeManager{}, func(o *workerd.Options) { o.ClusterFile = path })
	h.mustRegistered(t, 1)
	if err := h.stop(t); err != nil {
		t.Fatalf("worker that notes its cluster: Start = %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the worker noted no cluster: %v", err)
	}
	return path
}

// TestWorker_TouchesNothingBeforeItKnowsItsCluster: with no note of its
// cluster, a worker whose manager does not answer leaves even containers
// with its name alone; once registered it adopts those of its cluster.
func TestWorker_TouchesNothingBeforeItKnowsItsCluster(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	task := newTask("web", "uid-web-1")
	id := mustRunContainer(t, fake, "mk-web", mustTaskLabels(t, task, workerName))
	if err := fake.Exit(id, 1); err != nil {
		t.Fatal(err)
	}
	methods := []string{runtimetest.MethodStart, runtimetest.MethodStop, runtimetest.MethodRemove, runtimetest.MethodInspect}
	before := map[string]int{}
	for _, m := range methods {
		before[m] = fake.Calls(m)
	}
	mgr := &fakeManager{}
	mgr.setRegisterErr(errors.New("connection refused"))
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.ClusterFile = filepath.Join(t.TempDir(), "none") })
	mustSettle(t, fake, 5)
	for _, m := range methods {
		if n := fake.Calls(m) - before[m]; n != 0 {
			t.Errorf("%s called %d times before the worker knew its cluster; want 0", m, n)
		}
	}
	mgr.setRegisterErr(nil)
	h.mustRegistered(t, 1)
	mustEventually(t, "the exited container restarted once the cluster is known", func() bool {
		c, err := fake.Inspect(t.Context(), id)
		return err == nil && c.State.Running
	})
}

func TestWorker_RestartedWorkerAdoptsItsContainers(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	task := newTask("web", "uid-web-1", func(t *v1.Task) {
		t.Spec.Env = []v1.EnvVar{{Name: "MODE", Value: "prod"}}
		t.Spec.Ports = []v1.Port{{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP}}
	})
	first := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := first.mustRegistered(t, 1)
	first.mustAssign(t, token, task, http.StatusCreated)
	c := first.mustRunning(t, token, task.Metadata.UID, 0)
	if err := first.stop(t); err != nil {
		t.Fatalf("first worker: Start = %v", err)
	}
	creates, starts := fake.Calls(runtimetest.MethodCreate), fake.Calls(runtimetest.MethodStart)

	mgr := &fakeManager{}
	second := mustStartWorker(t, fake, mgr, nil)
	token = second.mustRegistered(t, 1)
	mustEventually(t, "the adopted task in a report", func() bool {
		return mgr.sawTask(task.Metadata.UID, func(r v1.TaskReport) bool {
			return r.Status.Phase == v1.PhaseRunning && r.Status.ContainerID == c.ID &&
				len(r.Status.Ports) == 1 && r.Status.Ports[0].HostPort == c.Ports[0].HostPort
		})
	})
	mustSettle(t, fake, 5)
	if n := fake.Calls(runtimetest.MethodCreate); n != creates {
		t.Errorf("Create called %d times after the restart; want %d (none)", n-creates, 0)
	}
	if n := fake.Calls(runtimetest.MethodStart); n != starts {
		t.Errorf("Start called %d times after the restart; want none", n-starts)
	}
	// The adopted task is held as it was assigned: the same POST is
	// "already held".
	second.mustAssign(t, token, task, http.StatusOK)
}

func TestWorker_RemovesStrayContainers(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	other := newTask("other", "uid-other-1")
	stray := newTask("stray", "uid-stray-3")

	// Before the worker starts: two of its containers in its cluster,
	// one with no task label and one with an unreadable one. Left alone:
	// another worker's, an unrelated container, one of another cluster
	// with the same worker name, and one with the worker's name from
	// before clusters had ids, whose task the worker does not hold.
	ours := map[string]string{runtime.LabelWorker: workerName, runtime.LabelCluster: clusterID}
	noTask := mustRunContainer(t, fake, "stray-1", with(ours, runtime.LabelTaskUID, "uid-stray-1"))
	badTask := mustRunContainer(t, fake, "stray-2", with(with(ours, runtime.LabelTaskUID, "uid-stray-2"), workerd.LabelTask, "{not json"))
	othersID := mustRunContainer(t, fake, "mk-other-worker-2", mustTaskLabels(t, other, "worker-2"))
	plainID := mustRunContainer(t, fake, "postgres", map[string]string{"app": "db"})
	otherCluster := mustRunContainer(t, fake, "mk-victim", with(mustTaskLabels(t, newTask("victim", "uid-victim"), workerName), runtime.LabelCluster, "cluster-2"))
	legacyLabels := mustTaskLabels(t, newTask("legacy", "uid-legacy"), workerName)
	delete(legacyLabels, runtime.LabelCluster)
	legacy := mustRunContainer(t, fake, "mk-legacy", legacyLabels)

	h := mustStartWorker(t, fake, &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	for _, id := range []string{noTask, badTask} {
		mustEventually(t, "stray container "+id[len(id)-4:]+" to be removed", func() bool {
			_, err := fake.Inspect(t.Context(), id)
			return errors.Is(err, runtime.ErrNotFound)
		})
	}

	// Made while the worker runs, with a well-formed task label: a task
	// the worker does not hold, so it goes too (only a starting worker
	// adopts).
	strayID := mustRunContainer(t, fake, "mk-stray", mustTaskLabels(t, stray, workerName))
	mustEventually(t, "the stray container made at run time to be removed", func() bool {
		_, err := fake.Inspect(t.Context(), strayID)
		return errors.Is(err, runtime.ErrNotFound)
	})

	mustSettle(t, fake, 5)
	for _, id := range []string{othersID, plainID, otherCluster, legacy} {
		c, err := fake.Inspect(t.Context(), id)
		if err != nil || !c.State.Running {
			t.Errorf("container %s not this worker's = %+v, %v; want it left running", c.Name, c.State, err)
		}
	}
	if tasks := h.mustTasks(t, token); len(tasks) != 0 {
		t.Errorf("worker holds %d tasks; want none (strays are not adopted)", len(tasks))
	}
}

func TestWorker_RelistCatchesWhatTheEventStreamMissed(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	h := mustStartWorker(t, fake, &fakeManager{}, func(o *workerd.Options) { o.RelistInterval = time.Hour })
	token := h.mustRegistered(t, 1)
	h.mustAssign(t, token, newTask("web", "uid-web-1"), http.StatusCreated)
	c := h.mustRunning(t, token, "uid-web-1", 0)

	// With the periodic relist off, a broken stream makes the worker
	// reconnect and relist; an exit then is seen on the new stream.
	fake.BreakEvents(nil)
	mustEventually(t, "the worker to reconnect to the event stream", func() bool {
		return fake.Calls(runtimetest.MethodEvents) >= 2
	})
	if err := fake.Exit(c.ID, 1); err != nil {
		t.Fatal(err)
	}
	h.mustRunning(t, token, "uid-web-1", 1)
}

func ptr[T any](v T) *T { return &v }

// with returns a copy of labels with k set to v.
func with(labels map[string]string, k, v string) map[string]string {
	out := maps.Clone(labels)
	out[k] = v
	return out
}

// sortedUIDs returns the uids of tasks, sorted.
func sortedUIDs(tasks []v1.Task) []string {
	out := make([]string, 0, len(tasks))
	for _, t := range tasks {
		out = append(out, t.Metadata.UID)
	}
	slices.Sort(out)
	return out
}

// TestWorker_AdoptsAContainerFromBeforeClusterIDs: a container with the
// worker's name and no cluster label (made before clusters had ids) is
// adopted as it is once the manager assigns its task here; until then it
// is left alone.
func TestWorker_AdoptsAContainerFromBeforeClusterIDs(t *testing.T) {
	t.Parallel()
	fake := runtimetest.New(testImage)
	task := newTask("web", "uid-web-legacy")
	labels := mustTaskLabels(t, task, workerName)
	delete(labels, runtime.LabelCluster)
	id := mustRunContainer(t, fake, "mk-web-legacy", labels)
	mgr := &fakeManager{}
	h := mustStartWorker(t, fake, mgr, func(o *workerd.Options) { o.ResyncInterval = 50 * time.Millisecond })
	token := h.mustRegistered(t, 1)
	mustSettle(t, fake, 5)
	if tasks := h.mustTasks(t, token); len(tasks) != 0 {
		t.Fatalf("worker holds %d tasks; want none: a container without a cluster id is not adopted from its labels", len(tasks))
	}
	mgr.setTasks(task)
	st := h.mustStatus(t, token, task.Metadata.UID, "Running", func(st v1.TaskStatus) bool { return st.Phase == v1.PhaseRunning })
	if st.ContainerID != id {
		t.Errorf("running on %s; want the container from before, %s", shortID(st.ContainerID), shortID(id))
	}
	if n := fake.Calls(runtimetest.MethodCreate); n != 1 {
		t.Errorf("Create called %d times; want only the one before the worker", n)
	}
}
