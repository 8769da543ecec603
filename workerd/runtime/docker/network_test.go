package docker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/docker"
)

// mustNetwork ensures a network with the test label and removes it when
// the test ends.
func mustNetwork(t *testing.T, r *docker.Runtime, name string, labels map[string]string) runtime.Network {
	t.Helper()
	n, err := r.EnsureNetwork(t.Context(), name, labels)
	if err != nil {
		t.Fatalf("EnsureNetwork(%s): %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.RemoveNetwork(ctx, n.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("cleanup: %v", err)
		}
	})
	return n
}

// TestNetwork creates a network, finds it again, attaches a container with
// a resolver set, and removes the network.
func TestNetwork(t *testing.T) {
	r := mustRuntime(t, docker.Options{})
	name := "minkube-test-" + randSuffix(t)
	labels := map[string]string{labelTest: "1", runtime.LabelNetwork: name}
	n := mustNetwork(t, r, name, labels)
	if n.ID == "" || n.Name != name || n.Gateway.To4() == nil || n.Labels[runtime.LabelNetwork] != name {
		t.Fatalf("network %+v: want an ID, the name, an IPv4 gateway and the labels", n)
	}
	again, err := r.EnsureNetwork(t.Context(), name, labels)
	if err != nil || again.ID != n.ID || !again.Gateway.Equal(n.Gateway) {
		t.Fatalf("EnsureNetwork again = %+v, %v; want the same network %s", again, err, n.ID)
	}

	id := mustCreate(t, r, runtime.ContainerSpec{Cmd: []string{"serve"}, Network: name, DNS: []string{n.Gateway.String()}})
	mustStart(t, r, id)
	c, err := r.Inspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if c.IPs[name] == "" {
		t.Errorf("container IPs %v: want an address on %s", c.IPs, name)
	}
	info, err := r.Client().ContainerInspect(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.HostConfig.DNS) != 1 || info.HostConfig.DNS[0] != n.Gateway.String() {
		t.Errorf("container DNS %v, want [%s]", info.HostConfig.DNS, n.Gateway)
	}
	if err := r.RemoveNetwork(t.Context(), n.ID); err == nil {
		t.Error("RemoveNetwork with a running container attached: no error")
	}
	if err := r.Remove(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := r.RemoveNetwork(t.Context(), n.ID); err != nil {
		t.Fatalf("RemoveNetwork: %v", err)
	}
	if err := r.RemoveNetwork(t.Context(), n.ID); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("RemoveNetwork of a removed network: %v, want ErrNotFound", err)
	}
}

// TestNetwork_NotOwned: a network of the same name without the owner's
// labels is left alone.
func TestNetwork_NotOwned(t *testing.T) {
	r := mustRuntime(t, docker.Options{})
	name := "minkube-test-" + randSuffix(t)
	other := mustNetwork(t, r, name, map[string]string{labelTest: "1"})
	_, err := r.EnsureNetwork(t.Context(), name, map[string]string{labelTest: "1", runtime.LabelNetwork: "w1"})
	if !errors.Is(err, runtime.ErrNotOwned) {
		t.Fatalf("EnsureNetwork over someone else's network: %v, want ErrNotOwned", err)
	}
	n, err := r.Client().NetworkInspect(t.Context(), other.ID, network.InspectOptions{})
	if err != nil || len(n.Labels) != 1 {
		t.Errorf("the other network after the refusal: %+v, %v; want it unchanged", n.Labels, err)
	}
}
