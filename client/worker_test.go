package client

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func mustWorkerClient(t *testing.T, address string) *WorkerClient {
	t.Helper()
	c, err := NewWorkerClient(address, "mgr-token")
	if err != nil {
		t.Fatalf("NewWorkerClient(%q): %v", address, err)
	}
	return c
}

func TestWorkerClient_AssignTask(t *testing.T) {
	tests := []struct {
		name        string
		code        int
		reason      v1.StatusReason
		wantCreated bool
		wantErr     error
		wantMsg     string
		body        string   // the answer's body, for a code below 300
		wantFirst   v1.Phase // the first status's phase; "" for none
		answer      bool     // ask for the first status
	}{
		{name: "accepted", code: http.StatusCreated, wantCreated: true},
		{name: "accepted with {}", code: http.StatusCreated, wantCreated: true, body: "{}"},
		{name: "accepted with its first status", code: http.StatusCreated, wantCreated: true, answer: true,
			body: `{"uid":"uid-1","name":"web","generation":1,"status":{"phase":"Running","containerID":"c1"}}`, wantFirst: v1.PhaseRunning},
		{name: "accepted with a malformed answer", code: http.StatusCreated, body: `{"uid":`,
			wantMsg: "decode the answer of the worker to POST /api/v1/tasks"},
		{name: "already held", code: http.StatusOK},
		{name: "no disk", code: http.StatusInsufficientStorage, reason: v1.StatusReasonInsufficientStorage, wantErr: ErrInsufficientStorage,
			wantMsg: "assign task web (uid uid-1) to the worker at http://"},
		{name: "not ready", code: http.StatusServiceUnavailable, reason: v1.StatusReasonServiceUnavailable, wantErr: ErrNotReady},
		{name: "bad request", code: http.StatusBadRequest, reason: v1.StatusReasonBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.code >= 300 {
					writeStatus(w, tt.code, tt.reason, "refused: "+tt.name)
					return
				}
				w.WriteHeader(tt.code)
				io.WriteString(w, tt.body)
			})
			c := mustWorkerClient(t, srv.URL)
			in := task("web")
			in.Metadata.UID = "uid-1"
			created, first, err := c.AssignTask(t.Context(), in, tt.answer)
			got := srv.last(t)
			if got.Method != http.MethodPost || got.Path != "/api/v1/tasks" || got.Auth != "Bearer mgr-token" {
				t.Errorf("request = %s %s with %q, want POST /api/v1/tasks with the manager token", got.Method, got.Path, got.Auth)
			}
			if wantQuery := map[bool]string{true: "answer=status"}[tt.answer]; got.RawQuery != wantQuery {
				t.Errorf("query = %q, want %q", got.RawQuery, wantQuery)
			}
			if tt.code >= 300 {
				if err == nil {
					t.Fatal("AssignTask succeeded, want an error")
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v does not wrap %v", err, tt.wantErr)
				}
				var st *v1.Status
				if !errors.As(err, &st) || st.Code != tt.code {
					t.Errorf("error %v does not carry the worker's %d status", err, tt.code)
				}
				if !strings.Contains(err.Error(), "refused: "+tt.name) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error = %q, want the worker's message and %q", err, tt.wantMsg)
				}
				return
			}
			if tt.wantMsg != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), "assign task web") {
					t.Fatalf("AssignTask error = %v, want one with %q", err, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("AssignTask: %v", err)
			}
			if created != tt.wantCreated {
				t.Errorf("created = %v, want %v", created, tt.wantCreated)
			}
			switch {
			case tt.wantFirst == "" && first != nil:
				t.Errorf("first status = %+v, want none", first)
			case tt.wantFirst != "" && (first == nil || first.UID != "uid-1" || first.Status.Phase != tt.wantFirst || first.Status.ContainerID != "c1"):
				t.Errorf("first status = %+v, want uid-1 %s in container c1", first, tt.wantFirst)
			}
		})
	}
}

