package apiserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
)

// mustApplyList POSTs items as a TaskList to /api/v1/apply (query
// appended) and returns its items, checking there is one per Task sent.
func (e *apiEnv) mustApplyList(t *testing.T, query string, items ...any) []v1.ApplyResultItem {
	t.Helper()
	r := e.do(t, http.MethodPost, "/api/v1/apply"+query, apiAdminToken, map[string]any{"apiVersion": v1.APIVersion, "kind": v1.KindTaskList, "items": items})
	if r.Code != http.StatusOK {
		t.Fatalf("POST /api/v1/apply = %d %s, want 200", r.Code, r.Body)
	}
	var out v1.ApplyResultList
	mustDecode(t, r, &out)
	if out.Kind != v1.KindApplyResultList || len(out.Items) != len(items) {
		t.Fatalf("answer of kind %q with %d items for %d tasks", out.Kind, len(out.Items), len(items))
	}
	return out.Items
}

// outcome is what a PUT or an item of a batch came to, in the terms both
// share: the result and the stored Task's spec, labels and generation, or
// the refusal's code, reason and causes.
type outcome struct {
	Result     string
	Image      string
	Labels     map[string]string
	Generation int64
	Code       int
	Reason     v1.StatusReason
	Causes     []v1.StatusCause
}

func putOutcome(t *testing.T, r apiResponse) outcome {
	t.Helper()
	if r.Code >= 300 {
		var st v1.Status
		mustDecode(t, r, &st)
		return statusOutcome(st)
	}
	var task v1.Task
	mustDecode(t, r, &task)
	return outcome{Result: r.Header.Get(apiserver.ApplyResultHeader), Image: task.Spec.Image, Labels: task.Metadata.Labels, Generation: task.Metadata.Generation}
}

func itemOutcome(it v1.ApplyResultItem) outcome {
	if it.Error != nil {
		return statusOutcome(*it.Error)
	}
	return outcome{Result: it.Result, Image: it.Task.Spec.Image, Labels: it.Task.Metadata.Labels, Generation: it.Task.Metadata.Generation}
}

func statusOutcome(st v1.Status) outcome {
	o := outcome{Code: st.Code, Reason: st.Reason}
	if st.Details != nil {
		o.Causes = st.Details.Causes
	}
	return o
}

// A batch applies each Task as its own PUT would, in order, in one
// request: the same results and the same refusals, while the Tasks around
// a refused one are applied.
func TestApplyTasks_AsEachPUT(t *testing.T) {
	noImage := taskJSON("noimage", "", nil)
	unknownField := taskJSON("unknown", "nginx:1.27", nil)
	unknownField["spec"].(map[string]any)["imag"] = "typo"
	badLabel := taskJSON("badlabel", "nginx:1.27", map[string]string{"app": "not a label value"})
	rounds := [][]map[string]any{
		{taskJSON("web", "nginx:1.27", map[string]string{"app": "web"}), noImage, taskJSON("db", "postgres:16", nil), unknownField, badLabel},
		{
			taskJSON("web", "nginx:1.27", map[string]string{"app": "web"}),   // unchanged
			taskJSON("db", "postgres:17", nil),                               // a new spec
			taskJSON("web", "nginx:1.27", map[string]string{"app": "front"}), // relabelled
			taskJSON("cache", "redis:7", nil),
		},
	}
	byPut, byBatch := mustAPIEnv(t), mustAPIEnv(t)
	for n, round := range rounds {
		want := make([]outcome, len(round))
		items := make([]any, len(round))
		for i, body := range round {
			want[i] = putOutcome(t, byPut.do(t, http.MethodPut, "/api/v1/tasks/"+body["metadata"].(map[string]any)["name"].(string), apiAdminToken, body))
			items[i] = body
		}
		got := byBatch.mustApplyList(t, "", items...)
		for i := range round {
			if g := itemOutcome(got[i]); !reflect.DeepEqual(g, want[i]) {
				t.Errorf("round %d, task %d: batch %+v, PUT %+v", n, i, g, want[i])
			}
		}
	}
	// The refusals refused something: the rounds are not all successes.
	if o := itemOutcome(byBatch.mustApplyList(t, "", noImage)[0]); o.Code != http.StatusUnprocessableEntity || len(o.Causes) == 0 || o.Causes[0].Field != "spec.image" {
		t.Errorf("a task without an image = %+v, want 422 naming spec.image", o)
	}

	// Read-your-writes: what the answer says is what a GET right after
	// returns, and only what was applied is stored.
	for name, image := range map[string]string{"web": "nginx:1.27", "db": "postgres:17", "cache": "redis:7"} {
		r := byBatch.do(t, http.MethodGet, "/api/v1/tasks/"+name, apiAdminToken, nil)
		var task v1.Task
		mustDecode(t, r, &task)
		if r.Code != http.StatusOK || task.Spec.Image != image {
			t.Errorf("GET %s = %d, image %q, want %q", name, r.Code, task.Spec.Image, image)
		}
	}
	for _, name := range []string{"noimage", "unknown", "badlabel"} {
		if _, ok := byBatch.st.TaskCache.Get(name); ok {
			t.Errorf("refused task %q was stored", name)
		}
	}
}

