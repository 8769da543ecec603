package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/pem"
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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
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
	// Every stub manager serves HTTPS with httptest's certificate: mkctl
	// verifies it against that certificate, given as the CA.
	ts := httptest.NewTLSServer(http.NotFoundHandler())
	testCAFile = filepath.Join(dir, "ca.crt")
	err = os.WriteFile(testCAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o644)
	ts.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// testCAFile verifies the stub managers' certificate.
var testCAFile string

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

// put is one apply the fake manager received: a PUT, or a Task of a
// batch (POST /api/v1/apply).
type put struct {
	Name   string
	DryRun bool
	Batch  bool
	Task   v1.Task
}

// watchEvent is one entry of the fake's watch history.
type watchEvent struct {
	typ  v1.WatchEventType
	task v1.Task
}

// fakeManager serves the parts of the manager API that mkctl uses, from
// memory, and records what was written. Every change to its Tasks moves
// its revision and is kept, so that watches replay from any revision.
type fakeManager struct {
	*httptest.Server
	mu       sync.Mutex
	tasks    map[string]*v1.Task
	workers  []v1.Worker
	events   []v1.Event
	puts     []put
	deletes  []string
	actions  []string
	queries  []string
	requests int
	// invalid, when set, makes every PUT answer 422 with these causes.
	invalid []v1.StatusCause
	// noTables makes the task list ignore as=table, as a manager from
	// before tables did.
	noTables bool
	// putDelay, when set, is how long a PUT of the named Task waits
	// before it is answered; putsInFlight counts the PUTs under way, and
	// maxPutsInFlight the most at once.
	putDelay                      func(name string) time.Duration
	putsInFlight, maxPutsInFlight int
	// noBatch makes POST /api/v1/apply answer 404, as a manager from
	// before batches did; batches counts the Tasks of each batch, and
	// maxBatchesInFlight is the most batches under way at once.
	// listCode, when set, is the answer to a list of workers (a
	// Status), instead of the list.
	listCode                            int
	noBatch                             bool
	batches                             []int
	batchesInFlight, maxBatchesInFlight int

	rv      int64
	history map[int64]watchEvent
	changed chan struct{} // closed and replaced on every change
	stop    chan struct{} // closed to end every open watch and log stream
	watches int
	lists   int
	// goneNext makes the next watch answer 410 Gone.
	goneNext bool
	// graceful makes deletes set deletionTimestamp; finishDelete removes.
	graceful bool
	// afterPut, when set, is called (unlocked, in a goroutine) after each
	// stored PUT: it plays the scheduler and the worker.
	afterPut func(name string)
	// placeOn, when set, is where drain's unassigned tasks land.
	placeOn string

	logLines []string
	logMore  chan string // more lines for followers; closed: the container stopped
	logQuery string
}

func mustManager(t *testing.T) *fakeManager {
	t.Helper()
	f := &fakeManager{tasks: map[string]*v1.Task{}, history: map[int64]watchEvent{},
		changed: make(chan struct{}), stop: make(chan struct{}), logMore: make(chan string, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/tasks", f.listTasks)
	mux.HandleFunc("GET /api/v1/tasks/{name}", f.getTask)
	mux.HandleFunc("PUT /api/v1/tasks/{name}", f.putTask)
	mux.HandleFunc("POST /api/v1/apply", f.applyBatch)
	mux.HandleFunc("DELETE /api/v1/tasks/{name}", f.deleteTask)
	mux.HandleFunc("GET /api/v1/tasks/{name}/logs", f.taskLogs)
	mux.HandleFunc("GET /api/v1/events", f.listEvents)
	mux.HandleFunc("GET /api/v1/endpoints", f.listEndpoints)
	mux.HandleFunc("GET /api/v1/workers", f.listWorkers)
	mux.HandleFunc("GET /api/v1/workers/{name}", f.getWorker)
	mux.HandleFunc("POST /api/v1/workers/{name}/{action}", f.workerAction)
	mux.HandleFunc("DELETE /api/v1/workers/{name}", f.deleteWorker)
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"version": "v9.9.9", "gitCommit": "abc123", "goVersion": "go1.26"})
	})
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusOK)
			return
		}
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
	t.Cleanup(func() {
		f.breakStreams()
		f.Close()
	})
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

// selects is the fake's label selector: "k=v" or nothing.
func selects(selector string, t *v1.Task) bool {
	k, v, _ := strings.Cut(selector, "=")
	return k == "" || t.Metadata.Labels[k] == v
}

// setLocked stores t as a change at a new revision.
func (f *fakeManager) setLocked(t v1.Task) {
	f.rv++
	t.Metadata.ResourceVersion = strconv.FormatInt(f.rv, 10)
	if t.Metadata.UID == "" {
		t.Metadata.UID = "uid-" + t.Metadata.Name
	}
	typ := v1.Modified
	if _, ok := f.tasks[t.Metadata.Name]; !ok {
		typ = v1.Added
	}
	f.tasks[t.Metadata.Name] = &t
	f.history[f.rv] = watchEvent{typ: typ, task: t}
	f.notifyLocked()
}

