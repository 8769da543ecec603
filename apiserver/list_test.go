package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// wholeList encodes list the way the manager answered before lists were
// streamed: the whole object through one json.Encoder.
func wholeList(t *testing.T, list any) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(list); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// cachedTasks returns, by value and in list order, the cached Tasks named.
func cachedTasks(e *apiEnv, names []string) []v1.Task {
	items := []v1.Task{}
	for _, t := range e.st.TaskCache.List() {
		if slices.Contains(names, t.Metadata.Name) {
			items = append(items, *t)
		}
	}
	return items
}

// TestLists_StreamedAsTheWholeList checks that the streamed lists are, byte
// for byte, what encoding the whole list object wrote: empty lists,
// selectors, the worker filter, workers, events and a worker's own tasks,
// with items long enough to cross the write buffer and text that JSON
// escapes.
func TestLists_StreamedAsTheWholeList(t *testing.T) {
	e := mustAPIEnv(t)
	get := func(t *testing.T, path, token string) []byte {
		t.Helper()
		r := e.do(t, http.MethodGet, path, token, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", path, r.Code, r.Body)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type = %q", path, ct)
		}
		return r.Body
	}
	rev := func(c interface{ Revision() int64 }) v1.ListMeta {
		return v1.ListMeta{ResourceVersion: strconv.FormatInt(c.Revision(), 10)}
	}
	taskList := func(names ...string) []byte {
		return wholeList(t, &v1.TaskList{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList},
			Metadata: rev(e.st.TaskCache), Items: cachedTasks(e, names),
		})
	}

	t.Run("empty", func(t *testing.T) {
		want := fmt.Sprintf(`{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"%d"},"items":[]}`+"\n", e.st.TaskCache.Revision())
		for _, path := range []string{"/api/v1/tasks", "/api/v1/tasks?labelSelector=app%3Dweb", "/api/v1/tasks?worker=w1"} {
			if got := string(get(t, path, apiAdminToken)); got != want {
				t.Errorf("GET %s =\n%s\nwant\n%s", path, got, want)
			}
		}
		if got, want := get(t, "/api/v1/workers", apiAdminToken), wholeList(t, &v1.WorkerList{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorkerList}, Metadata: rev(e.st.WorkerCache), Items: []v1.Worker{},
		}); !bytes.Equal(got, want) {
			t.Errorf("GET /api/v1/workers =\n%s\nwant\n%s", got, want)
		}
	})

	// 300 Tasks of about 600 bytes each: the list crosses the write
	// buffer many times.
	long := strings.Repeat("x", 300)
	var all []string
	for i := range 300 {
		name := fmt.Sprintf("task-%03d", i)
		labels := map[string]string{"app": []string{"web", "db", "api"}[i%3]}
		status := v1.TaskStatus{Phase: v1.PhaseRunning, Worker: fmt.Sprintf("w%d", i%2+1), Message: long}
		if i == 7 {
			status.Message = `<script>alert("&")</script> é ✓`
		}
		e.mustStoredTask(t, name, labels, status)
		all = append(all, name)
	}
	every := func(step, from int) []string {
		var out []string
		for i := from; i < len(all); i += step {
			out = append(out, all[i])
		}
		return out
	}
	byWorker := func(w string, app string) []string {
		var out []string
		for i, n := range all {
			if fmt.Sprintf("w%d", i%2+1) == w && (app == "" || []string{"web", "db", "api"}[i%3] == app) {
				out = append(out, n)
			}
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"", all},
		{"?labelSelector=app%3Dweb", every(3, 0)},
		{"?labelSelector=app!%3Dweb", slices.DeleteFunc(slices.Clone(all), func(n string) bool { return slices.Contains(every(3, 0), n) })},
		{"?labelSelector=app+in+(db)", every(3, 1)},
		{"?worker=w2", byWorker("w2", "")},
		{"?worker=w1&labelSelector=app%3Dapi", byWorker("w1", "api")},
		{"?labelSelector=app%3Dnone", nil},
		{"?worker=w9", nil},
	}
	for _, tt := range tests {
		t.Run("tasks"+tt.query, func(t *testing.T) {
			got, want := get(t, "/api/v1/tasks"+tt.query, apiAdminToken), taskList(tt.want...)
			if !bytes.Equal(got, want) {
				t.Errorf("GET /api/v1/tasks%s: %d bytes differ from the whole list's %d bytes\ngot  %.300s\nwant %.300s", tt.query, len(got), len(want), got, want)
			}
			var list v1.TaskList
			if err := json.Unmarshal(got, &list); err != nil || len(list.Items) != len(tt.want) {
				t.Errorf("the answer decodes to %d items (%v), want %d", len(list.Items), err, len(tt.want))
			}
		})
	}

	t.Run("workers and a worker's tasks", func(t *testing.T) {
		token := e.mustAPIWorker(t, "w1")
		e.mustAPIWorker(t, "w2")
		var workers []v1.Worker
		for _, w := range e.st.WorkerCache.List() {
			workers = append(workers, *w)
		}
		want := wholeList(t, &v1.WorkerList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorkerList}, Metadata: rev(e.st.WorkerCache), Items: workers})
		if got := get(t, "/api/v1/workers", apiAdminToken); !bytes.Equal(got, want) {
			t.Errorf("GET /api/v1/workers =\n%s\nwant\n%s", got, want)
		}
		if got, want := get(t, "/api/v1/workers/w1/tasks", token), taskList(byWorker("w1", "")...); !bytes.Equal(got, want) {
			t.Errorf("GET /api/v1/workers/w1/tasks: %d bytes differ from the whole list's %d bytes", len(got), len(want))
		}
	})

	t.Run("events", func(t *testing.T) {
		rec := e.st.Recorder("test", nil)
		for i := range 3 {
			task, _ := e.st.TaskCache.Get(all[i])
			rec.Eventf(t.Context(), store.TaskRef(task), v1.EventNormal, "Tested", fmt.Sprintf("event <%d> & more", i))
		}
		deadline := time.Now().Add(apiWaitTimeout)
		for e.st.EventCache.Len() < 3 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		eventList := func(task string) []byte {
			items := []v1.Event{}
			kind := ""
			if task != "" {
				kind = v1.KindTask
			}
			for _, ev := range e.st.EventsFor(kind, task) {
				items = append(items, *ev)
			}
			return wholeList(t, &v1.EventList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEventList}, Metadata: rev(e.st.EventCache), Items: items})
		}
		for _, task := range []string{"", all[1], "missing"} {
			got, want := get(t, "/api/v1/events?task="+task, apiAdminToken), eventList(task)
			if !bytes.Equal(got, want) {
				t.Errorf("GET /api/v1/events?task=%s =\n%s\nwant\n%s", task, got, want)
			}
		}
		if n := bytes.Count(get(t, "/api/v1/events", apiAdminToken), []byte(`"reason":"Tested"`)); n != 3 {
			t.Errorf("the events list holds %d of the 3 events", n)
		}
	})
}
