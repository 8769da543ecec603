package apiserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store/statetest"
)

// fakeWorkerExec plays a worker's side of exec sessions over net.Pipe:
// stdin comes back on stdout, and the end of stdin ends the command with
// exit code 7. A refusal, when set, is returned instead.
type fakeWorkerExec struct {
	mu      sync.Mutex
	refusal error
	calls   []string // worker/uid of each call
	opts    []v1.ExecOptions
	closed  chan struct{} // receives when the manager closes a session's connection
}

func (f *fakeWorkerExec) ExecTask(_ context.Context, w *v1.Worker, cred *v1.Credential, uid string, opts v1.ExecOptions) (io.ReadWriteCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, w.Metadata.Name+"/"+uid+" with "+cred.ManagerToken)
	f.opts = append(f.opts, opts)
	if f.refusal != nil {
		return nil, f.refusal
	}
	mine, theirs := net.Pipe()
	go func() {
		defer mine.Close()
		buf := make([]byte, v1.MaxExecFrame)
		for {
			ch, p, err := v1.ReadExecFrame(mine, buf)
			if err != nil {
				f.closed <- struct{}{}
				return
			}
			if ch != v1.ExecStdin {
				continue
			}
			if len(p) == 0 {
				_ = v1.WriteExecFrame(mine, v1.ExecExit, []byte(`{"exitCode":7}`))
				return
			}
			_ = v1.WriteExecFrame(mine, v1.ExecStdout, p)
		}
	}()
	return theirs, nil
}

