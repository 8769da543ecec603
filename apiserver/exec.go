package apiserver

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// WorkerExec starts an exec session in a task's container on the worker
// that runs it and returns the session's connection, switched to
// v1.ExecProtocol. It is defined here, by its user, and implemented over
// the worker API.
type WorkerExec interface {
	ExecTask(ctx context.Context, worker *v1.Worker, cred *v1.Credential, uid string, opts v1.ExecOptions) (io.ReadWriteCloser, error)
}

// execLinger is how long the manager waits, once the worker has ended a
// session, for the client to read the rest and close its side.
const execLinger = 10 * time.Second

// execTask runs a command in a task's container: POST
// /api/v1/tasks/:name/exec?command=...&stdin=&tty= with an HTTP upgrade to
// v1.ExecProtocol. The manager opens the same session on the task's
// worker and, once the worker has switched, switches too and copies bytes
// both ways until either side ends; the frames are the worker's and the
// client's. Refusals, the worker's included, come before the switch, as a
// Status.
func (s *Server) execTask(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	t, ok := s.st.TaskCache.Get(name)
	if !ok {
		return errNotFound("task", name)
	}
	opts, err := v1.ParseExecOptions(r.URL.Query())
	if err != nil {
		return errBadRequest("%v", err)
	}
	if !v1.ExecUpgradeRequested(r.Header) {
		return errBadRequest("exec needs an HTTP upgrade: send Connection: Upgrade and Upgrade: %s", v1.ExecProtocol)
	}
	switch {
	case t.Status.Phase.Terminal():
		return errBadRequest("task %q is %s: its container has exited; exec runs in a running container", name, t.Status.Phase)
	case t.Status.Worker == "":
		return errBadRequest("task %q has no worker yet (phase %s); exec works once it runs", name, t.Status.Phase)
	}
	if s.exec == nil {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "this manager runs no exec sessions")
	}
	wk, cred, err := s.taskWorker(t)
	if err != nil {
		return err
	}
	// The session lasts as long as the client's connection: r's context
	// ends only when the handler returns or the manager stops.
	upstream, err := s.exec.ExecTask(r.Context(), wk, cred, t.Metadata.UID, opts)
	if err != nil {
		return workerFailure(err, fmt.Sprintf("exec in task %q", name), wk.Metadata.Name)
	}
	defer upstream.Close()
	conn, in, err := v1.SwitchToExec(w)
	if err != nil {
		s.log.Warn("exec: cannot take the connection", "task", name, "err", err)
		return nil
	}
	defer conn.Close()
	s.log.Info("exec", "task", name, "worker", wk.Metadata.Name, "command", opts.Command, "tty", opts.TTY)
	splice(r.Context(), s.ending, conn, in, upstream)
	return nil
}

// EndSessions ends the exec sessions in progress and those that start
// later. An exec session's connection is taken from the HTTP server, which
// then no longer tracks it: pass EndSessions to the server's
// RegisterOnShutdown, so that Shutdown ends them.
func (s *Server) EndSessions() {
	s.endingNow.Do(func() { close(s.ending) })
}

// splice copies the client's bytes (conn, after what in has buffered) to
// the worker and the worker's back, until both directions end, ctx ends
// or ending is closed. When the worker ends its side, the client's write
// side is closed and the client, having read all, ends its own; when the
// client ends first, the worker's connection is closed, which ends the
// session there.
func splice(ctx context.Context, ending <-chan struct{}, conn net.Conn, in io.Reader, upstream io.ReadWriteCloser) {
	var wg sync.WaitGroup
	finished := make(chan struct{})
	defer func() {
		close(finished)
		wg.Wait()
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
		case <-ending:
		case <-finished:
			return
		}
		conn.Close()
		upstream.Close()
	}()
	wg.Add(1)
	go func() { // worker to client
		defer wg.Done()
		_, _ = io.Copy(conn, upstream)
		cw, ok := conn.(interface{ CloseWrite() error })
		if !ok || cw.CloseWrite() != nil {
			conn.Close()
			return
		}
		_ = conn.SetReadDeadline(time.Now().Add(execLinger))
	}()
	_, _ = io.Copy(upstream, in) // client to worker
	upstream.Close()
	wg.Wait()
}
