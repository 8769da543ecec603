package runtime

import (
	"context"
	"net"
)

// LabelNetwork marks a network a worker created for its containers; its
// value is the worker's name, and the network also carries LabelWorker.
const LabelNetwork = "io.minkube.network"

// Network is a container network as the engine reports it.
type Network struct {
	ID     string
	Name   string
	Labels map[string]string
	// Gateway is the host's address on the network: containers reach the
	// host there.
	Gateway net.IP
}

// Networks is implemented by runtimes that can give a worker's containers
// a network of their own (the Docker runtime does; the fake does not).
type Networks interface {
	// EnsureNetwork returns the bridge network called name, creating it
	// with labels when there is none. A network of that name that lacks
	// any of labels belongs to someone else: it is left alone and the
	// error wraps ErrNotOwned.
	EnsureNetwork(ctx context.Context, name string, labels map[string]string) (Network, error)
	// RemoveNetwork removes the network with that ID. It returns
	// ErrNotFound when there is none, and an error while containers are
	// attached to it.
	RemoveNetwork(ctx context.Context, id string) error
}
