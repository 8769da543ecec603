package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

const testToken = "s3cret"

// seen is one request as the fake server received it.
type seen struct {
	Method, Path, RawQuery, Auth, ContentType, UserAgent string
	Body                                                 []byte
}

// fakeServer records every request and answers with handler.
type fakeServer struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func (f *fakeServer) requests() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.reqs...)
}

func (f *fakeServer) last(t *testing.T) seen {
	t.Helper()
	reqs := f.requests()
	if len(reqs) == 0 {
		t.Fatal("the server got no request")
	}
	return reqs[len(reqs)-1]
}

func mustServer(t *testing.T, handler http.HandlerFunc) *fakeServer {
	t.Helper()
	f := &fakeServer{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		f.mu.Lock()
		f.reqs = append(f.reqs, seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Auth: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"),
			UserAgent: r.Header.Get("User-Agent"), Body: body,
		})
		f.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func mustClient(t *testing.T, server string, opts ...Option) *Client {
	t.Helper()
	c, err := New(server, testToken, opts...)
	if err != nil {
		t.Fatalf("New(%q): %v", server, err)
	}
	return c
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeStatus(w http.ResponseWriter, code int, reason v1.StatusReason, msg string) {
	writeJSON(w, code, v1.Status{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus},
		Status:   "Failure", Reason: reason, Code: code, Message: msg,
	})
}

func task(name string) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec:     v1.TaskSpec{Image: "nginx:1.27"},
	}
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

func TestNew_ServerAddress(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "127.0.0.1:7070", want: "https://127.0.0.1:7070"},
		{in: "http://127.0.0.1:7070", want: "http://127.0.0.1:7070"},
		{in: "http://127.0.0.1:7070/", want: "http://127.0.0.1:7070"},
		{in: " https://manager.example:443/prefix/ ", want: "https://manager.example:443/prefix"},
		{in: "localhost:7070", want: "https://localhost:7070"},
		{in: "", wantErr: "server address is empty"},
		{in: "ftp://127.0.0.1:7070", wantErr: "scheme must be http or https"},
		{in: "http://", wantErr: "no host"},
		{in: "http://127.0.0.1:7070/?x=1", wantErr: "must be [http[s]://]HOST:PORT[/PATH]"},
		{in: "http://user:pw@127.0.0.1:7070", wantErr: "must be [http[s]://]HOST:PORT[/PATH]"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := New(tt.in, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%q) error = %v, want one containing %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q): %v", tt.in, err)
			}
			if got := c.Server(); got != tt.want {
				t.Errorf("Server() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClient_ListTasks(t *testing.T) {
	tests := []struct {
		name      string
		opts      ListOptions
		wantQuery string
	}{
		{name: "all", wantQuery: ""},
		{name: "selector", opts: ListOptions{LabelSelector: "app=web,tier!=db"}, wantQuery: "labelSelector=app%3Dweb%2Ctier%21%3Ddb"},
		{name: "worker", opts: ListOptions{Worker: "w1"}, wantQuery: "worker=w1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusOK, v1.TaskList{
					TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList},
					Metadata: v1.ListMeta{ResourceVersion: "42"},
					Items:    []v1.Task{*task("a"), *task("b")},
				})
			})
			c := mustClient(t, srv.URL, WithUserAgent("mkctl/test"))
			list, err := c.ListTasks(t.Context(), tt.opts)
			if err != nil {
				t.Fatalf("ListTasks: %v", err)
			}
			if len(list.Items) != 2 || list.Items[1].Metadata.Name != "b" || list.Metadata.ResourceVersion != "42" {
				t.Errorf("ListTasks = %+v, want a and b at resourceVersion 42", list)
			}
			got := srv.last(t)
			if got.Method != http.MethodGet || got.Path != "/api/v1/tasks" || got.RawQuery != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want GET /api/v1/tasks?%s", got.Method, got.Path, got.RawQuery, tt.wantQuery)
			}
			if got.Auth != "Bearer "+testToken {
				t.Errorf("Authorization = %q, want the bearer token", got.Auth)
			}
			if got.UserAgent != "mkctl/test" {
				t.Errorf("User-Agent = %q, want mkctl/test", got.UserAgent)
			}
		})
	}
}

