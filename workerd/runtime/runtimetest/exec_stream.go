package runtimetest

import (
	"context"
	"fmt"
	"io"

	"github.com/minkube/minkube/workerd/runtime"
)

// MethodExecStream is the name of ExecStream for FailNext and Calls.
const MethodExecStream = "ExecStream"

// ExecStreamFunc answers ExecStream calls: it plays the command cmd run in
// the container id, reading opts.Stdin and writing opts.Stdout and
// opts.Stderr, and returns its exit code.
type ExecStreamFunc func(ctx context.Context, id string, opts runtime.ExecOptions) (int, error)

// SetExecStream sets what ExecStream does; by default it copies stdin to
// stdout, as cat would, and exits 0.
func (f *Fake) SetExecStream(fn ExecStreamFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.execStream = fn
}

// ExecStream plays the command with the function given to SetExecStream.
// The container must be running. Stdin is closed when it returns, as the
// real runtime does.
func (f *Fake) ExecStream(ctx context.Context, id string, opts runtime.ExecOptions) (int, error) {
	if opts.Stdin != nil {
		defer opts.Stdin.Close()
	}
	f.mu.Lock()
	if err := f.begin(MethodExecStream); err != nil {
		f.mu.Unlock()
		return 0, err
	}
	c, err := f.lookup(fmt.Sprintf("exec %q in", opts.Cmd), id)
	if err != nil {
		f.mu.Unlock()
		return 0, err
	}
	running, cid, fn := c.c.State.Running, c.c.ID, f.execStream
	f.mu.Unlock()

	if !running {
		return 0, fmt.Errorf("exec %q in container %q: %w", opts.Cmd, id, runtime.ErrNotRunning)
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("exec %q in container %q: %w", opts.Cmd, id, err)
	}
	if fn != nil {
		return fn(ctx, cid, opts)
	}
	if opts.Stdin != nil {
		if _, err := io.Copy(opts.Stdout, opts.Stdin); err != nil {
			return 0, fmt.Errorf("exec %q in container %q: %w", opts.Cmd, id, err)
		}
	}
	return 0, nil
}
