package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ExecOptions say what an exec runs and how.
type ExecOptions = v1.ExecOptions

// ExecTask starts opts.Command in the container of the Task called name,
// through the manager and the worker that runs it, and returns the
// session's connection: exec frames both ways (v1.ExecProtocol), which
// StreamExec carries. The caller closes it. It returns a NotFound
// *v1.Status when there is no such Task, and a BadRequest one when the
// Task's container is not running.
func (c *Client) ExecTask(ctx context.Context, name string, opts ExecOptions) (io.ReadWriteCloser, error) {
	seg, err := pathEscape("task", name)
	if err != nil {
		return nil, err
	}
	return c.r.upgrade(ctx, "/api/v1/tasks/"+seg+"/exec", opts)
}

// ExecTask starts opts.Command in the container of the Task with uid and
// returns the session's connection, as Client.ExecTask does. It returns a
// NotFound *v1.Status when the worker does not hold that uid.
func (c *WorkerClient) ExecTask(ctx context.Context, uid string, opts ExecOptions) (io.ReadWriteCloser, error) {
	seg, err := pathEscape("task uid", uid)
	if err != nil {
		return nil, err
	}
	return c.r.upgrade(ctx, "/api/v1/tasks/"+seg+"/exec", opts)
}

// upgrade POSTs an exec request to path and returns the switched
// connection, closed when ctx ends.
func (r *requester) upgrade(ctx context.Context, path string, opts ExecOptions) (io.ReadWriteCloser, error) {
	resp, err := r.send(ctx, request{method: http.MethodPost, path: path, query: opts.Query(), upgrade: v1.ExecProtocol})
	if err != nil {
		return nil, err
	}
	conn, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("%s at %s switched protocols but gave no connection", r.peer, r.serverString())
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return &closeConn{ReadWriteCloser: conn, stop: stop}, nil
}

// closeConn is a switched connection that stops watching its context
// once closed.
type closeConn struct {
	io.ReadWriteCloser
	stop func() bool
}

func (c *closeConn) Close() error {
	c.stop()
	return c.ReadWriteCloser.Close()
}

// ExecStreams are the local ends of an exec session.
type ExecStreams struct {
	// Stdin, when not nil, is sent to the command until it ends, which
	// closes the command's standard input.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output.
	Stdout, Stderr io.Writer
	// Resize, when not nil, sends the terminal's size each time it
	// changes.
	Resize <-chan v1.TerminalSize
}

// ErrExecBroken means an exec session ended before the command's exit
// code arrived: the connection broke, or the far side broke the protocol.
var ErrExecBroken = errors.New("the exec session ended before the command's exit code arrived")

// StreamExec carries an exec session over conn (from ExecTask) until the
// command exits, and returns its exit code. It closes conn. An error says
// the command's end is unknown: ctx ended, the connection broke
// (ErrExecBroken), or the worker could not run the command to its end.
//
// A Read of s.Stdin still in progress when the command exits is not
// waited for: standard input cannot be interrupted. What it reads then is
// dropped.
func StreamExec(ctx context.Context, conn io.ReadWriteCloser, s ExecStreams) (int, error) {
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	var mu sync.Mutex // one frame at a time on conn
	send := func(ch v1.ExecChannel, p []byte) error {
		mu.Lock()
		defer mu.Unlock()
		return v1.WriteExecFrame(conn, ch, p)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	defer func() {
		close(done)
		conn.Close() // ends a write in progress
		wg.Wait()
		stop()
	}()
	if s.Stdin != nil {
		go func() { // not waited for: see above
			in := v1.ExecFrameWriter{W: conn, Channel: v1.ExecStdin, Mu: &mu}
			if _, err := io.CopyBuffer(in, s.Stdin, make([]byte, v1.MaxExecFrame)); err == nil {
				_ = send(v1.ExecStdin, nil) // the end of stdin
			}
		}()
	}
	if s.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case size, ok := <-s.Resize:
					if !ok {
						return
					}
					data, _ := json.Marshal(size) // a TerminalSize always encodes
					if send(v1.ExecResize, data) != nil {
						return
					}
				}
			}
		}()
	}
	buf := make([]byte, v1.MaxExecFrame)
	for {
		ch, p, err := v1.ReadExecFrame(conn, buf)
		if err != nil {
			if ctx.Err() != nil {
				return 0, context.Cause(ctx)
			}
			return 0, fmt.Errorf("%w: %w", ErrExecBroken, err)
		}
		switch ch {
		case v1.ExecStdout, v1.ExecStderr:
			w := s.Stdout
			if ch == v1.ExecStderr {
				w = s.Stderr
			}
			if _, err := w.Write(p); err != nil {
				return 0, fmt.Errorf("write the command's output: %w", err)
			}
		case v1.ExecExit:
			var res v1.ExecResult
			if err := json.Unmarshal(p, &res); err != nil {
				return 0, fmt.Errorf("%w: bad exit frame %q: %w", ErrExecBroken, p, err)
			}
			if res.Error != "" {
				return 0, errors.New(res.Error)
			}
			return res.ExitCode, nil
		default:
			return 0, fmt.Errorf("%w: frame on unknown channel %d", ErrExecBroken, ch)
		}
	}
}