func TestWorkerClient_StopTask(t *testing.T) {
	tests := []struct {
		name         string
		uid          string
		wantNotFound bool
	}{
		{name: "held", uid: "uid-1"},
		{name: "not held", uid: "uid-2", wantNotFound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v1/tasks/uid-1" {
					writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "task not held")
					return
				}
				w.WriteHeader(http.StatusOK)
			})
			c := mustWorkerClient(t, srv.URL)
			err := c.StopTask(t.Context(), tt.uid)
			if got := srv.last(t); got.Method != http.MethodDelete || got.Path != "/api/v1/tasks/"+tt.uid {
				t.Errorf("request = %s %s", got.Method, got.Path)
			}
			if tt.wantNotFound != IsNotFound(err) || (!tt.wantNotFound && err != nil) {
				t.Errorf("StopTask error = %v, want NotFound %v", err, tt.wantNotFound)
			}
		})
	}
}

func TestWorkerClient_Reads(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/tasks":
			writeJSON(w, http.StatusOK, v1.TaskList{Items: []v1.Task{*task("web")}})
		case "/api/v1/stats":
			writeJSON(w, http.StatusOK, v1.WorkerStats{CPUPercent: 12.5, DiskFree: 1 << 30, Tasks: 3})
		case "/api/v1/tasks/uid-1/logs":
			_, _ = io.WriteString(w, "hello\n")
		case "/healthz":
			_, _ = io.WriteString(w, "ok")
		default:
			writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no")
		}
	})
	c := mustWorkerClient(t, srv.URL)
	ctx := t.Context()

	list, err := c.ListTasks(ctx)
	if err != nil || len(list.Items) != 1 || list.Items[0].Metadata.Name != "web" {
		t.Errorf("ListTasks = %+v, %v; want web", list, err)
	}
	stats, err := c.Stats(ctx)
	if err != nil || stats.CPUPercent != 12.5 || stats.DiskFree != 1<<30 || stats.Tasks != 3 {
		t.Errorf("Stats = %+v, %v", stats, err)
	}
	rc, err := c.TaskLogs(ctx, "uid-1", LogOptions{Tail: 5})
	if err != nil {
		t.Fatalf("TaskLogs: %v", err)
	}
	data, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(data) != "hello\n" || srv.last(t).RawQuery != "tail=5" {
		t.Errorf("TaskLogs = %q with query %q", data, srv.last(t).RawQuery)
	}
	if err := c.Healthz(ctx); err != nil {
		t.Errorf("Healthz: %v", err)
	}
	if got := srv.last(t).Auth; got != "" {
		t.Errorf("Healthz sent Authorization %q, want none", got)
	}
}

func TestWorkerClient_Unreachable(t *testing.T) {
	addr := closedAddr(t)
	c := mustWorkerClient(t, addr)
	_, _, err := c.AssignTask(t.Context(), task("web"), false)
	want := "cannot reach the worker at https://" + addr + ": connection refused"
	var ue *UnreachableError
	if !errors.As(err, &ue) || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("error = %v, want an *UnreachableError ending %q", err, want)
	}
}

// TestNotSent tells a push that never reached the worker from one whose
// outcome is unknown.
func TestNotSent(t *testing.T) {
	// A port nobody listens on: the connection is refused.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	_, _, err = mustWorkerClient(t, closed).AssignTask(t.Context(), &v1.Task{Metadata: v1.ObjectMeta{Name: "web", UID: "u1"}}, false)
	if err == nil || !NotSent(err) {
		t.Errorf("push to a closed port: NotSent(%v) = false, want true", err)
	}

	// A worker that reads the request and hangs up without answering:
	// it may have acted on it.
	hangup, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hangup.Close()
	go func() {
		for {
			conn, err := hangup.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Read(make([]byte, 4096))
			conn.Close()
		}
	}()
	_, _, err = mustWorkerClient(t, hangup.Addr().String()).AssignTask(t.Context(), &v1.Task{Metadata: v1.ObjectMeta{Name: "web", UID: "u1"}}, false)
	if err == nil || NotSent(err) {
		t.Errorf("push answered by a hang-up: NotSent(%v) = true, want false", err)
	}
	if NotSent(errors.New("context deadline exceeded")) {
		t.Error("NotSent of a timeout = true, want false")
	}
}
