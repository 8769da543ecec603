package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// MaxExecOutput is how much of an exec's combined output Exec keeps; the
// rest is read and dropped.
const MaxExecOutput = 1 << 20

// Exec runs cmd in the running container and returns its exit code and its
// stdout and stderr interleaved, cut at MaxExecOutput bytes. When ctx ends
// first Exec returns ctx's error; the process may go on running in the
// container, since the engine cannot kill an exec. It returns an error
// wrapping runtime.ErrNotFound when there is no such container.
func (r *Runtime) Exec(ctx context.Context, id string, cmd []string) (int, []byte, error) {
	if len(cmd) == 0 {
		return 0, nil, fmt.Errorf("exec in container %q: empty command", id)
	}
	created, err := r.cli.ContainerExecCreate(ctx, id, container.ExecOptions{
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if err != nil {
		return 0, nil, wrapErr(fmt.Sprintf("exec %q in", cmd), id, err)
	}
	att, err := r.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return 0, nil, wrapErr(fmt.Sprintf("exec %q in", cmd), id, err)
	}
	// The hijacked connection ignores ctx; closing it ends the copy.
	var closeOnce sync.Once
	closeConn := func() { closeOnce.Do(att.Close) }
	stop := context.AfterFunc(ctx, closeConn)
	out := &cappedBuffer{max: MaxExecOutput}
	_, copyErr := stdcopy.StdCopy(out, out, att.Reader)
	stop()
	closeConn()
	if ctx.Err() != nil {
		return 0, out.Bytes(), fmt.Errorf("exec %q in container %q: %w", cmd, id, ctx.Err())
	}
	if copyErr != nil {
		return 0, out.Bytes(), fmt.Errorf("exec %q in container %q: read output: %w", cmd, id, copyErr)
	}

	code, err := r.execExitCode(ctx, id, created.ID, cmd)
	return code, out.Bytes(), err
}

// execExitCode returns the exit code of the exec execID of cmd in the
// container id, once the engine has recorded it: the output ends as the
// process does, but the engine may record the exit a moment later.
func (r *Runtime) execExitCode(ctx context.Context, id, execID string, cmd []string) (int, error) {
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		ins, err := r.cli.ContainerExecInspect(ctx, execID)
		if err != nil {
			return 0, wrapErr(fmt.Sprintf("exec %q in", cmd), id, err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return 0, fmt.Errorf("exec %q in container %q: %w", cmd, id, ctx.Err())
		}
	}
}

// cappedBuffer keeps the first max bytes written to it and drops the rest.
type cappedBuffer struct {
	bytes.Buffer
	max int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

var _ io.Writer = (*cappedBuffer)(nil)
