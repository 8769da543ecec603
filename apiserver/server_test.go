package apiserver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/statetest"
)

const (
	apiAdminToken = "test-admin-token"
	apiJoinToken  = "test-join-token"
	// apiWaitTimeout bounds waits for the caches; they take milliseconds.
	apiWaitTimeout = 10 * time.Second
)

// apiEnv is an API server over a real bolt store with its caches running
// and no controllers: what the handlers write stays as written.
type apiEnv struct {
	st  *store.State
	srv *apiserver.Server
	url string
}

func mustAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	return mustAPIEnvWith(t, apiserver.Options{})
}

// mustAPIEnvWith is mustAPIEnv with more options; the state, tokens and
// logger are filled in.
func mustAPIEnvWith(t *testing.T, opts apiserver.Options) *apiEnv {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st := statetest.New(t, opts.Logger)
	opts.State, opts.AdminToken, opts.JoinToken, opts.Signer = st, apiAdminToken, apiJoinToken, pkitest.CA()
	srv, err := apiserver.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	statetest.Run(t, st)
	return &apiEnv{st: st, srv: srv, url: hs.URL}
}

// TestServer_StartingManagerAnswers503 covers the moments before the
// caches hold the store: an empty list or a refused worker token would be
// wrong answers, so every API route says the manager is starting.
func TestServer_StartingManagerAnswers503(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger) // never started: the caches stay empty
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	e := &apiEnv{st: st, url: hs.URL}
	for _, path := range []string{"/api/v1/tasks", "/api/v1/workers", "/api/v1/events"} {
		r := e.do(t, http.MethodGet, path, apiAdminToken, nil)
		if r.Code != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "starting") {
			t.Errorf("GET %s before the caches synced = %d %s; want 503 saying the manager is starting", path, r.Code, r.Body)
		}
	}
	if r := e.do(t, http.MethodGet, "/healthz", "", nil); r.Code != http.StatusOK {
		t.Errorf("GET /healthz while starting = %d; want 200", r.Code)
	}
	if r := e.do(t, http.MethodGet, "/readyz", "", nil); r.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz while starting = %d; want 503", r.Code)
	}
}

// apiResponse is a finished response with its body read.
type apiResponse struct {
	Code   int
	Header http.Header
	Body   []byte
	// Close is true when the server closes the connection after it.
	Close bool
}

// do sends a request; body is sent as is when it is []byte or a string,
// and as JSON otherwise. An empty token sends no Authorization header.
func (e *apiEnv) do(t *testing.T, method, path, token string, body any) apiResponse {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: data, Close: resp.Close}
}

// mustDecode decodes the body of r into out, strictly.
func mustDecode(t *testing.T, r apiResponse, out any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.Body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		t.Fatalf("decode %T from %q: %v", out, r.Body, err)
	}
}