// removeLocked deletes the named Task as a change at a new revision.
func (f *fakeManager) removeLocked(name string) {
	t, ok := f.tasks[name]
	if !ok {
		return
	}
	delete(f.tasks, name)
	f.rv++
	last := *t
	last.Metadata.ResourceVersion = strconv.FormatInt(f.rv, 10)
	f.history[f.rv] = watchEvent{typ: v1.Deleted, task: last}
	f.notifyLocked()
}

func (f *fakeManager) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// breakStreams ends every open watch and log stream, as a manager that
// stops does; later ones are served again.
func (f *fakeManager) breakStreams() {
	f.mu.Lock()
	defer f.mu.Unlock()
	close(f.stop)
	f.stop = make(chan struct{})
}

func (f *fakeManager) listTasks(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("watch") == "true" {
		f.watchTasks(w, r)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lists++
	q := r.URL.Query()
	list := v1.TaskList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList}, Metadata: v1.ListMeta{ResourceVersion: strconv.FormatInt(f.rv, 10)}, Items: []v1.Task{}}
	for _, name := range slices.Sorted(maps.Keys(f.tasks)) {
		t := f.tasks[name]
		if selects(q.Get("labelSelector"), t) && (q.Get("worker") == "" || q.Get("worker") == t.Status.Worker) {
			list.Items = append(list.Items, *t)
		}
	}
	if q.Get("as") == "table" && !f.noTables {
		writeJSON(w, http.StatusOK, v1.TaskTable(list.Items, list.Metadata.ResourceVersion))
		return
	}
	writeJSON(w, http.StatusOK, list)
}

// watchTasks replays the changes after resourceVersion, then streams new
// ones until the client goes or breakStreams.
func (f *fakeManager) watchTasks(w http.ResponseWriter, r *http.Request) {
	sent, _ := strconv.ParseInt(r.URL.Query().Get("resourceVersion"), 10, 64)
	selector := r.URL.Query().Get("labelSelector")
	f.mu.Lock()
	f.watches++
	gone := f.goneNext
	f.goneNext = false
	stop := f.stop
	f.mu.Unlock()
	if gone {
		writeStatus(w, http.StatusGone, v1.StatusReasonGone, "too old resource version", nil)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	enc := json.NewEncoder(w)
	for {
		f.mu.Lock()
		var out []watchEvent
		for ; sent < f.rv; sent++ {
			if ev, ok := f.history[sent+1]; ok && selects(selector, &ev.task) {
				out = append(out, ev)
			}
		}
		changed := f.changed
		f.mu.Unlock()
		for _, ev := range out {
			if enc.Encode(v1.WatchEvent[*v1.Task]{Type: ev.typ, Object: &ev.task}) != nil {
				return
			}
		}
		_ = rc.Flush()
		select {
		case <-changed:
		case <-stop:
			return
		case <-r.Context().Done():
			return
		}
	}
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
	f.mu.Lock()
	f.putsInFlight++
	f.maxPutsInFlight = max(f.maxPutsInFlight, f.putsInFlight)
	delay := f.putDelay
	f.mu.Unlock()
	defer f.with(func(f *fakeManager) { f.putsInFlight-- })
	if delay != nil {
		time.Sleep(delay(r.PathValue("name")))
	}
	var in v1.Task
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	dry := r.URL.Query().Get("dryRun") == "All"
	f.mu.Lock()
	f.puts = append(f.puts, put{Name: r.PathValue("name"), DryRun: dry, Task: in})
	out, result, st := f.applyLocked(in, dry)
	after := f.afterPut
	f.mu.Unlock()
	if st != nil {
		writeJSON(w, st.Code, st)
		return
	}
	code := http.StatusOK
	if result == "created" {
		code = http.StatusCreated
	}
	w.Header().Set("Minkube-Apply-Result", result)
	writeJSON(w, code, out)
	if after != nil && !dry {
		go after(in.Metadata.Name)
	}
}

// applyBatch answers POST /api/v1/apply: each Task as putTask would.
func (f *fakeManager) applyBatch(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if f.noBatch {
		f.mu.Unlock()
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no route for POST /api/v1/apply", nil)
		return
	}
	f.batchesInFlight++
	f.maxBatchesInFlight = max(f.maxBatchesInFlight, f.batchesInFlight)
	delay := f.putDelay
	f.mu.Unlock()
	defer f.with(func(f *fakeManager) { f.batchesInFlight-- })
	var list v1.TaskList
	if err := json.NewDecoder(r.Body).Decode(&list); err != nil || list.Kind != v1.KindTaskList {
		writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, fmt.Sprintf("want a TaskList: %v", err), nil)
		return
	}
	dry := r.URL.Query().Get("dryRun") == "All"
	answer := v1.ApplyResultList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindApplyResultList}}
	var applied []string
	for _, in := range list.Items {
		if delay != nil {
			time.Sleep(delay(in.Metadata.Name) / 10)
		}
		f.mu.Lock()
		f.puts = append(f.puts, put{Name: in.Metadata.Name, DryRun: dry, Batch: true, Task: in})
		out, result, st := f.applyLocked(in, dry)
		f.mu.Unlock()
		if st != nil {
			answer.Items = append(answer.Items, v1.ApplyResultItem{Error: st})
			continue
		}
		answer.Items = append(answer.Items, v1.ApplyResultItem{Result: result, Task: &out})
		applied = append(applied, in.Metadata.Name)
	}
	f.mu.Lock()
	f.batches = append(f.batches, len(list.Items))
	after := f.afterPut
	f.mu.Unlock()
	writeJSON(w, http.StatusOK, answer)
	if after != nil && !dry {
		for _, name := range applied {
			go after(name)
		}
	}
}