// TestClient_TaskTable checks that TaskTable asks for the table with the
// filters, takes the Table a manager sends, builds it from the TaskList an
// older manager sends, and refuses anything else.
func TestClient_TaskTable(t *testing.T) {
	table := v1.TaskTable([]v1.Task{*task("a"), *task("b")}, "42")
	tests := []struct {
		name    string
		answer  any
		wantErr string
	}{
		{"table", table, ""},
		{"task list of an older manager", v1.TaskList{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList},
			Metadata: v1.ListMeta{ResourceVersion: "42"},
			Items:    []v1.Task{*task("a"), *task("b")},
		}, ""},
		{"something else", v1.WorkerList{TypeMeta: v1.TypeMeta{Kind: v1.KindWorkerList}}, "answered GET /api/v1/tasks?as=table with a WorkerList, not a Table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, tt.answer) })
			c := mustClient(t, srv.URL)
			got, err := c.TaskTable(t.Context(), ListOptions{LabelSelector: "app=web", Worker: "w1"})
			if req := srv.last(t); req.Path != "/api/v1/tasks" || req.RawQuery != "as=table&labelSelector=app%3Dweb&worker=w1" {
				t.Errorf("request = %s?%s, want /api/v1/tasks?as=table&labelSelector=app%%3Dweb&worker=w1", req.Path, req.RawQuery)
			}
			if !wantError(t, err, tt.wantErr) {
				return
			}
			if !reflect.DeepEqual(got, table) {
				t.Errorf("TaskTable = %+v\nwant %+v", got, table)
			}
		})
	}
}

// wantError fails the test unless err says want, or is nil when want is
// empty; it reports whether the call succeeded, for its result to be
// checked.
func wantError(t *testing.T, err error, want string) bool {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatal(err)
		}
		return true
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error = %v, want one saying %q", err, want)
	}
	return false
}

// TestClient_ListTasksJSON checks that the list comes back as the manager
// wrote it, and that an answer that is not a TaskList is refused.
func TestClient_ListTasksJSON(t *testing.T) {
	list := `{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"9"},"items":[{"kind":"Task","metadata":{"name":"a"},"future":{"field":1}}]}`
	tests := []struct {
		name, answer, wantErr string
	}{
		{"task list", list + "\n", ""},
		{"kind after the items", `{"items":[],"kind":"TaskList"}`, ""},
		{"worker list", `{"kind":"WorkerList","items":[]}`, "with a WorkerList, not a TaskList"},
		{"no kind", `{"items":[]}`, "with an object of no kind, not a TaskList"},
		{"an array", `[{"kind":"TaskList"}]`, "not a JSON object"},
		{"broken", `{"kind":"TaskList","items":[`, "decode the answer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, tt.answer)
			})
			c := mustClient(t, srv.URL)
			got, err := c.ListTasksJSON(t.Context(), ListOptions{LabelSelector: "app=web"})
			if req := srv.last(t); req.RawQuery != "labelSelector=app%3Dweb" {
				t.Errorf("query = %s", req.RawQuery)
			}
			if !wantError(t, err, tt.wantErr) {
				return
			}
			if want := tt.answer; string(got) != want {
				t.Errorf("ListTasksJSON = %s, want the answer as sent: %s", got, want)
			}
		})
	}
}

