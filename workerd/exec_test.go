package workerd_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// mustExec runs an exec session through the worker API with the real
// client, and returns the exit code, the output and the error.
func (h *harness) mustExec(t *testing.T, token, uid string, opts client.ExecOptions, s client.ExecStreams) (int, error) {
	t.Helper()
	conn, err := h.workerClient(t, token).ExecTask(t.Context(), uid, opts)
	if err != nil {
		return 0, err
	}
	return client.StreamExec(t.Context(), conn, s)
}

// workerClient calls the test worker as the manager does, verifying its
// certificate against the cluster CA.
func (h *harness) workerClient(t *testing.T, token string) *client.WorkerClient {
	t.Helper()
	wc, err := client.NewWorkerClient(h.url, token,
		client.WithTLS(client.TLS{CAData: string(pkitest.CA().CertPEM), ServerName: workerName}))
	if err != nil {
		t.Fatal(err)
	}
	return wc
}

// mustExecWorker starts a worker holding the Task web, running, and
// returns it, the manager's token and the Task's container.
func mustExecWorker(t *testing.T) (*harness, string, *v1.Task, runtime.Container) {
	t.Helper()
	h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, nil)
	token := h.mustRegistered(t, 1)
	task := newTask("web", "uid-exec")
	h.mustAssign(t, token, task, http.StatusCreated)
	return h, token, task, h.mustRunning(t, token, task.Metadata.UID, 0)
}

func TestServer_Exec(t *testing.T) {
	t.Parallel()
	h, token, task, c := mustExecWorker(t)
	fake := h.fake

	t.Run("streams, exit code", func(t *testing.T) {
		fake.SetExecStream(func(_ context.Context, id string, opts runtime.ExecOptions) (int, error) {
			in, err := io.ReadAll(opts.Stdin)
			if err != nil {
				return 0, err
			}
			fmt.Fprintf(opts.Stdout, "%s in %s: %s", strings.Join(opts.Cmd, " "), id, bytes.ToUpper(in))
			fmt.Fprint(opts.Stderr, "to stderr")
			return 3, nil
		})
		var stdout, stderr bytes.Buffer
		big := strings.Repeat("x", 3*v1.MaxExecFrame) // several frames
		code, err := h.mustExec(t, token, task.Metadata.UID, client.ExecOptions{Command: []string{"/app", "up"}, Stdin: true},
			client.ExecStreams{Stdin: strings.NewReader("hi " + big), Stdout: &stdout, Stderr: &stderr})
		if err != nil || code != 3 {
			t.Fatalf("exec = %d, %v; want 3", code, err)
		}
		if want := "/app up in " + c.ID + ": HI " + strings.ToUpper(big); stdout.String() != want || stderr.String() != "to stderr" {
			t.Errorf("stdout %.60q (%d bytes), stderr %q", stdout.String(), stdout.Len(), stderr.String())
		}
	})

	t.Run("terminal size and resizes", func(t *testing.T) {
		fake.SetExecStream(func(_ context.Context, _ string, opts runtime.ExecOptions) (int, error) {
			if !opts.TTY || opts.Stdin != nil {
				return 0, errors.New("want a TTY without stdin")
			}
			fmt.Fprintf(opts.Stdout, "start %dx%d\n", opts.Size.Width, opts.Size.Height)
			size := <-opts.Resize
			fmt.Fprintf(opts.Stdout, "resized %dx%d\n", size.Width, size.Height)
			return 0, nil
		})
		resize := make(chan v1.TerminalSize, 1)
		resize <- v1.TerminalSize{Width: 132, Height: 50}
		var stdout bytes.Buffer
		code, err := h.mustExec(t, token, task.Metadata.UID,
			client.ExecOptions{Command: []string{"/app"}, TTY: true, Size: v1.TerminalSize{Width: 80, Height: 24}},
			client.ExecStreams{Stdout: &stdout, Stderr: io.Discard, Resize: resize})
		if err != nil || code != 0 || stdout.String() != "start 80x24\nresized 132x50\n" {
			t.Errorf("exec = %d, %v, %q", code, err, stdout.String())
		}
	})

	t.Run("the worker cannot run it", func(t *testing.T) {
		fake.SetExecStream(func(context.Context, string, runtime.ExecOptions) (int, error) {
			return 0, runtime.ErrNotRunning
		})
		_, err := h.mustExec(t, token, task.Metadata.UID, client.ExecOptions{Command: []string{"/app"}},
			client.ExecStreams{Stdout: io.Discard, Stderr: io.Discard})
		if err == nil || !strings.Contains(err.Error(), `exec in task "web" on worker worker-1: container is not running`) {
			t.Errorf("exec = %v", err)
		}
	})

	t.Run("the client goes away", func(t *testing.T) {
		ended := make(chan error, 1)
		fake.SetExecStream(func(ctx context.Context, _ string, opts runtime.ExecOptions) (int, error) {
			fmt.Fprintln(opts.Stdout, "started")
			<-ctx.Done()
			ended <- ctx.Err()
			return 0, ctx.Err()
		})
		ctx, cancel := context.WithCancel(t.Context())
		wc := h.workerClient(t, token)
		conn, err := wc.ExecTask(ctx, task.Metadata.UID, client.ExecOptions{Command: []string{"/app"}})
		if err != nil {
			t.Fatal(err)
		}
		started := make(chan struct{})
		go func() {
			_, _ = client.StreamExec(ctx, conn, client.ExecStreams{Stdout: writerFunc(func(p []byte) {
				if strings.Contains(string(p), "started") {
					close(started)
				}
			}), Stderr: io.Discard})
		}()
		<-started
		cancel()
		select {
		case err := <-ended:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the command's context ended with %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("the command still runs after its client went away")
		}
	})

	t.Run("refusals", func(t *testing.T) {
		post := func(path, token string, upgrade bool) (int, v1.Status) {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, h.url+path, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			if upgrade {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", v1.ExecProtocol)
			}
			resp, err := h.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			data, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, mustStatusBody(t, data)
		}
		base := "/api/v1/tasks/" + task.Metadata.UID + "/exec"
		for _, tt := range []struct {
			name, path, token string
			upgrade           bool
			code              int
			msg               string
		}{
			{"unknown uid", "/api/v1/tasks/nope/exec?command=x", token, true, 404, "task nope is not held by worker worker-1"},
			{"no command", base, token, true, 400, "command: give the program to run"},
			{"no upgrade", base + "?command=x", token, false, 400, "exec needs an HTTP upgrade"},
			{"wrong token", base + "?command=x", "nope", true, 401, "invalid bearer token"},
		} {
			code, st := post(tt.path, tt.token, tt.upgrade)
			if code != tt.code || !strings.Contains(st.Message, tt.msg) {
				t.Errorf("%s: %d %q; want %d %q", tt.name, code, st.Message, tt.code, tt.msg)
			}
		}

		job := newTask("job", "uid-job", func(t *v1.Task) { t.Spec.RestartPolicy = v1.RestartNever })
		h.mustAssign(t, token, job, http.StatusCreated)
		jc := h.mustRunning(t, token, job.Metadata.UID, 0)
		if err := fake.Exit(jc.ID, 0); err != nil {
			t.Fatal(err)
		}
		h.mustStatus(t, token, job.Metadata.UID, "Succeeded", func(st v1.TaskStatus) bool { return st.Phase == v1.PhaseSucceeded })
		_, err := h.mustExec(t, token, job.Metadata.UID, client.ExecOptions{Command: []string{"/app"}},
			client.ExecStreams{Stdout: io.Discard, Stderr: io.Discard})
		if client.ReasonOf(err) != v1.StatusReasonBadRequest || !strings.Contains(err.Error(), `the container of task "job" is not running (exited, exit code 0)`) {
			t.Errorf("exec in a stopped container = %v", err)
		}
	})
}

