package docker

import (
	"context"
	"io"
	"strconv"
	"sync"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// Logs returns the container's stdout and stderr interleaved as plain text;
// tail < 0 means all lines. With follow, the reader goes on until the
// container stops or ctx ends. The caller must Close the reader. It returns
// an error wrapping runtime.ErrNotFound when there is no such container.
func (r *Runtime) Logs(ctx context.Context, id string, follow bool, tail int) (io.ReadCloser, error) {
	tailArg := "all"
	if tail >= 0 {
		tailArg = strconv.Itoa(tail)
	}
	body, err := r.cli.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     follow,
		Tail:       tailArg,
	})
	if err != nil {
		return nil, wrapErr("logs of", id, err)
	}
	pr, pw := io.Pipe()
	l := &logReader{PipeReader: pr, body: body, done: make(chan struct{})}
	go func() {
		defer close(l.done)
		// Containers are created without a TTY, so the stream carries the
		// engine's stdout/stderr framing; both go to the one pipe.
		_, err := stdcopy.StdCopy(pw, pw, body)
		pw.CloseWithError(err)
	}()
	return l, nil
}

// logReader reads demultiplexed logs; Close stops the copy and waits for it.
type logReader struct {
	*io.PipeReader
	body      io.Closer
	done      chan struct{}
	closeOnce sync.Once
}

// Close closes the engine stream and returns once the copying goroutine has
// ended.
func (l *logReader) Close() error {
	var err error
	l.closeOnce.Do(func() {
		err = l.body.Close()
		l.PipeReader.Close()
		<-l.done
	})
	return err
}
