package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// mkctlBin is the mkctl binary built once for every test.
var mkctlBin string

const testVersion = "v0.0.0-test"

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mkctl-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	mkctlBin = filepath.Join(dir, "mkctl")
	build := exec.Command("go", "build", "-o", mkctlBin, "-ldflags", "-X main.version="+testVersion, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "build mkctl: %v\n", err)
		return 1
	}
	return m.Run()
}

const (
	goodToken = "good-token"
	webYAML   = `apiVersion: minkube.io/v1
kind: Task
metadata:
  name: web
  labels: {app: web}
spec:
  image: nginx:1.27
  ports:
    - {name: http, containerPort: 8080}
`
	apiYAML = `apiVersion: minkube.io/v1
kind: Task
metadata:
  name: api
spec:
  image: example/api:1
`
	// badYAML holds a good Task and two broken ones.
	badYAML = `apiVersion: minkube.io/v1
kind: Task
metadata: {name: fine}
spec: {image: nginx:1.27}
---
apiVersion: minkube.io/v1
kind: Task
metadata: {name: broken}
spec:
  image: nginx:1.27
  ports:
    - containerPort: 70000
  bogus: 1
---
apiVersion: minkube.io/v1
kind: Task
metadata: {name: noimage}
spec: {}
`
)

// put is one PUT the fake manager received.
type put struct {
	Name   string
	DryRun bool
	Task   v1.Task
}

// fakeManager serves the parts of the manager API that mkctl uses, from
// memory, and records what was written.
type fakeManager struct {
	*httptest.Server
	mu       sync.Mutex
	tasks    map[string]*v1.Task
	workers  []v1.Worker
	puts     []put
	deletes  []string
	queries  []string
	requests int
	// invalid, when set, makes every PUT answer 422 with these causes.
	invalid []v1.StatusCause
}

func mustManager(t *testing.T) *fakeManager {
	t.Helper()
	f := &fakeManager{tasks: map[string]*v1.Task{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/tasks", f.listTasks)
	mux.HandleFunc("GET /api/v1/tasks/{name}", f.getTask)
	mux.HandleFunc("PUT /api/v1/tasks/{name}", f.putTask)
	mux.HandleFunc("DELETE /api/v1/tasks/{name}", f.deleteTask)
	mux.HandleFunc("GET /api/v1/workers", f.listWorkers)
	mux.HandleFunc("GET /api/v1/workers/{name}", f.getWorker)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": "v9.9.9", "gitCommit": "abc123", "goVersion": "go1.26"})
	})
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.requests++
		f.queries = append(f.queries, r.URL.RawQuery)
		f.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer "+goodToken {
			writeStatus(w, http.StatusUnauthorized, v1.StatusReasonUnauthorized, "invalid bearer token", nil)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, code int, reason v1.StatusReason, msg string, causes []v1.StatusCause) {
	st := v1.Status{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus}, Status: "Failure", Reason: reason, Code: code, Message: msg}
	if causes != nil {
		st.Details = &v1.StatusDetails{Causes: causes}
	}
	writeJSON(w, code, st)
}

func (f *fakeManager) listTasks(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k, v, _ := strings.Cut(r.URL.Query().Get("labelSelector"), "=")
	list := v1.TaskList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList}, Metadata: v1.ListMeta{ResourceVersion: "7"}}
	for _, name := range slices.Sorted(maps.Keys(f.tasks)) {
		if t := f.tasks[name]; k == "" || t.Metadata.Labels[k] == v {
			list.Items = append(list.Items, *t)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeManager) getTask(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tasks[r.PathValue("name")]
	if !ok {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("tasks %q not found", r.PathValue("name")), nil)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (f *fakeManager) putTask(w http.ResponseWriter, r *http.Request) {
	var in v1.Task
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	dry := r.URL.Query().Get("dryRun") == "All"
	f.puts = append(f.puts, put{Name: r.PathValue("name"), DryRun: dry, Task: in})
	if f.invalid != nil {
		writeStatus(w, http.StatusUnprocessableEntity, v1.StatusReasonInvalid, fmt.Sprintf("Task %q is invalid", in.Metadata.Name), f.invalid)
		return
	}
	result, code := "created", http.StatusCreated
	if old, ok := f.tasks[in.Metadata.Name]; ok {
		result, code = "configured", http.StatusOK
		if reflect.DeepEqual(old.Spec, in.Spec) && reflect.DeepEqual(old.Metadata.Labels, in.Metadata.Labels) {
			result = "unchanged"
		}
	}
	if !dry {
		now := time.Now()
		in.Metadata.CreationTimestamp = &now
		f.tasks[in.Metadata.Name] = &in
	}
	w.Header().Set("Minkube-Apply-Result", result)
	writeJSON(w, code, in)
}

func (f *fakeManager) deleteTask(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("name")
	t, ok := f.tasks[name]
	if !ok {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("tasks %q not found", name), nil)
		return
	}
	delete(f.tasks, name)
	f.deletes = append(f.deletes, name)
	now := time.Now()
	t.Metadata.DeletionTimestamp = &now
	writeJSON(w, http.StatusAccepted, t)
}

func (f *fakeManager) listWorkers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	writeJSON(w, http.StatusOK, v1.WorkerList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorkerList}, Items: f.workers})
}