func TestServer_Exec(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger)
	fake := &fakeWorkerExec{closed: make(chan struct{}, 10)}
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger, Exec: fake})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	statetest.Run(t, st)
	e := &apiEnv{st: st, url: hs.URL}
	e.mustAPIWorker(t, "w1")
	task := e.mustStoredTask(t, "web", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1"})
	e.mustStoredTask(t, "done", nil, v1.TaskStatus{Phase: v1.PhaseSucceeded, Worker: "w1"})
	e.mustStoredTask(t, "waiting", nil, v1.TaskStatus{Phase: v1.PhasePending})
	e.mustStoredTask(t, "lost", nil, v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "gone"})
	api, err := client.New(hs.URL, apiAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	exec := func(ctx context.Context, name string, stdin string) (int, string, error) {
		conn, err := api.ExecTask(ctx, name, client.ExecOptions{Command: []string{"/testapp", "cat"}, Stdin: true})
		if err != nil {
			return 0, "", err
		}
		var out bytes.Buffer
		code, err := client.StreamExec(ctx, conn, client.ExecStreams{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: io.Discard})
		return code, out.String(), err
	}

	t.Run("proxied to the task's worker", func(t *testing.T) {
		code, out, err := exec(t.Context(), "web", "hello through the manager")
		if err != nil || code != 7 || out != "hello through the manager" {
			t.Fatalf("exec = %d, %q, %v; want 7 and the input back", code, out, err)
		}
		fake.mu.Lock()
		defer fake.mu.Unlock()
		if want := "w1/" + task.Metadata.UID + " with manager-token-w1"; len(fake.calls) != 1 || fake.calls[0] != want {
			t.Errorf("worker calls = %q, want [%s]", fake.calls, want)
		}
		if o := fake.opts[0]; len(o.Command) != 2 || o.Command[1] != "cat" || !o.Stdin || o.TTY {
			t.Errorf("the worker got %+v", o)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		upgrade := func(req *http.Request) {
			req.Header.Set("Connection", "Upgrade")
			req.Header.Set("Upgrade", v1.ExecProtocol)
		}
		for _, tt := range []struct {
			name, path, token string
			plain             bool // without the upgrade headers
			code              int
			reason            v1.StatusReason
			msg               string
		}{
			{"no such task", "/api/v1/tasks/nope/exec?command=x", apiAdminToken, false, 404, v1.StatusReasonNotFound, `task "nope" not found`},
			{"no command", "/api/v1/tasks/web/exec", apiAdminToken, false, 400, v1.StatusReasonBadRequest, "command: give the program to run"},
			{"no upgrade", "/api/v1/tasks/web/exec?command=x", apiAdminToken, true, 400, v1.StatusReasonBadRequest, "exec needs an HTTP upgrade"},
			{"finished", "/api/v1/tasks/done/exec?command=x", apiAdminToken, false, 400, v1.StatusReasonBadRequest, `task "done" is Succeeded: its container has exited`},
			{"not placed", "/api/v1/tasks/waiting/exec?command=x", apiAdminToken, false, 400, v1.StatusReasonBadRequest, `task "waiting" has no worker yet (phase Pending)`},
			{"unregistered worker", "/api/v1/tasks/lost/exec?command=x", apiAdminToken, false, 503, v1.StatusReasonServiceUnavailable, `worker "gone" of task "lost" is not registered`},
			{"no token", "/api/v1/tasks/web/exec?command=x", "", false, 401, v1.StatusReasonUnauthorized, "missing bearer token"},
			{"join token", "/api/v1/tasks/web/exec?command=x", apiJoinToken, false, 403, v1.StatusReasonForbidden, "may not POST"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, hs.URL+tt.path, nil)
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				if !tt.plain {
					upgrade(req)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				st := mustStatusError(t, apiResponse{Code: resp.StatusCode, Header: resp.Header, Body: data}, tt.code, tt.reason)
				if !strings.Contains(st.Message, tt.msg) {
					t.Errorf("message = %q, want it to contain %q", st.Message, tt.msg)
				}
			})
		}
	})

	t.Run("the worker's refusal", func(t *testing.T) {
		for _, tt := range []struct {
			refusal error
			code    int
			msg     string
		}{
			{&v1.Status{Code: 400, Reason: v1.StatusReasonBadRequest, Message: `the container of task "web" is not running`}, 400,
				`exec in task "web": the container of task "web" is not running`},
			{errors.New("dial tcp: connection refused"), 503, `exec in task "web" on worker "w1": dial tcp: connection refused`},
			{&v1.Status{Code: 401, Reason: v1.StatusReasonUnauthorized, Message: "invalid bearer token"}, 503, "invalid bearer token"},
		} {
			fake.mu.Lock()
			fake.refusal = tt.refusal
			fake.mu.Unlock()
			_, _, err := exec(t.Context(), "web", "x")
			var st *v1.Status
			if !errors.As(err, &st) || st.Code != tt.code || !strings.Contains(st.Message, tt.msg) {
				t.Errorf("with the worker refusing %v: %v; want %d %q", tt.refusal, err, tt.code, tt.msg)
			}
		}
		fake.mu.Lock()
		fake.refusal = nil
		fake.mu.Unlock()
	})

	t.Run("the client goes away", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		conn, err := api.ExecTask(ctx, "web", client.ExecOptions{Command: []string{"x"}, Stdin: true})
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		conn.Close()
		select {
		case <-fake.closed:
		case <-time.After(apiWaitTimeout):
			t.Fatal("the worker's connection stayed open after the client left")
		}
	})

	t.Run("EndSessions", func(t *testing.T) {
		conn, err := api.ExecTask(t.Context(), "web", client.ExecOptions{Command: []string{"x"}, Stdin: true})
		if err != nil {
			t.Fatal(err)
		}
		pr, pw := io.Pipe() // stdin that stays open
		defer pw.Close()
		done := make(chan error, 1)
		go func() {
			_, err := client.StreamExec(t.Context(), conn, client.ExecStreams{Stdin: pr, Stdout: io.Discard, Stderr: io.Discard})
			done <- err
		}()
		srv.EndSessions()
		select {
		case err := <-done:
			if !errors.Is(err, client.ErrExecBroken) {
				t.Errorf("a session ended by EndSessions = %v, want ErrExecBroken", err)
			}
		case <-time.After(apiWaitTimeout):
			t.Fatal("the session still runs after EndSessions")
		}
	})
}
