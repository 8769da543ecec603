package apiserver_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/store"
)

// mustApplyTask PUTs body and checks the code and apply result.
func (e *apiEnv) mustApplyTask(t *testing.T, name string, body any, code int, result string) *v1.Task {
	t.Helper()
	r := e.do(t, http.MethodPut, "/api/v1/tasks/"+name, apiAdminToken, body)
	if r.Code != code {
		t.Fatalf("PUT %s = %d, want %d; body %s", name, r.Code, code, r.Body)
	}
	if got := r.Header.Get(apiserver.ApplyResultHeader); got != result {
		t.Errorf("%s = %q, want %q", apiserver.ApplyResultHeader, got, result)
	}
	var out v1.Task
	mustDecode(t, r, &out)
	return &out
}

func TestTasks_Apply(t *testing.T) {
	e := mustAPIEnv(t)

	created := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", map[string]string{"app": "web"}), http.StatusCreated, "created")
	if created.Metadata.Generation != 1 || created.Metadata.UID == "" || created.Metadata.ResourceVersion == "" || created.Metadata.CreationTimestamp == nil {
		t.Errorf("created metadata = %+v, want generation 1, a uid, a resourceVersion and a creation time", created.Metadata)
	}
	if created.Status.Phase != v1.PhasePending {
		t.Errorf("created phase = %q, want Pending", created.Status.Phase)
	}
	if created.Spec.RestartPolicy != v1.RestartAlways {
		t.Errorf("restartPolicy = %q, want the default Always", created.Spec.RestartPolicy)
	}

	same := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", map[string]string{"app": "web"}), http.StatusOK, "unchanged")
	if same.Metadata.ResourceVersion != created.Metadata.ResourceVersion || same.Metadata.Generation != 1 {
		t.Errorf("unchanged apply moved the task: rv %s -> %s, generation %d", created.Metadata.ResourceVersion, same.Metadata.ResourceVersion, same.Metadata.Generation)
	}

	relabelled := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", map[string]string{"app": "web", "tier": "front"}), http.StatusOK, "configured")
	if relabelled.Metadata.Generation != 1 {
		t.Errorf("generation after a label change = %d, want 1", relabelled.Metadata.Generation)
	}
	if relabelled.Metadata.Labels["tier"] != "front" {
		t.Errorf("labels = %v, want tier=front", relabelled.Metadata.Labels)
	}
	if relabelled.Metadata.UID != created.Metadata.UID {
		t.Errorf("uid changed on update")
	}

	respec := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.28", map[string]string{"app": "web", "tier": "front"}), http.StatusOK, "configured")
	if respec.Metadata.Generation != 2 || respec.Spec.Image != "nginx:1.28" {
		t.Errorf("after a spec change: generation %d image %q, want 2 nginx:1.28", respec.Metadata.Generation, respec.Spec.Image)
	}

	// Defaults count as given: spelling out the default is no change.
	explicit := taskJSON("web", "nginx:1.28", map[string]string{"app": "web", "tier": "front"})
	explicit["spec"].(map[string]any)["restartPolicy"] = "Always"
	e.mustApplyTask(t, "web", explicit, http.StatusOK, "unchanged")

	// What a later GET returns is what the apply returned.
	r := e.do(t, http.MethodGet, "/api/v1/tasks/web", apiAdminToken, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET = %d %s", r.Code, r.Body)
	}
	var got v1.Task
	mustDecode(t, r, &got)
	if got.Metadata.ResourceVersion != respec.Metadata.ResourceVersion || got.Metadata.Generation != 2 {
		t.Errorf("GET after apply: rv %s generation %d, want %s and 2", got.Metadata.ResourceVersion, got.Metadata.Generation, respec.Metadata.ResourceVersion)
	}
}

