package docker

import (
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/minkube/minkube/workerd/runtime"
)

// Logs returns the container's stdout and stderr interleaved as plain text,
// the lines opts selects. With opts.Follow, the reader goes on until the
// container stops or ctx ends. The caller must Close the reader. It
// returns an error wrapping runtime.ErrNotFound when there is no such
// container.
func (r *Runtime) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	tailArg := "all"
	if opts.Tail >= 0 {
		tailArg = strconv.Itoa(opts.Tail)
	}
	lo := container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Follow:     opts.Follow,
		Tail:       tailArg,
		Timestamps: opts.Timestamps,
	}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	if !opts.Until.IsZero() {
		lo.Until = opts.Until.UTC().Format(time.RFC3339Nano)
	}
	body, err := r.cli.ContainerLogs(ctx, id, lo)
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
