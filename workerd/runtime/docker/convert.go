package docker

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"

	"github.com/minkube/minkube/workerd/runtime"
)

// portConfig turns port bindings into the engine's exposed-port set and
// port map. HostPort 0 becomes an empty host port: the engine chooses.
func portConfig(ports []runtime.PortBinding) (nat.PortSet, nat.PortMap, error) {
	if len(ports) == 0 {
		return nil, nil, nil
	}
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	for i, p := range ports {
		proto := strings.ToLower(p.Protocol)
		if proto == "" {
			proto = "tcp"
		}
		if proto != "tcp" && proto != "udp" && proto != "sctp" {
			return nil, nil, fmt.Errorf("ports[%d]: protocol %q: must be tcp, udp or sctp", i, p.Protocol)
		}
		if p.ContainerPort < 1 || p.ContainerPort > 65535 {
			return nil, nil, fmt.Errorf("ports[%d]: container port %d: must be 1..65535", i, p.ContainerPort)
		}
		if p.HostPort < 0 || p.HostPort > 65535 {
			return nil, nil, fmt.Errorf("ports[%d]: host port %d: must be 0..65535", i, p.HostPort)
		}
		port := nat.Port(fmt.Sprintf("%d/%s", p.ContainerPort, proto))
		hostPort := ""
		if p.HostPort != 0 {
			hostPort = strconv.Itoa(int(p.HostPort))
		}
		exposed[port] = struct{}{}
		bindings[port] = append(bindings[port], nat.PortBinding{HostIP: p.HostIP, HostPort: hostPort})
	}
	return exposed, bindings, nil
}

// portsFromMap lists the bindings of an engine port map, sorted, dropping
// exposed ports that are not published and the IPv6 twin ("::") of an IPv4
// binding on the same host port.
func portsFromMap(m nat.PortMap) []runtime.PortBinding {
	var out []runtime.PortBinding
	for port, bindings := range m {
		for _, b := range bindings {
			hostPort, err := strconv.Atoi(b.HostPort)
			if b.HostPort != "" && err != nil {
				continue
			}
			out = append(out, runtime.PortBinding{
				ContainerPort: int32(port.Int()),
				HostPort:      int32(hostPort),
				Protocol:      port.Proto(),
				HostIP:        b.HostIP,
			})
		}
	}
	return dedupePorts(out)
}

// dedupePorts sorts ports and drops duplicates and IPv6 "::" bindings that
// twin an IPv4 binding of the same port.
func dedupePorts(ports []runtime.PortBinding) []runtime.PortBinding {
	type key struct {
		container, host int32
		proto           string
	}
	v4 := map[key]bool{}
	for _, p := range ports {
		if p.HostIP != "::" {
			v4[key{p.ContainerPort, p.HostPort, p.Protocol}] = true
		}
	}
	ports = slices.DeleteFunc(ports, func(p runtime.PortBinding) bool {
		return p.HostIP == "::" && p.HostPort != 0 && v4[key{p.ContainerPort, p.HostPort, p.Protocol}]
	})
	slices.SortFunc(ports, func(a, b runtime.PortBinding) int {
		return cmp.Or(
			cmp.Compare(a.ContainerPort, b.ContainerPort),
			cmp.Compare(a.Protocol, b.Protocol),
			cmp.Compare(a.HostIP, b.HostIP),
			cmp.Compare(a.HostPort, b.HostPort),
		)
	})
	return slices.Compact(ports)
}

// fromInspect maps an engine inspect answer to a runtime.Container.
func fromInspect(resp container.InspectResponse) runtime.Container {
	var c runtime.Container
	if base := resp.ContainerJSONBase; base != nil {
		c.ID = base.ID
		c.Name = strings.TrimPrefix(base.Name, "/")
		c.Image = base.Image
		if s := base.State; s != nil {
			c.State = runtime.State{
				Status:     string(s.Status),
				Running:    s.Running,
				ExitCode:   s.ExitCode,
				OOMKilled:  s.OOMKilled,
				Error:      s.Error,
				StartedAt:  parseTime(s.StartedAt),
				FinishedAt: parseTime(s.FinishedAt),
			}
			// For a process that exits at once the engine can record the
			// finish a moment before the start.
			st := &c.State
			if !st.Running && !st.FinishedAt.IsZero() && st.FinishedAt.Before(st.StartedAt) {
				st.FinishedAt = st.StartedAt
			}
		}
	}
	if cfg := resp.Config; cfg != nil {
		// The reference the container was created from, not the image ID.
		c.Image = cfg.Image
		c.Labels = cfg.Labels
	}
	if ns := resp.NetworkSettings; ns != nil {
		c.Ports = portsFromMap(ns.Ports)
		for name, ep := range ns.Networks {
			if ep != nil && ep.IPAddress != "" {
				if c.IPs == nil {
					c.IPs = map[string]string{}
				}
				c.IPs[name] = ep.IPAddress
			}
		}
	}
	if len(c.Ports) == 0 && resp.ContainerJSONBase != nil && resp.HostConfig != nil {
		c.Ports = portsFromMap(resp.HostConfig.PortBindings)
	}
	return c
}

// parseTime parses an engine timestamp; the engine's "never"
// (0001-01-01T00:00:00Z), an empty string and garbage give the zero time.
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