func TestTasks_ApplyIgnoresStatus(t *testing.T) {
	e := mustAPIEnv(t)
	withStatus := func(image string) map[string]any {
		b := taskJSON("web", image, nil)
		b["status"] = map[string]any{"phase": "Running", "worker": "w9", "containerID": "abc", "observedGeneration": 7}
		return b
	}
	created := e.mustApplyTask(t, "web", withStatus("nginx:1.27"), http.StatusCreated, "created")
	if created.Status.Phase != v1.PhasePending || created.Status.Worker != "" || created.Status.ContainerID != "" || created.Status.ObservedGeneration != 0 {
		t.Errorf("created status = %+v, want Pending with nothing from the body", created.Status)
	}

	// The system's status stays when a user applies another one.
	stored, err := e.st.Tasks.GuaranteedUpdate(t.Context(), "web", func(task *v1.Task) (*v1.Task, error) {
		task.Status = v1.TaskStatus{Phase: v1.PhaseScheduled, Worker: "w1", ObservedGeneration: 1}
		return task, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.TaskCache.WaitForRevision, stored.Metadata.ResourceVersion)
	e.mustApplyTask(t, "web", withStatus("nginx:1.27"), http.StatusOK, "unchanged")
	out := e.mustApplyTask(t, "web", withStatus("nginx:1.28"), http.StatusOK, "configured")
	if out.Status.Phase != v1.PhaseScheduled || out.Status.Worker != "w1" || out.Status.ObservedGeneration != 1 {
		t.Errorf("status after apply = %+v, want the system's Scheduled on w1", out.Status)
	}
	if s := e.mustStoreTask(t, "web").Status; s.Worker != "w1" || s.ContainerID != "" {
		t.Errorf("stored status = %+v, want the system's", s)
	}
}

func TestTasks_ResourceVersion(t *testing.T) {
	e := mustAPIEnv(t)
	first := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", nil), http.StatusCreated, "created")
	second := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.28", nil), http.StatusOK, "configured")

	stale := taskJSON("web", "nginx:1.29", nil)
	stale["metadata"].(map[string]any)["resourceVersion"] = first.Metadata.ResourceVersion
	st := mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/tasks/web", apiAdminToken, stale), http.StatusConflict, v1.StatusReasonConflict)
	if got := e.mustStoreTask(t, "web"); got.Spec.Image != "nginx:1.28" || got.Metadata.Generation != 2 {
		t.Errorf("a stale write changed the task: image %s generation %d (%s)", got.Spec.Image, got.Metadata.Generation, st.Message)
	}

	current := taskJSON("web", "nginx:1.29", nil)
	current["metadata"].(map[string]any)["resourceVersion"] = second.Metadata.ResourceVersion
	if out := e.mustApplyTask(t, "web", current, http.StatusOK, "configured"); out.Spec.Image != "nginx:1.29" {
		t.Errorf("image = %s, want nginx:1.29", out.Spec.Image)
	}

	// A version for a task that does not exist cannot match.
	missing := taskJSON("ghost", "nginx:1.27", nil)
	missing["metadata"].(map[string]any)["resourceVersion"] = second.Metadata.ResourceVersion
	mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/tasks/ghost", apiAdminToken, missing), http.StatusConflict, v1.StatusReasonConflict)
	if _, err := e.st.Tasks.Get(t.Context(), "ghost"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ghost stored: %v", err)
	}
}

func TestTasks_Create(t *testing.T) {
	e := mustAPIEnv(t)
	r := e.do(t, http.MethodPost, "/api/v1/tasks", apiAdminToken, taskJSON("web", "nginx:1.27", nil))
	if r.Code != http.StatusCreated || r.Header.Get(apiserver.ApplyResultHeader) != "created" {
		t.Fatalf("POST = %d %q %s, want 201 created", r.Code, r.Header.Get(apiserver.ApplyResultHeader), r.Body)
	}
	var created v1.Task
	mustDecode(t, r, &created)
	// The answer is the task as stored, to the byte.
	if got, want := mustJSON(t, &created), mustJSON(t, e.mustStoreTask(t, "web")); got != want {
		t.Errorf("POST answered\n%s\nthe store holds\n%s", got, want)
	}

	st := mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/tasks", apiAdminToken, taskJSON("web", "nginx:1.28", nil)), http.StatusConflict, v1.StatusReasonAlreadyExists)
	if got := e.mustStoreTask(t, "web"); got.Spec.Image != "nginx:1.27" || got.Metadata.ResourceVersion != created.Metadata.ResourceVersion {
		t.Errorf("second create changed the task: %+v (%s)", got.Spec, st.Message)
	}

	// A create needs the name in the body.
	nameless := taskJSON("", "nginx:1.27", nil)
	st = mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/tasks", apiAdminToken, nameless), http.StatusUnprocessableEntity, v1.StatusReasonInvalid)
	if st.Details == nil || !slices.ContainsFunc(st.Details.Causes, func(c v1.StatusCause) bool { return c.Field == "metadata.name" }) {
		t.Errorf("causes = %+v, want metadata.name", st.Details)
	}
}

func TestTasks_Invalid(t *testing.T) {
	e := mustAPIEnv(t)
	tests := []struct {
		name       string
		path       string // under /api/v1/tasks
		method     string
		body       string
		wantName   string
		wantFields []string
	}{
		{
			name:   "every spec problem at once",
			method: http.MethodPut, path: "/bad",
			body: `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"bad","labels":{"app":"no spaces"}},
				"spec":{"image":"","restartPolicy":"Sometimes","resources":{"cpu":"lots"},
				"ports":[{"containerPort":0},{"containerPort":80,"protocol":"SCTP"}],
				"env":[{"name":"1BAD"}],"nodeSelector":{"disk":"no spaces"}}}`,
			wantName: "bad",
			wantFields: []string{
				"metadata.labels[app]", "spec.image", "spec.restartPolicy", "spec.resources.cpu",
				"spec.ports[0].containerPort", "spec.ports[1].protocol", "spec.env[0].name", "spec.nodeSelector[disk]",
			},
		},
		{
			name:   "unknown fields and wrong types",
			method: http.MethodPut, path: "/bad",
			body:     `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"bad"},"spec":{"image":"nginx:1.27","imagePullPolicy":"Always","ports":[{"containerPort":"80"}]}}`,
			wantName: "bad",
			wantFields: []string{
				"spec.imagePullPolicy", "spec.ports[0].containerPort",
			},
		},
		{
			name:   "apiVersion and name",
			method: http.MethodPost, path: "",
			body:       `{"apiVersion":"v2","kind":"Task","metadata":{"name":"Bad_Name"},"spec":{"image":"nginx:1.27"}}`,
			wantName:   "Bad_Name",
			wantFields: []string{"apiVersion", "metadata.name"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustStatusError(t, e.do(t, tt.method, "/api/v1/tasks"+tt.path, apiAdminToken, tt.body), http.StatusUnprocessableEntity, v1.StatusReasonInvalid)
			if st.Details == nil {
				t.Fatalf("no details in %+v", st)
			}
			if st.Details.Kind != "Task" || st.Details.Name != tt.wantName {
				t.Errorf("details name %s/%s, want Task/%s", st.Details.Kind, st.Details.Name, tt.wantName)
			}
			var fields []string
			for _, c := range st.Details.Causes {
				fields = append(fields, c.Field)
				if c.Message == "" {
					t.Errorf("cause %s has no message", c.Field)
				}
			}
			for _, f := range tt.wantFields {
				if !slices.Contains(fields, f) {
					t.Errorf("no cause for %s; causes %+v", f, st.Details.Causes)
				}
			}
			if len(fields) != len(tt.wantFields) {
				t.Errorf("causes %q, want exactly %q", fields, tt.wantFields)
			}
		})
	}
	if _, err := e.st.Tasks.Get(t.Context(), "bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("invalid task stored: %v", err)
	}
}

func TestTasks_BadRequest(t *testing.T) {
	e := mustAPIEnv(t)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"malformed JSON", http.MethodPut, "/api/v1/tasks/web", `{"metadata": {"name": "web"`},
		{"truncated create", http.MethodPost, "/api/v1/tasks", `{"apiVersion":`},
		{"empty body", http.MethodPut, "/api/v1/tasks/web", ``},
		{"a list", http.MethodPut, "/api/v1/tasks/web", `[]`},
		{"a string", http.MethodPost, "/api/v1/tasks", `"web"`},
		{"another kind", http.MethodPost, "/api/v1/tasks", `{"apiVersion":"minkube.io/v1","kind":"Pod","metadata":{"name":"web"},"spec":{"image":"nginx:1.27"}}`},
		{"name differs from the URL", http.MethodPut, "/api/v1/tasks/web", `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"other"},"spec":{"image":"nginx:1.27"}}`},
		{"bad label selector", http.MethodGet, "/api/v1/tasks?labelSelector=app%20in%20(", ``},
		{"bad tail", http.MethodGet, "/api/v1/tasks/web/logs?tail=many", ``},
		{"malformed register", http.MethodPost, "/api/v1/workers", `{"name":`},
		{"register with an unknown field", http.MethodPost, "/api/v1/workers", `{"name":"w1","address":"127.0.0.1:7071","rack":"r1"}`},
		{"malformed heartbeat", http.MethodPut, "/api/v1/workers/w1/status", `{"full":tru}`},
	}
	e.mustAPIWorker(t, "w1")
	e.mustStoredTask(t, "web", nil, v1.TaskStatus{Phase: v1.PhasePending})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := apiAdminToken
			if tt.path == "/api/v1/workers" {
				token = apiJoinToken
			}
			var body any
			if tt.body != "" {
				body = tt.body
			}
			mustStatusError(t, e.do(t, tt.method, tt.path, token, body), http.StatusBadRequest, v1.StatusReasonBadRequest)
		})
	}
	if got := e.mustStoreTask(t, "web"); got.Metadata.Generation != 1 {
		t.Errorf("a bad request changed the task: generation %d", got.Metadata.Generation)
	}
	if _, err := e.st.Tasks.Get(t.Context(), "other"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task other stored: %v", err)
	}
}