func (f *fakeManager) getWorker(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, wk := range f.workers {
		if wk.Metadata.Name == r.PathValue("name") {
			writeJSON(w, http.StatusOK, wk)
			return
		}
	}
	writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no such worker", nil)
}

func (f *fakeManager) recorded() (puts []put, deletes []string, requests int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]put(nil), f.puts...), append([]string(nil), f.deletes...), f.requests
}

func (f *fakeManager) setWorkers(workers []v1.Worker) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.workers = workers
}

func (f *fakeManager) setInvalid(causes []v1.StatusCause) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invalid = causes
}

func (f *fakeManager) lastQuery() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queries) == 0 {
		return ""
	}
	return f.queries[len(f.queries)-1]
}

func (f *fakeManager) addTask(t v1.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tasks[t.Metadata.Name] = &t
}

// result is how one mkctl run ended.
type result struct {
	stdout, stderr string
	code           int
}

// env is the environment of one mkctl run: a fresh HOME and nothing of the
// test process's MINKUBE_* variables.
type env struct {
	home  string
	vars  []string
	stdin string
	dir   string
}

func mustEnv(t *testing.T, vars ...string) *env {
	t.Helper()
	return &env{home: t.TempDir(), vars: vars, dir: t.TempDir()}
}

// mustRun runs mkctl with args and returns its output and exit status.
func (e *env) mustRun(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), mkctlBin, args...)
	cmd.Env = append([]string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}, e.vars...)
	cmd.Dir = e.dir
	cmd.Stdin = strings.NewReader(e.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		res.code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run mkctl %v: %v", args, err)
	}
	return res
}

// mustSucceed runs mkctl and fails the test unless it exits 0 with an empty
// stderr.
func (e *env) mustSucceed(t *testing.T, args ...string) string {
	t.Helper()
	res := e.mustRun(t, args...)
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("mkctl %v: exit %d, stderr %q, stdout %q", args, res.code, res.stderr, res.stdout)
	}
	return res.stdout
}

// mustFail runs mkctl and fails the test unless it exits 1 with every
// stderr line an "error: " line (or the usage hint after one).
func (e *env) mustFail(t *testing.T, args ...string) result {
	t.Helper()
	res := e.mustRun(t, args...)
	if res.code != 1 {
		t.Fatalf("mkctl %v: exit %d, want 1 (stdout %q, stderr %q)", args, res.code, res.stdout, res.stderr)
	}
	for _, line := range strings.Split(strings.TrimSuffix(res.stderr, "\n"), "\n") {
		if !strings.HasPrefix(line, "error: ") && !strings.HasPrefix(line, "See '") {
			t.Errorf("mkctl %v: stderr line %q does not start with \"error: \"", args, line)
		}
	}
	if strings.Contains(res.stderr, "goroutine ") || strings.Contains(res.stderr, "Usage:") {
		t.Errorf("mkctl %v: stderr has a stack trace or a usage dump: %q", args, res.stderr)
	}
	return res
}

func mustWriteFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// serverFlags are the flags that point mkctl at m.
func serverFlags(m *fakeManager) []string {
	return []string{"--server", m.URL, "--token", goodToken}
}

func args(m *fakeManager, a ...string) []string {
	return append(a, serverFlags(m)...)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