// mustStatusError checks that r is an error of the given code and reason
// carried as a JSON Status, and returns the Status.
func mustStatusError(t *testing.T, r apiResponse, code int, reason v1.StatusReason) v1.Status {
	t.Helper()
	if r.Code != code {
		t.Fatalf("code = %d, want %d; body %s", r.Code, code, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var st v1.Status
	mustDecode(t, r, &st)
	if st.Kind != v1.KindStatus || st.APIVersion != v1.APIVersion || st.Status != "Failure" {
		t.Errorf("status header = %s/%s %q, want %s/%s Failure", st.APIVersion, st.Kind, st.Status, v1.APIVersion, v1.KindStatus)
	}
	if st.Code != code || st.Reason != reason {
		t.Errorf("status = %d %s, want %d %s (message %q)", st.Code, st.Reason, code, reason, st.Message)
	}
	if st.Message == "" {
		t.Error("status has no message")
	}
	return st
}

// taskJSON is a valid Task body.
func taskJSON(name, image string, labels map[string]string) map[string]any {
	meta := map[string]any{"name": name}
	if labels != nil {
		meta["labels"] = labels
	}
	return map[string]any{
		"apiVersion": v1.APIVersion,
		"kind":       v1.KindTask,
		"metadata":   meta,
		"spec":       map[string]any{"image": image},
	}
}

// mustAPIWorker stores a Ready worker and its credentials and returns the
// worker's token; both are in the caches on return.
func (e *apiEnv) mustAPIWorker(t *testing.T, name string) string {
	t.Helper()
	token := "token-of-" + name
	sum := sha256.Sum256([]byte(token))
	cred, err := e.st.Credentials.Create(t.Context(), &v1.Credential{
		TypeMeta:     v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata:     v1.ObjectMeta{Name: name},
		TokenHash:    hex.EncodeToString(sum[:]),
		ManagerToken: "manager-token-" + name,
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.CredentialCache.WaitForRevision, cred.Metadata.ResourceVersion)
	now := time.Now().UTC()
	w, err := e.st.Workers.Create(t.Context(), &v1.Worker{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
		Metadata: v1.ObjectMeta{Name: name, UID: store.NewUID(), CreationTimestamp: &now},
		Spec:     v1.WorkerSpec{Address: "127.0.0.1:7071"},
		Status:   v1.WorkerStatus{Phase: v1.WorkerReady, LastHeartbeatTime: &now},
	})
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.WorkerCache.WaitForRevision, w.Metadata.ResourceVersion)
	return token
}

// storedTask is a task as the store keeps it, before its status.
func storedTask(name string, labels map[string]string) *v1.Task {
	return store.NewTask(&v1.Task{
		Metadata: v1.ObjectMeta{Name: name, Labels: labels},
		Spec:     v1.TaskSpec{Image: "minkube/testapp:dev", RestartPolicy: v1.RestartAlways},
	}, time.Now().UTC())
}

// mustStoredTask stores a task with the given labels and status, and waits
// until the task cache has it.
func (e *apiEnv) mustStoredTask(t *testing.T, name string, labels map[string]string, status v1.TaskStatus) *v1.Task {
	t.Helper()
	task := storedTask(name, labels)
	task.Status = status
	out, err := e.st.Tasks.Create(t.Context(), task)
	if err != nil {
		t.Fatal(err)
	}
	mustCacheRevision(t, e.st.TaskCache.WaitForRevision, out.Metadata.ResourceVersion)
	return out
}

func mustCacheRevision(t *testing.T, wait func(context.Context, int64) error, rv string) {
	t.Helper()
	rev, err := store.ParseResourceVersion(rv)
	if err != nil {
		t.Fatal(err)
	}
	if err := wait(t.Context(), rev); err != nil {
		t.Fatal(err)
	}
}

// mustStoreTask reads a task from the store itself, not the cache.
func (e *apiEnv) mustStoreTask(t *testing.T, name string) *v1.Task {
	t.Helper()
	task, err := e.st.Tasks.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestServer_New(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	st := store.NewState(db, nil)
	tests := []struct {
		name string
		opts apiserver.Options
	}{
		{"no state", apiserver.Options{AdminToken: "a", JoinToken: "j", Signer: pkitest.CA()}},
		{"no admin token", apiserver.Options{State: st, JoinToken: "j", Signer: pkitest.CA()}},
		{"no join token", apiserver.Options{State: st, AdminToken: "a", Signer: pkitest.CA()}},
		{"no signer", apiserver.Options{State: st, AdminToken: "a", JoinToken: "j"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if srv, err := apiserver.New(tt.opts); err == nil || srv != nil {
				t.Errorf("New = %v, %v; want an error", srv, err)
			}
		})
	}
}

func TestServer_Health(t *testing.T) {
	e := mustAPIEnv(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		t.Run(path, func(t *testing.T) {
			r := e.do(t, http.MethodGet, path, "", nil)
			if r.Code != http.StatusOK || string(r.Body) != "ok\n" {
				t.Errorf("GET %s = %d %q, want 200 ok", path, r.Code, r.Body)
			}
		})
	}
}

func TestServer_ReadyzBeforeSync(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	// The caches are never started, so they never sync.
	srv, err := apiserver.New(apiserver.Options{State: store.NewState(db, nil), AdminToken: "a", JoinToken: "j", Signer: pkitest.CA()})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz before sync = %d, want 503", rec.Code)
	}
}

func TestServer_Auth(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustAPIWorker(t, "w1")
	e.mustAPIWorker(t, "w2")
	report := v1.StatusReport{Full: true}
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		rawAut string // an Authorization header sent as is
		body   any
		code   int
		reason v1.StatusReason
	}{
		{"no token", http.MethodGet, "/api/v1/tasks", "", "", nil, 401, v1.StatusReasonUnauthorized},
		{"wrong token", http.MethodGet, "/api/v1/tasks", "nope", "", nil, 401, v1.StatusReasonUnauthorized},
		{"not a bearer token", http.MethodGet, "/api/v1/tasks", "", "Basic " + apiAdminToken, nil, 401, v1.StatusReasonUnauthorized},
		{"empty bearer token", http.MethodGet, "/api/v1/tasks", "", "Bearer ", nil, 401, v1.StatusReasonUnauthorized},
		{"no token on a worker route", http.MethodPut, "/api/v1/workers/w1/status", "", "", report, 401, v1.StatusReasonUnauthorized},
		{"no token on register", http.MethodPost, "/api/v1/workers", "", "", nil, 401, v1.StatusReasonUnauthorized},
		{"wrong token on register", http.MethodPost, "/api/v1/workers", "nope", "", nil, 401, v1.StatusReasonUnauthorized},
		{"admin token", http.MethodGet, "/api/v1/tasks", apiAdminToken, "", nil, 200, ""},
		{"admin token on a worker route", http.MethodGet, "/api/v1/workers/w1/tasks", apiAdminToken, "", nil, 200, ""},
		{"worker token on an admin route", http.MethodGet, "/api/v1/tasks", w1, "", nil, 403, v1.StatusReasonForbidden},
		{"worker token on an admin write", http.MethodPut, "/api/v1/tasks/web", w1, "", taskJSON("web", "nginx:1.27", nil), 403, v1.StatusReasonForbidden},
		{"worker token on the worker list", http.MethodGet, "/api/v1/workers", w1, "", nil, 403, v1.StatusReasonForbidden},
		{"join token on an admin route", http.MethodGet, "/api/v1/tasks", apiJoinToken, "", nil, 403, v1.StatusReasonForbidden},
		{"worker token on its own tasks", http.MethodGet, "/api/v1/workers/w1/tasks", w1, "", nil, 200, ""},
		{"worker token on its own status", http.MethodPut, "/api/v1/workers/w1/status", w1, "", report, 200, ""},
		{"worker token on another worker's tasks", http.MethodGet, "/api/v1/workers/w2/tasks", w1, "", nil, 403, v1.StatusReasonForbidden},
		{"worker token on another worker's status", http.MethodPut, "/api/v1/workers/w2/status", w1, "", report, 403, v1.StatusReasonForbidden},
		{"worker token on a worker not registered", http.MethodGet, "/api/v1/workers/w9/tasks", w1, "", nil, 403, v1.StatusReasonForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r apiResponse
			if tt.rawAut != "" {
				req, err := http.NewRequestWithContext(t.Context(), tt.method, e.url+tt.path, nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", tt.rawAut)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				r = apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: body}
			} else {
				r = e.do(t, tt.method, tt.path, tt.token, tt.body)
			}
			if tt.reason == "" {
				if r.Code != tt.code {
					t.Fatalf("code = %d, want %d; body %s", r.Code, tt.code, r.Body)
				}
				return
			}
			mustStatusError(t, r, tt.code, tt.reason)
		})
	}
	// Nothing the refused write carried was stored.
	if _, err := e.st.Tasks.Get(t.Context(), "web"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("task written by a forbidden request: %v", err)
	}
}

func TestServer_NotFound(t *testing.T) {
	e := mustAPIEnv(t)
	tests := []struct {
		name   string
		method string
		path   string
		code   int
		reason v1.StatusReason
	}{
		{"task", http.MethodGet, "/api/v1/tasks/missing", 404, v1.StatusReasonNotFound},
		{"delete task", http.MethodDelete, "/api/v1/tasks/missing", 404, v1.StatusReasonNotFound},
		{"task logs", http.MethodGet, "/api/v1/tasks/missing/logs", 404, v1.StatusReasonNotFound},
		{"worker", http.MethodGet, "/api/v1/workers/missing", 404, v1.StatusReasonNotFound},
		{"worker tasks", http.MethodGet, "/api/v1/workers/missing/tasks", 404, v1.StatusReasonNotFound},
		{"route", http.MethodGet, "/api/v1/nothing", 404, v1.StatusReasonNotFound},
		{"method", http.MethodPatch, "/api/v1/tasks/web", 405, v1.StatusReasonBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustStatusError(t, e.do(t, tt.method, tt.path, apiAdminToken, nil), tt.code, tt.reason)
			if tt.code == 404 && tt.name != "route" && !strings.Contains(st.Message, `"missing"`) {
				t.Errorf("message %q does not name what is missing", st.Message)
			}
		})
	}
}