func TestTasks_DryRun(t *testing.T) {
	e := mustAPIEnv(t)
	created := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", nil), http.StatusCreated, "created")

	tests := []struct {
		name   string
		method string
		path   string
		body   any
		code   int
		result string
	}{
		{"apply new", http.MethodPut, "/api/v1/tasks/new?dryRun=All", taskJSON("new", "nginx:1.27", nil), http.StatusCreated, "created"},
		{"create new", http.MethodPost, "/api/v1/tasks?dryRun=All", taskJSON("new", "nginx:1.27", nil), http.StatusCreated, "created"},
		{"spec change", http.MethodPut, "/api/v1/tasks/web?dryRun=All", taskJSON("web", "nginx:1.28", nil), http.StatusOK, "configured"},
		{"label change", http.MethodPut, "/api/v1/tasks/web?dryRun=All", taskJSON("web", "nginx:1.27", map[string]string{"a": "b"}), http.StatusOK, "configured"},
		{"no change", http.MethodPut, "/api/v1/tasks/web?dryRun=All", taskJSON("web", "nginx:1.27", nil), http.StatusOK, "unchanged"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, apiAdminToken, tt.body)
			if r.Code != tt.code || r.Header.Get(apiserver.ApplyResultHeader) != tt.result {
				t.Fatalf("%s %s = %d %q, want %d %q; body %s", tt.method, tt.path, r.Code, r.Header.Get(apiserver.ApplyResultHeader), tt.code, tt.result, r.Body)
			}
			var out v1.Task
			mustDecode(t, r, &out)
			if tt.name == "spec change" && out.Metadata.Generation != 2 {
				t.Errorf("dry-run answer generation = %d, want the 2 a real apply would give", out.Metadata.Generation)
			}
		})
	}
	if _, err := e.st.Tasks.Get(t.Context(), "new"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("dry run stored task new: %v", err)
	}
	got := e.mustStoreTask(t, "web")
	if got.Metadata.ResourceVersion != created.Metadata.ResourceVersion || got.Spec.Image != "nginx:1.27" || len(got.Metadata.Labels) != 0 {
		t.Errorf("dry run changed web: %+v %+v", got.Metadata, got.Spec)
	}
	if r := e.do(t, http.MethodGet, "/api/v1/tasks/new", apiAdminToken, nil); r.Code != http.StatusNotFound {
		t.Errorf("GET new after dry run = %d, want 404", r.Code)
	}
}