// TestClient_TaskListJSON: the list is handed over as it arrives, as
// sent; a refusal is an error before anything is read, and a read that
// breaks off names the request.
func TestClient_TaskListJSON(t *testing.T) {
	list := `{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"9"},"items":[]}` + "\n"
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("labelSelector") {
		case "app=web":
			_, _ = io.WriteString(w, list)
		case "app=cut":
			w.Header().Set("Content-Length", "100")
			_, _ = io.WriteString(w, list[:20])
		default:
			writeJSON(w, http.StatusNotFound, v1.Status{TypeMeta: v1.TypeMeta{Kind: v1.KindStatus}, Code: http.StatusNotFound, Reason: "NotFound", Message: "not here"})
		}
	})
	c := mustClient(t, srv.URL)

	body, err := c.TaskListJSON(t.Context(), ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(body)
	_ = body.Close()
	if err != nil || string(got) != list {
		t.Errorf("read %q, %v; want the answer as sent: %q", got, err, list)
	}

	if _, err := c.TaskListJSON(t.Context(), ListOptions{LabelSelector: "app=other"}); !IsNotFound(err) || !strings.Contains(err.Error(), "not here") {
		t.Errorf("refused list: error = %v, want the manager's 404", err)
	}

	body, err = c.TaskListJSON(t.Context(), ListOptions{LabelSelector: "app=cut"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(body)
	_ = body.Close()
	if !wantError(t, err, "decode the answer of the manager to GET /api/v1/tasks") {
		return
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error = %v, want one wrapping io.ErrUnexpectedEOF", err)
	}
}

func TestClient_ErrorStatus(t *testing.T) {
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantCode   int
		wantReason v1.StatusReason
		wantMsg    string
		is         func(error) bool
	}{
		{
			name: "json status",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, `task "web" not found`)
			},
			wantCode: 404, wantReason: v1.StatusReasonNotFound, wantMsg: `task "web" not found`, is: IsNotFound,
		},
		{
			name: "status without code",
			handler: func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, http.StatusConflict, map[string]string{"kind": "Status", "message": "stale"})
			},
			wantCode: 409, wantReason: v1.StatusReasonConflict, wantMsg: "stale", is: IsConflict,
		},
		{
			name: "plain text",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "upstream broke\nmore detail", http.StatusBadGateway)
			},
			wantCode: 502, wantReason: v1.StatusReasonInternalError,
			wantMsg: "answered GET /api/v1/tasks/web with 502 Bad Gateway: upstream broke",
		},
		{
			name: "unauthorized, empty body",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusUnauthorized)
			},
			wantCode: 401, wantReason: v1.StatusReasonUnauthorized, wantMsg: "with 401 Unauthorized", is: IsUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, tt.handler)
			c := mustClient(t, srv.URL)
			_, err := c.GetTask(t.Context(), "web")
			var st *v1.Status
			if !errors.As(err, &st) {
				t.Fatalf("GetTask error = %v (%T), want a *v1.Status", err, err)
			}
			if st.Code != tt.wantCode || st.Reason != tt.wantReason || !strings.Contains(st.Message, tt.wantMsg) {
				t.Errorf("status = %d %s %q, want %d %s containing %q", st.Code, st.Reason, st.Message, tt.wantCode, tt.wantReason, tt.wantMsg)
			}
			if tt.is != nil && !tt.is(err) {
				t.Errorf("the reason test for %v is false", err)
			}
		})
	}
}

func TestClient_ApplyTask(t *testing.T) {
	tests := []struct {
		name       string
		dryRun     bool
		code       int
		header     string
		want       ApplyResult
		wantQuery  string
		wantStored bool
	}{
		{name: "created", code: http.StatusCreated, header: "created", want: Created},
		{name: "configured", code: http.StatusOK, header: "configured", want: Configured},
		{name: "unchanged", code: http.StatusOK, header: "unchanged", want: Unchanged},
		{name: "no header, 201", code: http.StatusCreated, want: Created},
		{name: "no header, 200", code: http.StatusOK, want: Configured},
		{name: "dry run", dryRun: true, code: http.StatusOK, header: "configured", want: Configured, wantQuery: "dryRun=All"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				var in v1.Task
				if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
					writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, err.Error())
					return
				}
				in.Metadata.UID = "uid-1"
				if tt.header != "" {
					w.Header().Set("Minkube-Apply-Result", tt.header)
				}
				writeJSON(w, tt.code, in)
			})
			c := mustClient(t, srv.URL)
			in := task("web")
			in.TypeMeta = v1.TypeMeta{} // the client fills in apiVersion and kind
			out, result, err := c.ApplyTask(t.Context(), in, ApplyOptions{DryRun: tt.dryRun})
			if err != nil {
				t.Fatalf("ApplyTask: %v", err)
			}
			if result != tt.want {
				t.Errorf("result = %q, want %q", result, tt.want)
			}
			if out.Metadata.UID != "uid-1" {
				t.Errorf("returned task uid = %q, want the stored task", out.Metadata.UID)
			}
			if in.Kind != "" || in.APIVersion != "" {
				t.Errorf("ApplyTask changed the caller's task: %+v", in.TypeMeta)
			}
			got := srv.last(t)
			if got.Method != http.MethodPut || got.Path != "/api/v1/tasks/web" || got.RawQuery != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want PUT /api/v1/tasks/web?%s", got.Method, got.Path, got.RawQuery, tt.wantQuery)
			}
			if got.ContentType != "application/json" {
				t.Errorf("Content-Type = %q", got.ContentType)
			}
			var sent v1.Task
			if err := json.Unmarshal(got.Body, &sent); err != nil {
				t.Fatal(err)
			}
			if sent.Kind != v1.KindTask || sent.APIVersion != v1.APIVersion || sent.Spec.Image != "nginx:1.27" {
				t.Errorf("sent task = %+v, want kind Task with the spec", sent)
			}
		})
	}
}

