package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/minkube/minkube/workerd/runtime"
)

// ExecStream runs opts.Cmd in the running container with its streams
// attached, through the engine's exec API: create, then start with the
// connection hijacked; with a TTY the output is the terminal's raw bytes,
// without one stdout and stderr come multiplexed and are split again.
// Stdin is copied until it ends, which closes the command's standard
// input. The terminal is sized at the start and on every opts.Resize.
// It returns the exit code once the command has exited and its output
// has been written, ErrNotFound (wrapped) when there is no such container
// and ErrNotRunning when it is not running. When ctx ends first it
// returns ctx's error: the connection is closed, but the engine cannot
// kill an exec, so the command may go on running.
func (r *Runtime) ExecStream(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	closeStdin := func() {}
	if opts.Stdin != nil {
		closeStdin = sync.OnceFunc(func() { _ = opts.Stdin.Close() })
	}
	defer closeStdin()
	if len(opts.Cmd) == 0 {
		return 0, fmt.Errorf("exec in container %q: empty command", id)
	}
	what := fmt.Sprintf("exec %q in", opts.Cmd)
	create := container.ExecOptions{
		Cmd:          opts.Cmd,
		AttachStdin:  opts.Stdin != nil,
		AttachStdout: true,
		AttachStderr: true,
		Tty:          opts.TTY,
	}
	attach := container.ExecAttachOptions{Tty: opts.TTY}
	if opts.TTY && opts.Size != (runtime.TerminalSize{}) {
		// Engines from API 1.42 size the terminal from the start; the
		// client drops this for older ones, which resize below.
		size := &[2]uint{uint(opts.Size.Height), uint(opts.Size.Width)}
		create.ConsoleSize, attach.ConsoleSize = size, size
	}
	created, err := r.cli.ContainerExecCreate(ctx, id, create)
	if cerrdefs.IsConflict(err) {
		return 0, fmt.Errorf("%s container %q: %w", what, id, runtime.ErrNotRunning)
	}
	if err != nil {
		return 0, wrapErr(what, id, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, created.ID, attach)
	if cerrdefs.IsConflict(err) {
		return 0, fmt.Errorf("%s container %q: %w", what, id, runtime.ErrNotRunning)
	}
	if err != nil {
		return 0, wrapErr(what, id, err)
	}
	// The hijacked connection ignores ctx; closing it ends the copies.
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(att.Close) }
	stopAfter := context.AfterFunc(ctx, closeConn)
	defer stopAfter()
	defer closeConn()

	if opts.TTY && opts.Size != (runtime.TerminalSize{}) {
		// Before any output is read: a command that prints its terminal's
		// size sees this one.
		r.resizeExec(ctx, created.ID, opts.Size, true)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	if opts.TTY && opts.Resize != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case size, ok := <-opts.Resize:
					if !ok {
						return
					}
					r.resizeExec(ctx, created.ID, size, false)
				}
			}
		}()
	}
	if opts.Stdin != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := io.Copy(att.Conn, opts.Stdin); err == nil {
				_ = att.CloseWrite() // the end of stdin: the command reads EOF
			}
		}()
	}

	var copyErr error
	if opts.TTY {
		_, copyErr = io.Copy(opts.Stdout, att.Reader)
	} else {
		_, copyErr = stdcopy.StdCopy(opts.Stdout, opts.Stderr, att.Reader)
	}
	// The output has ended: the command has exited, or the connection
	// broke. End the stdin copy (closing a pipe ends its Read) and the
	// resizes, and wait for them.
	close(done)
	closeStdin()
	closeConn()
	wg.Wait()
	if ctx.Err() != nil {
		return 0, fmt.Errorf("exec %q in container %q: %w", opts.Cmd, id, ctx.Err())
	}
	if copyErr != nil && !errors.Is(copyErr, io.EOF) {
		return 0, fmt.Errorf("exec %q in container %q: read output: %w", opts.Cmd, id, copyErr)
	}
	return r.execExitCode(ctx, id, created.ID, opts.Cmd)
}

// resizeExec sizes the terminal of a running exec. At the start the
// process may not be running yet, and the engine refuses; first retries
// for a moment, as the docker CLI does. A resize that fails is only
// logged: the session goes on with the old size.
func (r *Runtime) resizeExec(ctx context.Context, execID string, size runtime.TerminalSize, first bool) {
	opts := container.ResizeOptions{Height: uint(size.Height), Width: uint(size.Width)}
	var err error
	for try := 1; ; try++ {
		if err = r.cli.ContainerExecResize(ctx, execID, opts); err == nil || !first || try == 10 || ctx.Err() != nil {
			break
		}
		select {
		case <-time.After(time.Duration(try) * 10 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if err != nil && ctx.Err() == nil {
		r.log.Debug("resize exec terminal", "exec", execID, "width", size.Width, "height", size.Height, "err", err)
	}
}