func TestTasks_Delete(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", nil), http.StatusCreated, "created")
	r := e.do(t, http.MethodDelete, "/api/v1/tasks/web", apiAdminToken, nil)
	if r.Code != http.StatusAccepted {
		t.Fatalf("DELETE = %d %s, want 202", r.Code, r.Body)
	}
	var out v1.Task
	mustDecode(t, r, &out)
	if out.Metadata.DeletionTimestamp == nil {
		t.Fatal("no deletionTimestamp in the answer")
	}
	// The object stays until the worker has stopped it.
	got := e.mustStoreTask(t, "web")
	if got.Metadata.DeletionTimestamp == nil || !got.Metadata.DeletionTimestamp.Equal(*out.Metadata.DeletionTimestamp) {
		t.Errorf("stored deletionTimestamp = %v, want %v", got.Metadata.DeletionTimestamp, out.Metadata.DeletionTimestamp)
	}
	// Deleting again keeps the first time.
	if r := e.do(t, http.MethodDelete, "/api/v1/tasks/web", apiAdminToken, nil); r.Code != http.StatusAccepted {
		t.Errorf("second DELETE = %d, want 202", r.Code)
	}
	if again := e.mustStoreTask(t, "web"); again.Metadata.ResourceVersion != got.Metadata.ResourceVersion {
		t.Errorf("second DELETE wrote the task again")
	}
	// A task being deleted cannot be applied over.
	mustStatusError(t, e.do(t, http.MethodPut, "/api/v1/tasks/web", apiAdminToken, taskJSON("web", "nginx:1.28", nil)), http.StatusConflict, v1.StatusReasonConflict)
}

