package docker

import (
	"context"
	"fmt"
	"math"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"

	"github.com/minkube/minkube/workerd/runtime"
)

// Create creates (does not start) a container from spec and returns its ID.
// The image must be present (see EnsureImage). A spec with an invalid port
// is refused before the engine is asked.
func (r *Runtime) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	exposed, bindings, err := portConfig(spec.Ports)
	if err != nil {
		return "", fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	cfg := &container.Config{
		Image:        spec.Image,
		Entrypoint:   spec.Entrypoint,
		Cmd:          spec.Cmd,
		Env:          spec.Env,
		Labels:       spec.Labels,
		ExposedPorts: exposed,
	}
	hostCfg := &container.HostConfig{
		PortBindings:  bindings,
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		NetworkMode:   container.NetworkMode(spec.Network),
		DNS:           spec.DNS,
		Resources: container.Resources{
			NanoCPUs: spec.NanoCPUs,
			Memory:   spec.Memory,
		},
	}
	resp, err := r.cli.ContainerCreate(ctx, cfg, hostCfg, nil, nil, spec.Name)
	if err != nil {
		return "", fmt.Errorf("create container %q from image %q: %w", spec.Name, spec.Image, err)
	}
	for _, w := range resp.Warnings {
		r.log.Warn("docker create warning", "container", spec.Name, "warning", w)
	}
	return resp.ID, nil
}

// Start starts a created or stopped container. Starting a running container
// is not an error. It returns an error wrapping runtime.ErrNotFound when
// there is no such container.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return wrapErr("start", id, err)
	}
	return nil
}

// Stop sends SIGTERM, waits up to grace (rounded up to whole seconds, the
// engine's unit), then SIGKILL, and returns once the container has stopped.
// Stopping a stopped container is not an error. It returns an error
// wrapping runtime.ErrNotFound when there is no such container.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) error {
	timeout := int(math.Ceil(max(grace, 0).Seconds()))
	if err := r.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &timeout}); err != nil {
		if cerrdefs.IsNotModified(err) {
			return nil
		}
		return wrapErr("stop", id, err)
	}
	return nil
}

// Remove removes the container and its anonymous volumes, killing it if it
// still runs. It returns an error wrapping runtime.ErrNotFound when there is
// no such container.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil {
		return wrapErr("remove", id, err)
	}
	return nil
}

// Inspect returns the container. Its Ports are the bindings in force while
// it runs and the requested ones (HostPort 0 where the engine is to choose)
// otherwise. It returns an error wrapping runtime.ErrNotFound when there is
// no such container.
func (r *Runtime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	resp, err := r.cli.ContainerInspect(ctx, id)
	if err != nil {
		return runtime.Container{}, wrapErr("inspect", id, err)
	}
	return fromInspect(resp), nil
}

// ListSummaries returns a Summary of every container, running or not,
// that carries all the given labels (an empty value matches any value): one
// list call, no inspect.
func (r *Runtime) ListSummaries(ctx context.Context, labels map[string]string) ([]runtime.Summary, error) {
	summaries, err := r.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: labelFilters(labels),
	})
	if err != nil {
		return nil, fmt.Errorf("list containers with labels %v: %w", labels, err)
	}
	out := make([]runtime.Summary, 0, len(summaries))
	for _, s := range summaries {
		out = append(out, runtime.Summary{ID: s.ID, Labels: s.Labels, Status: string(s.State)})
	}
	return out, nil
}

// labelFilters turns a label selector into engine filters: key=value, or
// key alone for an empty value.
func labelFilters(labels map[string]string) filters.Args {
	args := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			args.Add("label", k)
		} else {
			args.Add("label", k+"="+v)
		}
	}
	return args
}
