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
	"github.com/minkube/minkube/store/statetest"
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
		if err := e.st.FlushEvents(t.Context()); err != nil {
			t.Fatal(err)
		}
		for _, task := range []string{"", all[1], "missing"} {
			got := get(t, "/api/v1/events?task="+task, apiAdminToken)
			// The list is read from the store: at its revision then,
			// which is at least that of the events it holds.
			var head struct {
				Metadata v1.ListMeta `json:"metadata"`
			}
			if err := json.Unmarshal(got, &head); err != nil {
				t.Fatalf("GET /api/v1/events?task=%s: %v", task, err)
			}
			listRev, _ := store.ParseResourceVersion(head.Metadata.ResourceVersion)
			kind := ""
			if task != "" {
				kind = v1.KindTask
			}
			items := []v1.Event{}
			for _, ev := range statetest.Events(t, e.st, kind, task) {
				if rv, _ := store.ParseResourceVersion(ev.Metadata.ResourceVersion); rv > listRev {
					t.Errorf("GET /api/v1/events?task=%s is at revision %d, before its event %s (%d)", task, listRev, ev.Metadata.Name, rv)
				}
				items = append(items, *ev)
			}
			want := wholeList(t, &v1.EventList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEventList}, Metadata: head.Metadata, Items: items})
			if !bytes.Equal(got, want) {
				t.Errorf("GET /api/v1/events?task=%s =\n%s\nwant\n%s", task, got, want)
			}
		}
		if n := bytes.Count(get(t, "/api/v1/events", apiAdminToken), []byte(`"reason":"Tested"`)); n != 3 {
			t.Errorf("the events list holds %d of the 3 events", n)
		}
	})
}

// TestTasks_Table checks GET /api/v1/tasks?as=table: the Task table of the
// Tasks the selectors let through, in the shape of v1.Table, and a clear
// refusal of what it cannot do.
func TestTasks_Table(t *testing.T) {
	e := mustAPIEnv(t)
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func(name string, labels map[string]string, mutate func(*v1.Task)) {
		task := store.NewTask(&v1.Task{
			Metadata: v1.ObjectMeta{Name: name, Labels: labels},
			Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", RestartPolicy: v1.RestartAlways, Ports: []v1.Port{{ContainerPort: 8080}}},
		}, created)
		mutate(task)
		out, err := e.st.Tasks.Create(t.Context(), task)
		if err != nil {
			t.Fatal(err)
		}
		mustCacheRevision(t, e.st.TaskCache.WaitForRevision, out.Metadata.ResourceVersion)
	}
	mk("api", map[string]string{"app": "api"}, func(t *v1.Task) {
		t.Status = v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1", RestartCount: 3,
			Ports: []v1.PortStatus{{ContainerPort: 8080, HostPort: 31000, Protocol: v1.ProtocolUDP}}}
	})
	mk("db", map[string]string{"app": "db"}, func(t *v1.Task) {
		t.Status = v1.TaskStatus{Phase: v1.PhasePending, Reason: "Unschedulable"}
	})
	mk("fresh", nil, func(t *v1.Task) {})

	get := func(t *testing.T, query string) (v1.Table, []byte) {
		t.Helper()
		r := e.do(t, http.MethodGet, "/api/v1/tasks"+query, apiAdminToken, nil)
		if r.Code != http.StatusOK {
			t.Fatalf("GET %s = %d %s", query, r.Code, r.Body)
		}
		var tbl v1.Table
		mustDecode(t, r, &tbl)
		return tbl, r.Body
	}
	stamp := created.Format(time.RFC3339Nano)
	rows := map[string][]string{
		"api":   {"api", "Running", "w1", "3", stamp, "minkube/testapp:dev", "31000->8080/UDP", "<none>"},
		"db":    {"db", "Pending", "<none>", "0", stamp, "minkube/testapp:dev", "8080/TCP", "Unschedulable"},
		"fresh": {"fresh", "Pending", "<none>", "0", stamp, "minkube/testapp:dev", "8080/TCP", "<none>"},
	}
	tests := []struct {
		query string
		want  []string
	}{
		{"?as=table", []string{"api", "db", "fresh"}},
		{"?as=Table&labelSelector=app", []string{"api", "db"}},
		{"?as=table&labelSelector=app%3Ddb", []string{"db"}},
		{"?as=table&worker=w1", []string{"api"}},
		{"?as=table&labelSelector=app%3Dnone", nil},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			tbl, body := get(t, tt.query)
			if tbl.APIVersion != v1.APIVersion || tbl.Kind != v1.KindTable {
				t.Errorf("answer is %s/%s, want %s/%s", tbl.APIVersion, tbl.Kind, v1.APIVersion, v1.KindTable)
			}
			if want := strconv.FormatInt(e.st.TaskCache.Revision(), 10); tbl.Metadata.ResourceVersion != want {
				t.Errorf("resourceVersion = %q, want %q", tbl.Metadata.ResourceVersion, want)
			}
			var names []string
			for _, c := range tbl.ColumnDefinitions {
				names = append(names, fmt.Sprintf("%s/%s/%d", c.Name, c.Type, c.Priority))
			}
			if got, want := strings.Join(names, " "), "NAME/string/0 PHASE/string/0 WORKER/string/0 RESTARTS/integer/0 AGE/date/0 IMAGE/string/1 PORTS/string/1 REASON/string/1"; got != want {
				t.Errorf("columns = %s\nwant      %s", got, want)
			}
			if tbl.Rows == nil {
				t.Errorf("rows is null, want a list: %s", body)
			}
			var got [][]string
			for _, r := range tbl.Rows {
				got = append(got, r.Cells)
			}
			var want [][]string
			for _, n := range tt.want {
				want = append(want, rows[n])
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rows =\n%q\nwant\n%q", got, want)
			}
			// The streamed table is what encoding the whole Table writes.
			if whole := wholeList(t, v1.TaskTable(cachedTasks(e, tt.want), tbl.Metadata.ResourceVersion)); !bytes.Equal(body, whole) {
				t.Errorf("streamed table\n%s\ndiffers from the whole Table\n%s", body, whole)
			}
		})
	}

	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks?as=yaml", apiAdminToken, nil), http.StatusBadRequest, v1.StatusReasonBadRequest)
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks?as=table&watch=true", apiAdminToken, nil), http.StatusBadRequest, v1.StatusReasonBadRequest)
}