func TestTasks_List(t *testing.T) {
	e := mustAPIEnv(t)
	e.mustStoredTask(t, "api-1", map[string]string{"app": "api"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	e.mustStoredTask(t, "api-2", map[string]string{"app": "api"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w2"})
	e.mustStoredTask(t, "db-1", map[string]string{"app": "db", "tier": "data"}, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	last := e.mustStoredTask(t, "pending", nil, v1.TaskStatus{Phase: v1.PhasePending})

	tests := []struct {
		name  string
		query string
		want  []string
	}{
		{"all", "", []string{"api-1", "api-2", "db-1", "pending"}},
		{"label equals", "?labelSelector=app%3Dapi", []string{"api-1", "api-2"}},
		{"label not equals", "?labelSelector=app!%3Dapi", []string{"db-1", "pending"}},
		{"label exists", "?labelSelector=tier", []string{"db-1"}},
		{"label set", "?labelSelector=app+in+(api,db)", []string{"api-1", "api-2", "db-1"}},
		{"worker", "?worker=w1", []string{"api-1", "db-1"}},
		{"worker and label", "?worker=w1&labelSelector=app%3Dapi", []string{"api-1"}},
		{"unknown worker", "?worker=w9", []string{}},
		{"no match", "?labelSelector=app%3Dnone", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, http.MethodGet, "/api/v1/tasks"+tt.query, apiAdminToken, nil)
			if r.Code != http.StatusOK {
				t.Fatalf("GET = %d %s", r.Code, r.Body)
			}
			var list v1.TaskList
			mustDecode(t, r, &list)
			if list.Kind != v1.KindTaskList || list.APIVersion != v1.APIVersion {
				t.Errorf("list is %s/%s, want %s/%s", list.APIVersion, list.Kind, v1.APIVersion, v1.KindTaskList)
			}
			rev, err := strconv.ParseInt(list.Metadata.ResourceVersion, 10, 64)
			if lastRev, _ := strconv.ParseInt(last.Metadata.ResourceVersion, 10, 64); err != nil || rev < lastRev {
				t.Errorf("list resourceVersion = %q, want at least %s", list.Metadata.ResourceVersion, last.Metadata.ResourceVersion)
			}
			got := []string{}
			for _, item := range list.Items {
				got = append(got, item.Metadata.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("items = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestTasks_ApplyManaged checks the rule for Tasks the manifests directory
// manages: applying the same content keeps them in its care, a change is
// refused naming the annotation, and force takes them out of its care.
func TestTasks_ApplyManaged(t *testing.T) {
	e := mustAPIEnv(t)
	managed := taskJSON("web", "nginx:1.27", nil)
	managed["metadata"].(map[string]any)["annotations"] = map[string]string{v1.AnnotationSource: "web.yaml"}
	e.mustApplyTask(t, "web", managed, http.StatusCreated, "created")

	// The file applied by hand: no annotation in the body, nothing changes.
	same := e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.27", nil), http.StatusOK, "unchanged")
	if same.Metadata.Annotations[v1.AnnotationSource] != "web.yaml" {
		t.Errorf("annotations after an unchanged apply = %v, want the source kept", same.Metadata.Annotations)
	}

	for _, dryRun := range []string{"", "?dryRun=All"} {
		r := e.do(t, http.MethodPut, "/api/v1/tasks/web"+dryRun, apiAdminToken, taskJSON("web", "nginx:1.28", nil))
		var st v1.Status
		mustDecode(t, r, &st)
		if r.Code != http.StatusConflict || st.Details == nil || len(st.Details.Causes) != 1 ||
			st.Details.Causes[0].Field != v1.FieldAnnotationSource || st.Details.Causes[0].Message != "web.yaml" {
			t.Errorf("PUT%s of a change = %d %+v, want 409 naming %s", dryRun, r.Code, st, v1.FieldAnnotationSource)
		}
	}
	if got, ok := e.st.TaskCache.Get("web"); !ok || got.Spec.Image != "nginx:1.27" {
		t.Errorf("a refused apply changed the task: %+v", got)
	}

	taken := e.do(t, http.MethodPut, "/api/v1/tasks/web?force=true", apiAdminToken, taskJSON("web", "nginx:1.28", nil))
	var out v1.Task
	mustDecode(t, taken, &out)
	if taken.Code != http.StatusOK || out.Spec.Image != "nginx:1.28" || out.Metadata.Annotations[v1.AnnotationSource] != "" {
		t.Errorf("forced apply = %d %+v, want the change applied and the source dropped", taken.Code, out.Metadata)
	}
	// No longer managed: a plain apply changes it.
	e.mustApplyTask(t, "web", taskJSON("web", "nginx:1.29", nil), http.StatusOK, "configured")
}

// mustJSON encodes v as the API does.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("encode %T: %v", v, err)
	}
	return string(b)
}
