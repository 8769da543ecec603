package workerd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// maxExecSessions bounds the exec sessions a worker runs at once.
const maxExecSessions = 32

// execLinger is how long a session waits, after its exit frame, for the
// manager to close the connection before closing it itself: closing with
// unread input would reset the connection, and could lose the last
// frames on their way.
const execLinger = 10 * time.Second

// execTask runs a command in a task's container, attached to the
// connection: POST /api/v1/tasks/:uid/exec?command=...&stdin=&tty= with
// an HTTP upgrade to v1.ExecProtocol. The checks that can fail are made
// before the switch, so that they are answered with a status.
func (w *Worker) execTask(rw http.ResponseWriter, r *http.Request, p httprouter.Params) {
	uid := p.ByName("uid")
	t, st, ok := w.tasks.get(uid)
	if !ok {
		w.writeNotHeld(rw, uid)
		return
	}
	name := t.Metadata.Name
	opts, err := v1.ParseExecOptions(r.URL.Query())
	if err != nil {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, err.Error())
		return
	}
	if !v1.ExecUpgradeRequested(r.Header) {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, "exec needs an HTTP upgrade: send Connection: Upgrade and Upgrade: "+v1.ExecProtocol)
		return
	}
	if msg := w.execRefusal(r.Context(), name, st); msg != "" {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, msg)
		return
	}
	if n := w.execSessions.Add(1); n > maxExecSessions {
		w.execSessions.Add(-1)
		writeStatus(rw, http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable,
			fmt.Sprintf("worker %s already runs %d exec sessions; retry when one ends", w.opts.Name, maxExecSessions))
		return
	}
	defer w.execSessions.Add(-1)
	conn, in, err := v1.SwitchToExec(rw)
	if err != nil {
		w.log.Warn("exec: cannot take the connection", "task", name, "err", err)
		return
	}
	w.log.Info("exec", "task", name, "command", opts.Command, "stdin", opts.Stdin, "tty", opts.TTY)
	w.runExec(r.Context(), conn, in, name, st.ContainerID, opts)
}

// execRefusal says why a command cannot run in the task's container now,
// as observed at this moment; "" when it can.
func (w *Worker) execRefusal(ctx context.Context, name string, st v1.TaskStatus) string {
	if st.ContainerID == "" {
		msg := fmt.Sprintf("task %q has no container yet", name)
		if st.Reason != "" {
			msg += " (" + st.Reason + ")"
		}
		return msg
	}
	c, err := w.rt.Inspect(ctx, st.ContainerID)
	switch {
	case errors.Is(err, runtime.ErrNotFound):
		return fmt.Sprintf("the container of task %q is gone", name)
	case err != nil:
		return fmt.Sprintf("task %q: %v", name, err)
	case !c.State.Running:
		return fmt.Sprintf("the container of task %q is not running (%s, exit code %d)", name, c.State.Status, c.State.ExitCode)
	}
	return ""
}

// runExec carries one session over conn: frames from the manager feed the
// command's stdin and terminal size; its output goes back as frames, and
// its exit code as the last one. The session ends when the command exits
// or the manager goes away.
func (w *Worker) runExec(parent context.Context, conn net.Conn, in *bufio.Reader, name, containerID string, opts v1.ExecOptions) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var mu sync.Mutex // one frame at a time on conn
	var stdin io.ReadCloser
	var stdinW *io.PipeWriter
	if opts.Stdin {
		var stdinR *io.PipeReader
		stdinR, stdinW = io.Pipe()
		stdin = stdinR
	}
	resize := make(chan runtime.TerminalSize, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		err := readExecFrames(in, stdinW, resize)
		if stdinW != nil {
			stdinW.CloseWithError(io.ErrClosedPipe)
		}
		if err != nil && ctx.Err() == nil {
			w.log.Info("exec: the manager's side ended", "task", name, "err", err)
		}
		cancel() // the manager went away: nobody reads the output
	}()
	code, err := w.rt.ExecStream(ctx, containerID, runtime.ExecOptions{
		Cmd:    opts.Command,
		Stdin:  stdin,
		Stdout: v1.ExecFrameWriter{W: conn, Channel: v1.ExecStdout, Mu: &mu},
		Stderr: v1.ExecFrameWriter{W: conn, Channel: v1.ExecStderr, Mu: &mu},
		TTY:    opts.TTY,
		Size:   runtime.TerminalSize(opts.Size),
		Resize: resize,
	})
	res := v1.ExecResult{ExitCode: code}
	if err != nil {
		res = v1.ExecResult{Error: fmt.Sprintf("exec in task %q on worker %s: %v", name, w.opts.Name, err)}
	}
	data, _ := json.Marshal(res) // an ExecResult always encodes
	mu.Lock()
	_ = v1.WriteExecFrame(conn, v1.ExecExit, data)
	mu.Unlock()
	linger := time.Now().Add(execLinger)
	if parent.Err() != nil {
		linger = time.Now() // the worker is stopping
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
	_ = conn.SetReadDeadline(linger)
	<-readDone
	conn.Close()
}

// readExecFrames reads the manager's frames until the connection ends:
// stdin data goes to stdin (an empty frame closes it), sizes to resize,
// where only the latest waits. It returns nil at the end of the stream.
func readExecFrames(in io.Reader, stdin *io.PipeWriter, resize chan runtime.TerminalSize) error {
	buf := make([]byte, v1.MaxExecFrame)
	for {
		ch, p, err := v1.ReadExecFrame(in, buf)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch ch {
		case v1.ExecStdin:
			switch {
			case stdin == nil:
				return errors.New("stdin frame in a session without stdin")
			case len(p) == 0:
				stdin.Close()
			default:
				// Blocks until the command reads it; fails once the
				// command has gone, when the rest is dropped.
				_, _ = stdin.Write(p)
			}
		case v1.ExecResize:
			var size v1.TerminalSize
			if err := json.Unmarshal(p, &size); err != nil {
				return fmt.Errorf("bad resize frame: %w", err)
			}
			select { // keep only the latest size
			case <-resize:
			default:
			}
			resize <- runtime.TerminalSize(size)
		default:
			return fmt.Errorf("frame on channel %d from the manager", ch)
		}
	}
}
