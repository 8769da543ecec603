package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// watchLine is one event of a watch stream, as decoded by a client.
type watchLine struct {
	Type   v1.WatchEventType
	Name   string
	Labels map[string]string
	Task   v1.Task
}

// watchStream reads a watch response line by line.
type watchStream struct {
	lines chan watchLine
	errs  chan error
}

// mustWatch opens GET /api/v1/tasks?watch=true&QUERY and reads its lines
// in the background until the test ends.
func (e *apiEnv) mustWatch(t *testing.T, query string) *watchStream {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/tasks?watch=true"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiAdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("watch = %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("watch Content-Type = %q, want application/json", ct)
	}
	ws := &watchStream{lines: make(chan watchLine, 100), errs: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			var ev struct {
				Type   v1.WatchEventType `json:"type"`
				Object v1.Task           `json:"object"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				ws.errs <- err
				return
			}
			ws.lines <- watchLine{Type: ev.Type, Name: ev.Object.Metadata.Name, Labels: ev.Object.Metadata.Labels, Task: ev.Object}
		}
		if err := sc.Err(); err != nil && ctx.Err() == nil {
			ws.errs <- err
		}
		close(ws.lines)
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
	return ws
}

// next returns the next line, failing the test when none comes in time.
func (ws *watchStream) next(t *testing.T) watchLine {
	t.Helper()
	select {
	case l, ok := <-ws.lines:
		if !ok {
			t.Fatal("watch stream ended")
		}
		return l
	case err := <-ws.errs:
		t.Fatalf("watch stream: %v", err)
	case <-time.After(apiWaitTimeout):
		t.Fatal("no watch event in time")
	}
	return watchLine{}
}

// mustNext checks that the next line has the given type and name.
func (ws *watchStream) mustNext(t *testing.T, typ v1.WatchEventType, name string) watchLine {
	t.Helper()
	l := ws.next(t)
	if l.Type != typ || l.Name != name {
		t.Fatalf("watch event %s %s, want %s %s", l.Type, l.Name, typ, name)
	}
	return l
}

func TestWatch_FromResourceVersion(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustApplyTask(t, "before", taskJSON("before", "nginx:1.27", nil), http.StatusCreated, "created")

	r := e.do(t, http.MethodGet, "/api/v1/tasks", apiAdminToken, nil)
	var list v1.TaskList
	mustDecode(t, r, &list)
	ws := e.mustWatch(t, "&resourceVersion="+list.Metadata.ResourceVersion)

	created := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", nil), http.StatusCreated, "created")
	e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", map[string]string{"app": "web"}), http.StatusOK, "configured")
	if r := e.do(t, http.MethodDelete, "/api/v1/tasks/web", apiAdminToken, nil); r.Code != http.StatusAccepted {
		t.Fatalf("DELETE = %d", r.Code)
	}
	// The scheduler removes the object once its worker stopped it.
	if err := e.st.Tasks.Delete(t.Context(), "web", ""); err != nil {
		t.Fatal(err)
	}

	// Nothing of "before": it was in the list the watch started from.
	added := ws.mustNext(t, v1.Added, "web")
	if added.Task.Metadata.UID != created.Metadata.UID || added.Task.Metadata.ResourceVersion != created.Metadata.ResourceVersion {
		t.Errorf("ADDED object = %+v, want the created task", added.Task.Metadata)
	}
	if l := ws.mustNext(t, v1.Modified, "web"); l.Labels["app"] != "web" {
		t.Errorf("MODIFIED labels = %v, want app=web", l.Labels)
	}
	if l := ws.mustNext(t, v1.Modified, "web"); l.Task.Metadata.DeletionTimestamp == nil {
		t.Error("MODIFIED of the delete has no deletionTimestamp")
	}
	ws.mustNext(t, v1.Deleted, "web")
}

func TestWatch_FromNow(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustStoredTask(t, "b", map[string]string{"app": "web"}, v1.TaskStatus{Phase: v1.PhasePending})
	e.mustStoredTask(t, "a", map[string]string{"app": "db"}, v1.TaskStatus{Phase: v1.PhasePending})

	all := e.mustWatch(t, "")
	webOnly := e.mustWatch(t, "&labelSelector=app%3Dweb")

	// First an ADDED for every task held, in name order.
	all.mustNext(t, v1.Added, "a")
	all.mustNext(t, v1.Added, "b")
	webOnly.mustNext(t, v1.Added, "b")

	e.mustApplyTask(t, "c", taskJSON("c", "nginx:1.27", map[string]string{"app": "web"}), http.StatusCreated, "created")
	e.mustApplyTask(t, "d", taskJSON("d", "nginx:1.27", map[string]string{"app": "db"}), http.StatusCreated, "created")
	all.mustNext(t, v1.Added, "c")
	all.mustNext(t, v1.Added, "d")
	webOnly.mustNext(t, v1.Added, "c")

	// A change that matches again comes through; d never matched, so the
	// next line of the filtered watch is about c.
	e.mustApplyTask(t, "d", taskJSON("d", "nginx:1.28", map[string]string{"app": "db"}), http.StatusOK, "configured")
	e.mustApplyTask(t, "c", taskJSON("c", "nginx:1.28", map[string]string{"app": "web"}), http.StatusOK, "configured")
	all.mustNext(t, v1.Modified, "d")
	all.mustNext(t, v1.Modified, "c")
	if l := webOnly.mustNext(t, v1.Modified, "c"); l.Task.Metadata.Generation != 2 {
		t.Errorf("MODIFIED c generation = %d, want 2", l.Task.Metadata.Generation)
	}
}

// TestWatch_FilteredFlushesBeforeDroppedEvents: a change the filter
// passes, followed at once by changes it drops, reaches the watcher
// without waiting for a later change. The watch resumes from before the
// changes, so they are ready together.
func TestWatch_FilteredFlushesBeforeDroppedEvents(t *testing.T) {
	e := mustAPIEnv(t)
	from := e.mustStoredTask(t, "a", map[string]string{"app": "db"}, v1.TaskStatus{Phase: v1.PhasePending})
	e.mustStoredTask(t, "web", map[string]string{"app": "web"}, v1.TaskStatus{Phase: v1.PhasePending})
	for i := range 50 {
		e.mustStoredTask(t, fmt.Sprintf("db-%02d", i), map[string]string{"app": "db"}, v1.TaskStatus{Phase: v1.PhasePending})
	}
	ws := e.mustWatch(t, "&labelSelector=app%3Dweb&resourceVersion="+from.Metadata.ResourceVersion)
	ws.mustNext(t, v1.Added, "web")
}

func TestWatch_BadResourceVersion(t *testing.T) {
	e := mustAPIEnv(t)
	for _, rv := range []string{"abc", "-1"} {
		t.Run(rv, func(t *testing.T) {
			mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks?watch=true&resourceVersion="+rv, apiAdminToken, nil), http.StatusBadRequest, v1.StatusReasonBadRequest)
		})
	}
}

// mustSetWorker records the task on worker, as the scheduler does.
func (e *apiEnv) mustSetWorker(t *testing.T, name, worker string) {
	t.Helper()
	out, err := e.st.Tasks.GuaranteedUpdate(t.Context(), name, func(task *v1.Task) (*v1.Task, error) {
		task.Status.Worker = worker
		return task, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.TaskCache.WaitForRevision, out.Metadata.ResourceVersion)
}

// TestWatch_FilteredFollowsTasksInAndOut: a task that stops matching a
// filtered watch comes as DELETED, one that starts matching as ADDED.
func TestWatch_FilteredFollowsTasksInAndOut(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustStoredTask(t, "web", map[string]string{"app": "web"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	onW1 := e.mustWatch(t, "&worker=w1")
	webOnly := e.mustWatch(t, "&labelSelector=app%3Dweb")
	onW1.mustNext(t, v1.Added, "web")
	webOnly.mustNext(t, v1.Added, "web")

	// It moves to w2: the w1 watcher sees it leave, with where it went.
	e.mustSetWorker(t, "web", "w2")
	if l := onW1.mustNext(t, v1.Deleted, "web"); l.Task.Status.Worker != "w2" {
		t.Errorf("DELETED carries worker %q, want the new state (w2)", l.Task.Status.Worker)
	}
	webOnly.mustNext(t, v1.Modified, "web")
	// ... and come back.
	e.mustSetWorker(t, "web", "w1")
	onW1.mustNext(t, v1.Added, "web")
	webOnly.mustNext(t, v1.Modified, "web")

	// A relabel takes it out of the selector, and back in.
	e.mustApplyTask(t, "web", taskJSON("web", "minkube/testapp:dev", map[string]string{"app": "db"}), http.StatusOK, "configured")
	webOnly.mustNext(t, v1.Deleted, "web")
	onW1.mustNext(t, v1.Modified, "web")
	e.mustApplyTask(t, "web", taskJSON("web", "minkube/testapp:dev", map[string]string{"app": "web"}), http.StatusOK, "configured")
	webOnly.mustNext(t, v1.Added, "web")
	onW1.mustNext(t, v1.Modified, "web")

	// A task that never matched stays unseen, even when deleted.
	e.mustStoredTask(t, "other", map[string]string{"app": "db"}, v1.TaskStatus{Phase: v1.PhasePending})
	if err := e.st.Tasks.Delete(t.Context(), "other", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.st.Tasks.Delete(t.Context(), "web", ""); err != nil {
		t.Fatal(err)
	}
	webOnly.mustNext(t, v1.Deleted, "web")
	onW1.mustNext(t, v1.Deleted, "web")
}

// TestWatch_FilteredResumes: a filtered watch resumed from a revision
// knows what the client held then.
func TestWatch_FilteredResumes(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustStoredTask(t, "stays", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	e.mustStoredTask(t, "leaves", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	r := e.do(t, http.MethodGet, "/api/v1/tasks?worker=w1", apiAdminToken, nil)
	var list v1.TaskList
	mustDecode(t, r, &list)
	if len(list.Items) != 2 {
		t.Fatalf("list = %d tasks, want 2", len(list.Items))
	}
	// Changes while the client is away.
	e.mustSetWorker(t, "leaves", "w2")
	e.mustStoredTask(t, "arrives", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	ws := e.mustWatch(t, "&worker=w1&resourceVersion="+list.Metadata.ResourceVersion)
	ws.mustNext(t, v1.Deleted, "leaves")
	ws.mustNext(t, v1.Added, "arrives")
	e.mustSetWorker(t, "stays", "w2")
	ws.mustNext(t, v1.Deleted, "stays")
}

// TestWatch_ResumesFromBeforeWhatTheCacheKeeps: the manager's cache keeps
// the last 256 changes for watchers that resume; a watch from further
// back gets every change after its revision all the same, from the store.
func TestWatch_ResumesFromBeforeWhatTheCacheKeeps(t *testing.T) {
	e := mustAPIEnv(t)
	r := e.do(t, http.MethodGet, "/api/v1/tasks", apiAdminToken, nil)
	var list v1.TaskList
	mustDecode(t, r, &list)
	from, err := store.ParseResourceVersion(list.Metadata.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}

	const n = 300
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < n; i += 16 {
				if _, err := e.st.Tasks.Create(t.Context(), storedTask(fmt.Sprintf("t%04d", i), nil)); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	last := e.mustStoredTask(t, "last", nil, v1.TaskStatus{Phase: v1.PhasePending})

	ws := e.mustWatch(t, "&resourceVersion="+list.Metadata.ResourceVersion)
	seen := map[string]bool{}
	prev := from
	for len(seen) < n {
		l := ws.next(t)
		rev, err := store.ParseResourceVersion(l.Task.Metadata.ResourceVersion)
		if err != nil || rev <= prev || l.Type != v1.Added || seen[l.Name] {
			t.Fatalf("after %d changes: %s %s at %q (previous at %d)", len(seen), l.Type, l.Name, l.Task.Metadata.ResourceVersion, prev)
		}
		seen[l.Name], prev = true, rev
	}
	if l := ws.mustNext(t, v1.Added, "last"); l.Task.Metadata.ResourceVersion != last.Metadata.ResourceVersion {
		t.Errorf("last at %s, want %s", l.Task.Metadata.ResourceVersion, last.Metadata.ResourceVersion)
	}
}
