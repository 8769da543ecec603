package docker

import (
	"context"
	"fmt"
	"net"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"github.com/minkube/minkube/workerd/runtime"
)

var _ runtime.Networks = (*Runtime)(nil)

// EnsureNetwork returns the bridge network called name, creating it with
// labels when there is none. A network of that name without all of labels
// is someone else's: it is not touched and the error wraps
// runtime.ErrNotOwned.
func (r *Runtime) EnsureNetwork(ctx context.Context, name string, labels map[string]string) (runtime.Network, error) {
	for attempt := 0; ; attempt++ {
		n, err := r.cli.NetworkInspect(ctx, name, network.InspectOptions{})
		if err == nil {
			for k, v := range labels {
				if n.Labels[k] != v {
					return runtime.Network{}, fmt.Errorf("network %q (%.12s): label %s is %q, not %q: %w", name, n.ID, k, n.Labels[k], v, runtime.ErrNotOwned)
				}
			}
			return fromNetwork(n)
		}
		if !cerrdefs.IsNotFound(err) {
			return runtime.Network{}, fmt.Errorf("inspect network %q: %w", name, err)
		}
		_, err = r.cli.NetworkCreate(ctx, name, network.CreateOptions{Driver: "bridge", Labels: labels})
		if err == nil || attempt > 0 {
			if err != nil {
				return runtime.Network{}, fmt.Errorf("create network %q: %w", name, err)
			}
			r.log.Info("created network", "network", name)
			continue // inspect it for the gateway the engine chose
		}
		if !cerrdefs.IsConflict(err) && !cerrdefs.IsAlreadyExists(err) {
			return runtime.Network{}, fmt.Errorf("create network %q: %w", name, err)
		}
		// Created meanwhile by another caller: inspect it again.
	}
}

// RemoveNetwork removes the network with that ID. It returns an error
// wrapping runtime.ErrNotFound when there is none.
func (r *Runtime) RemoveNetwork(ctx context.Context, id string) error {
	if err := r.cli.NetworkRemove(ctx, id); err != nil {
		if cerrdefs.IsNotFound(err) {
			return fmt.Errorf("remove network %q: %w", id, runtime.ErrNotFound)
		}
		return fmt.Errorf("remove network %q: %w", id, err)
	}
	return nil
}

// fromNetwork maps an engine network to a runtime.Network; a network with
// no IPv4 gateway is of no use to containers' DNS.
func fromNetwork(n network.Inspect) (runtime.Network, error) {
	out := runtime.Network{ID: n.ID, Name: n.Name, Labels: n.Labels}
	for _, c := range n.IPAM.Config {
		if ip := net.ParseIP(c.Gateway).To4(); ip != nil {
			out.Gateway = ip
			return out, nil
		}
	}
	return out, fmt.Errorf("network %q has no IPv4 gateway", n.Name)
}
