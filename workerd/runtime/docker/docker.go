package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/minkube/minkube/workerd/runtime"
)

// DefaultPullTimeout bounds one image pull when Options.PullTimeout is zero.
const DefaultPullTimeout = 5 * time.Minute

// Options configures New. The zero value is ready to use.
type Options struct {
	// Host is the engine address, such as unix:///var/run/docker.sock.
	// Empty means DOCKER_HOST, or the platform default when that is unset.
	Host string
	// PullTimeout bounds one image pull, from request to the last layer.
	// Zero means DefaultPullTimeout.
	PullTimeout time.Duration
	// Logger receives pull progress at debug level. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Runtime is a runtime.Runtime backed by a Docker engine. It is safe for
// concurrent use. Call Close when done with it.
type Runtime struct {
	cli         *client.Client
	pullTimeout time.Duration
	log         *slog.Logger
}

var _ runtime.Runtime = (*Runtime)(nil)

// New returns a Runtime for the engine named by opts and the environment.
// It does not contact the engine; use Ping to check that it answers.
func New(opts Options) (*Runtime, error) {
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	cli, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	r := &Runtime{cli: cli, pullTimeout: opts.PullTimeout, log: opts.Logger}
	if r.pullTimeout <= 0 {
		r.pullTimeout = DefaultPullTimeout
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	return r, nil
}

// Client returns the underlying Docker client, for callers that need engine
// features Runtime does not cover (tests check engine-side settings with it).
func (r *Runtime) Client() *client.Client { return r.cli }

// Close releases the connection to the engine.
func (r *Runtime) Close() error { return r.cli.Close() }

// Ping checks that the engine answers and settles the API version.
func (r *Runtime) Ping(ctx context.Context) error {
	if _, err := r.cli.Ping(ctx); err != nil {
		return fmt.Errorf("ping docker engine at %s: %w", r.cli.DaemonHost(), err)
	}
	r.cli.NegotiateAPIVersion(ctx)
	return nil
}

// EnsureImage pulls ref only when the engine does not have it. A failed or
// timed-out pull, or a malformed ref, returns an error wrapping
// runtime.ErrImagePull with ref and the engine's message; a ctx that ends
// first returns ctx's error instead.
func (r *Runtime) EnsureImage(ctx context.Context, ref string) error {
	_, err := r.cli.ImageInspect(ctx, ref)
	if err == nil {
		return nil
	}
	switch {
	case cerrdefs.IsNotFound(err):
	case cerrdefs.IsInvalidArgument(err):
		// No pull can fix a malformed reference.
		return fmt.Errorf("pull image %q: %v: %w", ref, err, runtime.ErrImagePull)
	default:
		return fmt.Errorf("inspect image %q: %w", ref, err)
	}

	start := time.Now()
	pullCtx, cancel := context.WithTimeout(ctx, r.pullTimeout)
	defer cancel()
	err = r.pull(pullCtx, ref)
	switch {
	case err == nil:
		r.log.Info("pulled image", "image", ref, "took", time.Since(start).Round(time.Millisecond))
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("pull image %q: %w", ref, ctx.Err())
	case pullCtx.Err() != nil:
		return fmt.Errorf("pull image %q: no result after %s (registry unreachable or too slow): %w",
			ref, r.pullTimeout, runtime.ErrImagePull)
	default:
		return fmt.Errorf("pull image %q: %v: %w", ref, err, runtime.ErrImagePull)
	}
}

// pullMessage is the part of a pull progress message that matters here.
type pullMessage struct {
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// pull pulls ref and drains the progress stream, returning the first error
// the engine reports in it.
func (r *Runtime) pull(ctx context.Context, ref string) error {
	rc, err := r.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return err
	}
	defer rc.Close()
	// The stream ignores ctx once it flows; closing it unblocks Decode.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()

	dec := json.NewDecoder(rc)
	for {
		var m pullMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("read pull progress: %w", err)
		}
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			return errors.New(m.ErrorDetail.Message)
		}
		if m.Error != "" {
			return errors.New(m.Error)
		}
		r.log.Debug("pull progress", "image", ref, "status", m.Status, "layer", m.ID)
	}
}

// wrapErr adds the operation and container to err, and turns the engine's
// not-found answer into runtime.ErrNotFound.
func wrapErr(op, id string, err error) error {
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("%s container %q: %w", op, id, runtime.ErrNotFound)
	}
	return fmt.Errorf("%s container %q: %w", op, id, err)
}
