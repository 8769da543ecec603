package workerd

import (
	"encoding/json"
	"net"
	"strconv"
	"strings"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// LabelTask holds the task's metadata and spec as JSON on its container, so
// a restarted worker can rebuild its map before the manager answers.
const LabelTask = "io.minkube.task"

// containerSpec builds the container of a task: the one place where a
// task's container settings are made, from what a pass of its sync
// observed. The task's containers the worker sees (in.Containers) and the
// ports it last reported (in.Hist.Ports) matter to a host port the task
// leaves to the worker: it is chosen here rather than by the engine (which
// picks anew at every start), and kept from the task's last container when
// it is free, so it stays the same across restarts and re-creations.
func (w *Worker) containerSpec(in *syncInput) runtime.ContainerSpec {
	t, prev, last := in.Task, in.Containers, in.Hist.Ports
	meta, _ := json.Marshal(struct { // a Task always marshals
		Metadata v1.ObjectMeta `json:"metadata"`
		Spec     v1.TaskSpec   `json:"spec"`
	}{
		Metadata: v1.ObjectMeta{
			Name: t.Metadata.Name, UID: t.Metadata.UID, Generation: t.Metadata.Generation,
			Labels: t.Metadata.Labels,
		},
		Spec: t.Spec,
	})
	hash := in.specHash()
	spec := runtime.ContainerSpec{
		Name:       containerName(t, hash, w.opts.Name),
		Image:      t.Spec.Image,
		Entrypoint: t.Spec.Command,
		Cmd:        t.Spec.Args,
		Labels: map[string]string{
			runtime.LabelTaskUID:  t.Metadata.UID,
			runtime.LabelTaskName: t.Metadata.Name,
			runtime.LabelSpecHash: hash,
			runtime.LabelWorker:   w.opts.Name,
			runtime.LabelCluster:  w.clusterID(),
			LabelTask:             string(meta),
		},
		NanoCPUs: t.Spec.Resources.MilliCPU() * 1_000_000,
		Memory:   t.Spec.Resources.MemoryBytes(),
	}
	for _, e := range t.Spec.Env {
		spec.Env = append(spec.Env, e.Name+"="+e.Value)
	}
	for _, p := range t.Spec.Ports {
		proto := strings.ToLower(string(p.Protocol))
		host := p.HostPort
		if host == 0 {
			host = w.pickHostPort(proto, p.ContainerPort, prev, last)
		}
		spec.Ports = append(spec.Ports, runtime.PortBinding{
			ContainerPort: p.ContainerPort,
			HostPort:      host,
			Protocol:      proto,
			HostIP:        w.portHostIP,
		})
	}
	w.applyContainerDNS(&spec)
	return spec
}

// containerName is unique per task incarnation, spec and worker (several
// workers may share one engine, and an update runs two specs at once),
// and readable in docker ps.
func containerName(t *v1.Task, hash, worker string) string {
	uid := t.Metadata.UID
	if len(uid) > 8 {
		uid = uid[:8]
	}
	if len(hash) > 8 {
		hash = hash[:8]
	}
	return "mk-" + t.Metadata.Name + "-" + uid + "-" + hash + "-" + worker
}

// pickHostPort chooses the host port of a container port the task leaves
// to the worker: the one the task's last container published (or, that
// container gone, the one last reported), when no running container of the
// task holds it and it can be bound; else a free one from the system's
// ephemeral range. 0 (the engine chooses, anew at every start) when no port
// can be bound on the host address, as when the engine is on another host.
func (w *Worker) pickHostPort(proto string, containerPort int32, prev []observed, reported []v1.PortStatus) int32 {
	held := map[int32]bool{}
	var last int32
	for _, p := range reported {
		if p.ContainerPort == containerPort && strings.EqualFold(string(p.Protocol), proto) {
			last = p.HostPort
		}
	}
	for _, c := range prev { // oldest start first
		for _, b := range c.Ports {
			if b.ContainerPort != containerPort || !strings.EqualFold(b.Protocol, proto) || b.HostPort == 0 {
				continue
			}
			if c.State.Running {
				held[b.HostPort] = true
			}
			last = b.HostPort
		}
	}
	if last != 0 && !held[last] && w.bindable(proto, last) {
		return last
	}
	return w.freePort(proto)
}

// bindable reports whether port can be bound on the port host address now.
func (w *Worker) bindable(proto string, port int32) bool {
	return w.listen(proto, strconv.Itoa(int(port))) != 0
}

// freePort returns a port the system hands out as free on the port host
// address; 0 when none can be bound there.
func (w *Worker) freePort(proto string) int32 { return w.listen(proto, "0") }

// listen binds port on the port host address and lets it go, returning
// the port bound; 0 when it cannot.
func (w *Worker) listen(proto, port string) int32 {
	addr := net.JoinHostPort(w.portHostIP, port)
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0
		}
		defer c.Close()
		return int32(c.LocalAddr().(*net.UDPAddr).Port)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0
	}
	defer l.Close()
	return int32(l.Addr().(*net.TCPAddr).Port)
}

// portStatus maps the container's bindings back to the task's ports.
func portStatus(t *v1.Task, c runtime.Container) []v1.PortStatus {
	out := make([]v1.PortStatus, 0, len(t.Spec.Ports))
	for _, p := range t.Spec.Ports {
		ps := v1.PortStatus{Name: p.Name, ContainerPort: p.ContainerPort, HostPort: p.HostPort, Protocol: p.Protocol}
		for _, b := range c.Ports {
			if b.ContainerPort == p.ContainerPort && strings.EqualFold(b.Protocol, string(p.Protocol)) && b.HostPort != 0 {
				ps.HostPort = b.HostPort
				break
			}
		}
		out = append(out, ps)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// hostAddresses returns where task ports are published (the engine's host
// address; "" for all addresses) and the address to report for them. Ports
// are published on the given address when there is one; otherwise on the
// advertised host when it is an IP address (so a worker that listens on
// loopback publishes there too), and on every address when it is not.
// Published on every address, they are reported at the advertised host.
func hostAddresses(portHostIP, advertise string) (publish, report string) {
	host, _, err := net.SplitHostPort(advertise)
	if err != nil {
		host = advertise
	}
	if portHostIP == "" {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			portHostIP = host
		}
	}
	if ip := net.ParseIP(portHostIP); portHostIP == "" || (ip != nil && ip.IsUnspecified()) {
		return portHostIP, host
	}
	return portHostIP, portHostIP
}