func TestApplyTasks_DryRunAndManaged(t *testing.T) {
	e := mustAPIEnv(t)
	managed := taskJSON("web", "nginx:1.27", nil)
	managed["metadata"].(map[string]any)["annotations"] = map[string]string{v1.AnnotationSource: "web.yaml"}
	e.mustApplyTask(t, "web", managed, http.StatusCreated, "created")

	got := e.mustApplyList(t, "?dryRun=All", taskJSON("web", "nginx:1.28", nil), taskJSON("new", "nginx:1.28", nil))
	if st := got[0].Error; st == nil || st.Code != http.StatusConflict || st.Details == nil || st.Details.Causes[0].Field != v1.FieldAnnotationSource {
		t.Errorf("a change to a managed task = %+v, want 409 naming %s", got[0], v1.FieldAnnotationSource)
	}
	if got[1].Result != "created" || got[1].Task == nil || got[1].Task.Spec.Image != "nginx:1.28" {
		t.Errorf("dry run of a new task = %+v, want created", got[1])
	}
	if _, ok := e.st.TaskCache.Get("new"); ok {
		t.Error("a dry run stored a task")
	}
	if _, err := e.st.Tasks.Get(t.Context(), "new"); err == nil {
		t.Error("a dry run stored a task")
	}

	got = e.mustApplyList(t, "?force=true", taskJSON("web", "nginx:1.28", nil))
	if got[0].Result != "configured" || got[0].Task.Spec.Image != "nginx:1.28" || got[0].Task.Metadata.Annotations[v1.AnnotationSource] != "" {
		t.Errorf("forced apply = %+v, want the change applied and the source dropped", got[0])
	}
}

func TestApplyTasks_Refused(t *testing.T) {
	e := mustAPIEnv(t)
	tooMany := make([]any, v1.MaxApplyItems+1)
	for i := range tooMany {
		tooMany[i] = map[string]any{}
	}
	for _, c := range []struct {
		name, token string
		body        any
		code        int
		message     string
	}{
		{"a task", apiAdminToken, taskJSON("web", "nginx:1.27", nil), http.StatusBadRequest, `unknown field "name"`},
		{"another kind", apiAdminToken, map[string]any{"kind": v1.KindWorkerList, "items": []any{}}, http.StatusBadRequest, "send a TaskList"},
		{"another version", apiAdminToken, map[string]any{"apiVersion": "v2", "kind": v1.KindTaskList, "items": []any{}}, http.StatusBadRequest, "send a TaskList"},
		{"malformed", apiAdminToken, `{"kind":"TaskList","items":[`, http.StatusBadRequest, "malformed JSON"},
		{"too many", apiAdminToken, map[string]any{"kind": v1.KindTaskList, "items": tooMany}, http.StatusBadRequest, "at most 1000"},
		{"too large", apiAdminToken, `{"kind":"TaskList","items":[` + strings.Repeat(" ", apiserver.MaxBodyBytes) + `]}`, http.StatusRequestEntityTooLarge, "larger than"},
		{"no token", "", map[string]any{"kind": v1.KindTaskList, "items": []any{taskJSON("web", "nginx:1.27", nil)}}, http.StatusUnauthorized, ""},
		{"join token", apiJoinToken, map[string]any{"kind": v1.KindTaskList, "items": []any{taskJSON("web", "nginx:1.27", nil)}}, http.StatusForbidden, "may not POST"},
	} {
		r := e.do(t, http.MethodPost, "/api/v1/apply", c.token, c.body)
		var st v1.Status
		mustDecode(t, r, &st)
		if r.Code != c.code || !strings.Contains(st.Message, c.message) {
			t.Errorf("%s: %d %q, want %d saying %q", c.name, r.Code, st.Message, c.code, c.message)
		}
	}
	if n := e.st.TaskCache.Len(); n != 0 {
		t.Errorf("%d tasks stored by refused requests", n)
	}
	// An empty list is no error.
	if got := e.mustApplyList(t, ""); len(got) != 0 {
		t.Errorf("empty apply answered %v", got)
	}
}