func TestServer_BodyTooLarge(t *testing.T) {
	e := mustAPIEnv(t)
	pad := strings.Repeat("x", apiserver.MaxBodyBytes)
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   string
	}{
		{"apply", http.MethodPut, "/api/v1/tasks/big", apiAdminToken,
			`{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"big","annotations":{"a":"` + pad + `"}},"spec":{"image":"nginx:1.27"}}`},
		{"create", http.MethodPost, "/api/v1/tasks", apiAdminToken,
			`{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"big","annotations":{"a":"` + pad + `"}},"spec":{"image":"nginx:1.27"}}`},
		{"register", http.MethodPost, "/api/v1/workers", apiJoinToken,
			`{"name":"big","address":"127.0.0.1:7071","labels":{"a":"` + pad + `"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustStatusError(t, e.do(t, tt.method, tt.path, tt.token, tt.body), http.StatusRequestEntityTooLarge, v1.StatusReasonRequestEntityTooLarge)
		})
	}
	if _, err := e.st.Tasks.Get(t.Context(), "big"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("oversized task stored: %v", err)
	}
	if _, err := e.st.Workers.Get(t.Context(), "big"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("oversized worker stored: %v", err)
	}

	// Just under the limit is read in full.
	name := "almost"
	body := `{"apiVersion":"minkube.io/v1","kind":"Task","metadata":{"name":"` + name + `"},"spec":{"image":"nginx:1.27"}}`
	body += strings.Repeat(" ", apiserver.MaxBodyBytes-len(body))
	if r := e.do(t, http.MethodPut, "/api/v1/tasks/"+name, apiAdminToken, body); r.Code != http.StatusCreated {
		t.Errorf("a body of exactly %d bytes: %d %s, want 201", apiserver.MaxBodyBytes, r.Code, r.Body)
	}
}