func TestClient_ApplyTask_Invalid(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusUnprocessableEntity, v1.Status{
			TypeMeta: v1.TypeMeta{Kind: v1.KindStatus}, Status: "Failure",
			Reason: v1.StatusReasonInvalid, Code: 422, Message: `Task "web" is invalid`,
			Details: &v1.StatusDetails{Causes: []v1.StatusCause{{Field: "spec.image", Message: "required"}}},
		})
	})
	c := mustClient(t, srv.URL)
	_, _, err := c.ApplyTask(t.Context(), task("web"), ApplyOptions{})
	if ReasonOf(err) != v1.StatusReasonInvalid {
		t.Fatalf("ApplyTask error = %v, want Invalid", err)
	}
	if want := `Task "web" is invalid; spec.image: required`; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
}

func TestClient_EmptyName(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	c := mustClient(t, srv.URL)
	calls := map[string]func() error{
		"GetTask":    func() error { _, err := c.GetTask(t.Context(), ""); return err },
		"DeleteTask": func() error { _, err := c.DeleteTask(t.Context(), ""); return err },
		"ApplyTask":  func() error { _, _, err := c.ApplyTask(t.Context(), &v1.Task{}, ApplyOptions{}); return err },
		"GetWorker":  func() error { _, err := c.GetWorker(t.Context(), ""); return err },
		"Cordon":     func() error { _, err := c.Cordon(t.Context(), ""); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); err == nil || !strings.Contains(err.Error(), "name is empty") {
				t.Errorf("error = %v, want a name-is-empty error", err)
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Errorf("the server got %d requests, want none", n)
	}
}

func TestClient_Endpoints(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v1/tasks" && r.Method == http.MethodPost:
			writeJSON(w, http.StatusCreated, task("web"))
		case r.URL.Path == "/api/v1/tasks/web" && r.Method == http.MethodDelete:
			t := task("web")
			now := t.Metadata.CreationTimestamp
			t.Metadata.DeletionTimestamp = now
			writeJSON(w, http.StatusAccepted, t)
		case r.URL.Path == "/api/v1/events":
			writeJSON(w, http.StatusOK, v1.EventList{Items: []v1.Event{{Reason: "Scheduled"}}})
		case r.URL.Path == "/api/v1/workers" && r.Method == http.MethodPost:
			writeJSON(w, http.StatusCreated, v1.RegisterResponse{Token: "worker-token", ManagerToken: "mgr-token"})
		case r.URL.Path == "/api/v1/workers/w1/status":
			writeJSON(w, http.StatusOK, v1.StatusReply{Stop: []string{"uid-9"}})
		case r.URL.Path == "/api/v1/workers":
			writeJSON(w, http.StatusOK, v1.WorkerList{Items: []v1.Worker{{Metadata: v1.ObjectMeta{Name: "w1"}}}})
		case r.URL.Path == "/api/v1/workers/w1/tasks":
			writeJSON(w, http.StatusOK, v1.TaskList{Items: []v1.Task{*task("web")}})
		case strings.HasPrefix(r.URL.Path, "/api/v1/workers/w1"):
			writeJSON(w, http.StatusOK, v1.Worker{Metadata: v1.ObjectMeta{Name: "w1"}, Spec: v1.WorkerSpec{Unschedulable: true}})
		case r.URL.Path == "/version":
			writeJSON(w, http.StatusOK, map[string]string{"version": "v1.2.3", "gitCommit": "abc", "goVersion": "go1.26"})
		case r.URL.Path == "/healthz":
			_, _ = io.WriteString(w, "ok")
		default:
			writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no route "+r.URL.Path)
		}
	})
	c := mustClient(t, srv.URL)
	ctx := t.Context()
	tests := []struct {
		name       string
		call       func() error
		wantMethod string
		wantPath   string
		wantQuery  string
		wantAuth   string
	}{
		{
			name: "CreateTask", wantMethod: "POST", wantPath: "/api/v1/tasks", wantAuth: "Bearer " + testToken,
			call: func() error {
				out, err := c.CreateTask(ctx, task("web"))
				if err == nil && out.Metadata.Name != "web" {
					return errors.New("wrong task returned")
				}
				return err
			},
		},
		{
			name: "DeleteTask", wantMethod: "DELETE", wantPath: "/api/v1/tasks/web", wantAuth: "Bearer " + testToken,
			call: func() error { _, err := c.DeleteTask(ctx, "web"); return err },
		},
		{
			name: "ListEvents", wantMethod: "GET", wantPath: "/api/v1/events", wantQuery: "task=web", wantAuth: "Bearer " + testToken,
			call: func() error {
				list, err := c.ListEvents(ctx, "web")
				if err == nil && (len(list.Items) != 1 || list.Items[0].Reason != "Scheduled") {
					return errors.New("wrong events returned")
				}
				return err
			},
		},
		{
			name: "RegisterWorker uses the join token", wantMethod: "POST", wantPath: "/api/v1/workers", wantAuth: "Bearer join-token",
			call: func() error {
				resp, err := c.RegisterWorker(ctx, "join-token", v1.RegisterRequest{Name: "w1", Address: "127.0.0.1:7071"})
				if err == nil && (resp.Token != "worker-token" || resp.ManagerToken != "mgr-token") {
					return errors.New("wrong credentials returned")
				}
				return err
			},
		},
		{
			name: "ReportStatus", wantMethod: "PUT", wantPath: "/api/v1/workers/w1/status", wantAuth: "Bearer " + testToken,
			call: func() error {
				reply, err := c.ReportStatus(ctx, "w1", &v1.StatusReport{Full: true})
				if err == nil && (len(reply.Stop) != 1 || reply.Stop[0] != "uid-9") {
					return errors.New("wrong reply returned")
				}
				return err
			},
		},
		{
			name: "ListWorkers", wantMethod: "GET", wantPath: "/api/v1/workers", wantAuth: "Bearer " + testToken,
			call: func() error {
				list, err := c.ListWorkers(ctx)
				if err == nil && len(list.Items) != 1 {
					return errors.New("wrong workers returned")
				}
				return err
			},
		},
		{
			name: "GetWorker", wantMethod: "GET", wantPath: "/api/v1/workers/w1", wantAuth: "Bearer " + testToken,
			call: func() error { _, err := c.GetWorker(ctx, "w1"); return err },
		},
		{
			name: "WorkerTasks", wantMethod: "GET", wantPath: "/api/v1/workers/w1/tasks", wantAuth: "Bearer " + testToken,
			call: func() error {
				list, err := c.WorkerTasks(ctx, "w1")
				if err == nil && len(list.Items) != 1 {
					return errors.New("wrong tasks returned")
				}
				return err
			},
		},
		{
			name: "Cordon", wantMethod: "POST", wantPath: "/api/v1/workers/w1/cordon", wantAuth: "Bearer " + testToken,
			call: func() error {
				w, err := c.Cordon(ctx, "w1")
				if err == nil && !w.Spec.Unschedulable {
					return errors.New("wrong worker returned")
				}
				return err
			},
		},
		{
			name: "Uncordon", wantMethod: "POST", wantPath: "/api/v1/workers/w1/uncordon", wantAuth: "Bearer " + testToken,
			call: func() error { _, err := c.Uncordon(ctx, "w1"); return err },
		},
		{
			name: "Drain", wantMethod: "POST", wantPath: "/api/v1/workers/w1/drain", wantAuth: "Bearer " + testToken,
			call: func() error { _, err := c.Drain(ctx, "w1"); return err },
		},
		{
			name: "Version", wantMethod: "GET", wantPath: "/version", wantAuth: "Bearer " + testToken,
			call: func() error {
				v, err := c.Version(ctx)
				if err == nil && (v.Version != "v1.2.3" || v.GitCommit != "abc" || v.GoVersion != "go1.26") {
					return errors.New("wrong version returned")
				}
				return err
			},
		},
		{
			name: "Healthz sends no token", wantMethod: "GET", wantPath: "/healthz", wantAuth: "",
			call: func() error { return c.Healthz(ctx) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); err != nil {
				t.Fatalf("call: %v", err)
			}
			got := srv.last(t)
			if got.Method != tt.wantMethod || got.Path != tt.wantPath || got.RawQuery != tt.wantQuery {
				t.Errorf("request = %s %s?%s, want %s %s?%s", got.Method, got.Path, got.RawQuery, tt.wantMethod, tt.wantPath, tt.wantQuery)
			}
			if got.Auth != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got.Auth, tt.wantAuth)
			}
		})
	}
}

