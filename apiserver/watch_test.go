package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
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

func TestWatch_BadResourceVersion(t *testing.T) {
	e := mustAPIEnv(t)
	for _, rv := range []string{"abc", "-1"} {
		t.Run(rv, func(t *testing.T) {
			mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks?watch=true&resourceVersion="+rv, apiAdminToken, nil), http.StatusBadRequest, v1.StatusReasonBadRequest)
		})
	}
}