// applyLocked applies in as the manager would and returns the Task as
// stored and the result, or the refusal.
func (f *fakeManager) applyLocked(in v1.Task, dry bool) (v1.Task, string, *v1.Status) {
	if f.invalid != nil {
		return v1.Task{}, "", &v1.Status{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus}, Status: "Failure",
			Reason: v1.StatusReasonInvalid, Code: http.StatusUnprocessableEntity, Message: fmt.Sprintf("Task %q is invalid", in.Metadata.Name),
			Details: &v1.StatusDetails{Causes: f.invalid}}
	}
	result := "created"
	out := in
	now := time.Now()
	out.Metadata.CreationTimestamp = &now
	out.Metadata.Generation = 1
	if old, ok := f.tasks[in.Metadata.Name]; ok {
		result = "configured"
		out = *old
		out.Metadata.Labels = in.Metadata.Labels
		if reflect.DeepEqual(old.Spec, in.Spec) && reflect.DeepEqual(old.Metadata.Labels, in.Metadata.Labels) {
			result = "unchanged"
		} else if !reflect.DeepEqual(old.Spec, in.Spec) {
			out.Spec = in.Spec
			out.Metadata.Generation++
		}
	}
	if !dry && result != "unchanged" {
		f.setLocked(out)
		out = *f.tasks[in.Metadata.Name]
	}
	return out, result, nil
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
	f.deletes = append(f.deletes, name)
	now := time.Now()
	out := *t
	out.Metadata.DeletionTimestamp = &now
	if f.graceful {
		f.setLocked(out)
	} else {
		f.removeLocked(name)
	}
	writeJSON(w, http.StatusAccepted, out)
}