func TestClient_TaskLogs(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/tasks/web/logs" {
			writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, `task "other" not found`)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "line 1\nline 2\n")
	})
	c := mustClient(t, srv.URL)
	rc, err := c.TaskLogs(t.Context(), "web", LogOptions{Follow: true, Tail: 10})
	if err != nil {
		t.Fatalf("TaskLogs: %v", err)
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "line 1\nline 2\n" {
		t.Errorf("logs = %q", data)
	}
	if q := srv.last(t).RawQuery; q != "follow=true&tail=10" {
		t.Errorf("query = %q, want follow=true&tail=10", q)
	}
	if _, err := c.TaskLogs(t.Context(), "other", LogOptions{}); !IsNotFound(err) {
		t.Errorf("TaskLogs of a missing task: error = %v, want NotFound", err)
	}
}

func TestClient_Unreachable(t *testing.T) {
	addr := closedAddr(t)
	tests := []struct {
		name string
		opts []Option
		want string
	}{
		{name: "plain", want: "cannot reach the manager at https://" + addr + ": connection refused"},
		{name: "with source", opts: []Option{WithSource("from ~/.minkube/config")},
			want: "cannot reach the manager at https://" + addr + " (from ~/.minkube/config): connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustClient(t, addr, tt.opts...)
			_, err := c.ListTasks(t.Context(), ListOptions{})
			var ue *UnreachableError
			if !errors.As(err, &ue) {
				t.Fatalf("error = %v (%T), want an *UnreachableError", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v does not wrap ECONNREFUSED", err)
			}
		})
	}
}

func TestClient_ContextCanceled(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	go cancel()
	_, err := c.ListTasks(ctx, ListOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want one wrapping context.Canceled", err)
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		t.Errorf("a canceled call reported the manager unreachable: %v", err)
	}
}

func TestClient_ResponseTooLarge(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, v1.Task{Metadata: v1.ObjectMeta{Name: strings.Repeat("x", 4096)}})
	})
	c := mustClient(t, srv.URL)
	var out v1.Task
	_, err := c.r.call(t.Context(), request{method: http.MethodGet, path: "/api/v1/tasks/x"}, &out, 1024)
	if !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("error = %v, want ErrResponseTooLarge", err)
	}
	if _, err := c.r.call(t.Context(), request{method: http.MethodGet, path: "/api/v1/tasks/x"}, &out, 8192); err != nil {
		t.Fatalf("a body under the limit: %v", err)
	}
}