// TestServer_ExecBounded checks that a worker runs at most 32 sessions at
// once, and that stopping the worker ends those that run.
func TestServer_ExecBounded(t *testing.T) {
	t.Parallel()
	h, token, task, _ := mustExecWorker(t)
	var running sync.WaitGroup
	h.fake.SetExecStream(func(ctx context.Context, _ string, opts runtime.ExecOptions) (int, error) {
		running.Done()
		<-ctx.Done()
		return 0, ctx.Err()
	})
	const sessions = 32
	running.Add(sessions)
	results := make(chan error, sessions)
	for range sessions {
		go func() {
			_, err := h.mustExec(t, token, task.Metadata.UID, client.ExecOptions{Command: []string{"/app"}},
				client.ExecStreams{Stdout: io.Discard, Stderr: io.Discard})
			results <- err
		}()
	}
	started := make(chan struct{})
	go func() { running.Wait(); close(started) }()
	select {
	case <-started:
	case err := <-results:
		t.Fatalf("a session ended before all %d ran: %v", sessions, err)
	case <-time.After(waitTimeout):
		t.Fatalf("%d sessions did not all start", sessions)
	}
	_, err := h.mustExec(t, token, task.Metadata.UID, client.ExecOptions{Command: []string{"/app"}},
		client.ExecStreams{Stdout: io.Discard, Stderr: io.Discard})
	if client.ReasonOf(err) != v1.StatusReasonServiceUnavailable || !strings.Contains(err.Error(), "already runs 32 exec sessions") {
		t.Errorf("session 33 = %v; want 503", err)
	}
	if err := h.stop(t); err != nil {
		t.Fatalf("Start = %v", err)
	}
	for range sessions {
		select {
		case err := <-results:
			if err == nil || !strings.Contains(err.Error(), "context canceled") {
				t.Errorf("a session ended by the worker's stop = %v", err)
			}
		case <-time.After(waitTimeout):
			t.Fatal("sessions still run after the worker stopped")
		}
	}
}

// writerFunc is an io.Writer that calls a function.
type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) {
	f(p)
	return len(p), nil
}