// A create answers with the Task as stored: the same JSON a GET returns,
// whether by PUT, by a batch or by POST, with labels, annotations and a
// spec beyond the image (the answer is the object written, not a read
// of it).
func TestApplyTask_CreateAnswersTheStoredTask(t *testing.T) {
	e := mustAPIEnv(t)
	full := func(name string) map[string]any {
		body := taskJSON(name, "nginx:1.27", map[string]string{"app": "web", "tier": "front"})
		body["metadata"].(map[string]any)["annotations"] = map[string]string{"note": "x"}
		spec := body["spec"].(map[string]any)
		spec["args"] = []string{"--port", "80"}
		spec["env"] = []map[string]string{{"name": "A", "value": "1"}}
		return body
	}
	answers := map[string][]byte{}
	r := e.do(t, http.MethodPut, "/api/v1/tasks/by-put", apiAdminToken, full("by-put"))
	if r.Code != http.StatusCreated {
		t.Fatalf("PUT = %d %s", r.Code, r.Body)
	}
	answers["by-put"] = r.Body
	r = e.do(t, http.MethodPost, "/api/v1/tasks", apiAdminToken, full("by-post"))
	if r.Code != http.StatusCreated {
		t.Fatalf("POST = %d %s", r.Code, r.Body)
	}
	answers["by-post"] = r.Body
	item := e.mustApplyList(t, "", full("by-batch"))[0]
	if item.Task == nil {
		t.Fatalf("batch create = %+v", item)
	}
	data, err := json.Marshal(item.Task)
	if err != nil {
		t.Fatal(err)
	}
	answers["by-batch"] = data
	for name, answer := range answers {
		g := e.do(t, http.MethodGet, "/api/v1/tasks/"+name, apiAdminToken, nil)
		var got, want v1.Task
		mustDecode(t, g, &want)
		if err := json.Unmarshal(answer, &got); err != nil {
			t.Fatalf("%s: answer %s: %v", name, answer, err)
		}
		if want.Metadata.Annotations["note"] != "x" || len(want.Spec.Args) != 2 || len(want.Spec.Env) != 1 {
			t.Fatalf("%s: stored %+v lacks what was sent", name, want)
		}
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		if string(a) != string(b) {
			t.Errorf("%s: the create answered\n%s\nand a GET returns\n%s", name, a, b)
		}
	}
}

// Tasks of one name in one batch are applied in the order sent, as PUTs
// one after the other would be: the last one stays, and each result says
// what its own apply did.
func TestApplyTasks_OneNameInOrder(t *testing.T) {
	e := mustAPIEnv(t)
	const n = 40
	items := make([]any, n)
	for i := range items {
		items[i] = taskJSON("web", "nginx:1.27", map[string]string{"v": fmt.Sprint(i)})
	}
	got := e.mustApplyList(t, "", items...)
	for i, it := range got {
		want := "configured"
		if i == 0 {
			want = "created"
		}
		if it.Error != nil || it.Result != want || it.Task.Metadata.Labels["v"] != fmt.Sprint(i) {
			t.Errorf("item %d: %+v, want %s with v=%d", i, it, want, i)
		}
	}
	stored, err := e.st.Tasks.Get(t.Context(), "web")
	if err != nil || stored.Metadata.Labels["v"] != fmt.Sprint(n-1) {
		t.Errorf("stored %v, %v; want the last one sent, v=%d", stored, err, n-1)
	}
}