func (f *fakeManager) taskLogs(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	t, ok := f.tasks[r.PathValue("name")]
	f.logQuery = r.URL.RawQuery
	lines := f.logLines
	more, stop := f.logMore, f.stop
	f.mu.Unlock()
	switch {
	case !ok:
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("task %q not found", r.PathValue("name")), nil)
		return
	case t.Status.Worker == "":
		writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, fmt.Sprintf("task %q has no worker yet (phase %s); its logs appear once it runs", t.Metadata.Name, t.Status.Phase), nil)
		return
	}
	if n, err := strconv.Atoi(r.URL.Query().Get("tail")); err == nil && n < len(lines) {
		lines = lines[len(lines)-n:]
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if r.URL.Query().Get("follow") != "true" {
		return
	}
	for {
		select {
		case l, ok := <-more:
			if !ok {
				return
			}
			fmt.Fprintln(w, l)
			_ = rc.Flush()
		case <-stop:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (f *fakeManager) listEvents(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	task := r.URL.Query().Get("task")
	list := v1.EventList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEventList}, Items: []v1.Event{}}
	for _, e := range f.events {
		if task == "" || (e.InvolvedObject.Kind == v1.KindTask && e.InvolvedObject.Name == task) {
			list.Items = append(list.Items, e)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

func (f *fakeManager) listWorkers(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listCode != 0 {
		writeStatus(w, f.listCode, v1.StatusReason(http.StatusText(f.listCode)), "refused by the test", nil)
		return
	}
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

// deleteWorker forgets a worker, recording "worker/NAME" as deleted.
func (f *fakeManager) deleteWorker(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name := r.PathValue("name")
	i := slices.IndexFunc(f.workers, func(wk v1.Worker) bool { return wk.Metadata.Name == name })
	if i < 0 {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("worker %q not found", name), nil)
		return
	}
	wk := f.workers[i]
	f.workers = slices.Delete(f.workers, i, i+1)
	f.deletes = append(f.deletes, "worker/"+name)
	writeJSON(w, http.StatusOK, wk)
}

// workerAction serves cordon, uncordon and drain. Drain unassigns the
// worker's unfinished Tasks and, with placeOn set, places them there.
func (f *fakeManager) workerAction(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	name, action := r.PathValue("name"), r.PathValue("action")
	i := slices.IndexFunc(f.workers, func(wk v1.Worker) bool { return wk.Metadata.Name == name })
	if i < 0 {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("worker %q not found", name), nil)
		return
	}
	f.actions = append(f.actions, action+" "+name)
	f.workers[i].Spec.Unschedulable = action != "uncordon"
	if action == "drain" {
		for _, tn := range slices.Sorted(maps.Keys(f.tasks)) {
			t := *f.tasks[tn]
			if t.Status.Worker != name || t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
				continue
			}
			t.Status = v1.TaskStatus{Phase: v1.PhasePending, Reason: "Drained", Message: "moved off worker " + name + " by drain"}
			f.setLocked(t)
			if f.placeOn != "" {
				t.Status = v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: f.placeOn}
				f.setLocked(t)
			}
		}
	}
	writeJSON(w, http.StatusOK, f.workers[i])
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

// addTask stores t, or replaces the Task of its name, as a change.
func (f *fakeManager) addTask(t v1.Task) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.setLocked(t)
}

// setStatus changes the status of the named Task.
func (f *fakeManager) setStatus(name string, st v1.TaskStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := *f.tasks[name]
	t.Status = st
	f.setLocked(t)
}

// finishDelete removes the named Task, as a finished graceful delete.
func (f *fakeManager) finishDelete(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.removeLocked(name)
}

// with runs fn with the fake locked, to set its knobs.
func (f *fakeManager) with(fn func(f *fakeManager)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// listCount returns how many Task lists were asked for.
func (f *fakeManager) listCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.lists
}

// mustEventually waits up to 15s for cond.
func mustEventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// revision returns the fake's revision, as its lists report it.
func (f *fakeManager) revision() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strconv.FormatInt(f.rv, 10)
}

// watchCount returns how many watches were asked for.
func (f *fakeManager) watchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches
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

// mustEnv is an environment for mkctl with vars (KEY=VALUE) set, where
// the stub managers' CA is $MINKUBE_CERTIFICATE_AUTHORITY unless vars set
// it.
func mustEnv(t *testing.T, vars ...string) *env {
	t.Helper()
	return &env{home: t.TempDir(), vars: append([]string{client.EnvCA + "=" + testCAFile}, vars...), dir: t.TempDir()}
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

// background is an mkctl run in the background whose output lines are read
// as they come: get -w, logs -f, wait.
type background struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr bytes.Buffer // read only after done
	done   chan struct{}
}

// mustStart starts mkctl with args; the test's end kills it if it runs on.
func (e *env) mustStart(t *testing.T, args ...string) *background {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), mkctlBin, args...)
	cmd.Env = append([]string{"HOME=" + e.home, "PATH=" + os.Getenv("PATH")}, e.vars...)
	cmd.Dir = e.dir
	b := &background{cmd: cmd, lines: make(chan string, 1024), done: make(chan struct{})}
	cmd.Stderr = &b.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start mkctl %v: %v", args, err)
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
	return b
}

// mustLine returns the next line of output.
func (b *background) mustLine(t *testing.T) string {
	t.Helper()
	select {
	case l, ok := <-b.lines:
		if !ok {
			<-b.done
			t.Fatalf("mkctl ended (exit %d, stderr %q) while a line was expected", b.cmd.ProcessState.ExitCode(), b.stderr.String())
		}
		return l
	case <-time.After(15 * time.Second):
		t.Fatal("no line from mkctl within 15s")
	}
	return ""
}

// mustFields returns the cells of the next line.
func (b *background) mustFields(t *testing.T) string {
	t.Helper()
	return strings.Join(strings.Fields(b.mustLine(t)), " ")
}

// interrupt sends SIGINT, as Ctrl-C does, and waits for the exit.
func (b *background) interrupt(t *testing.T) result {
	t.Helper()
	if err := b.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	return b.wait(t)
}

// wait waits for mkctl to exit by itself and returns the rest of its
// output.
func (b *background) wait(t *testing.T) result {
	t.Helper()
	var rest []string
	timeout := time.After(15 * time.Second)
	for {
		select {
		case l, ok := <-b.lines:
			if ok {
				rest = append(rest, l)
				continue
			}
			<-b.done
			out := strings.Join(rest, "\n")
			if len(rest) > 0 {
				out += "\n"
			}
			return result{stdout: out, stderr: b.stderr.String(), code: b.cmd.ProcessState.ExitCode()}
		case <-timeout:
			t.Fatal("mkctl did not exit within 15s")
		}
	}
}
