package workerd

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/workerd/runtime"
)

// dnsPort is where the containers' resolver listens: Docker gives
// containers resolvers by IP address only, on port 53.
const dnsPort = "53"

// ContainerDNS configures the resolver a worker gives its containers.
type ContainerDNS struct {
	// Server is host:port of the manager's DNS server; empty leaves the
	// containers with the engine's resolver.
	Server string
	// Zone is the cluster zone.
	Zone discovery.Zone
	// ResolvConf is the host's resolver configuration, where names outside
	// the zone go; /etc/resolv.conf when empty.
	ResolvConf string
	// Port is where the resolver listens on the gateway: 53, the only port
	// Docker gives containers, when 0. Tests use a free one.
	Port int
}

// containerDNS is the worker's network for its containers and the
// resolver served on its gateway.
type containerDNS struct {
	network runtime.Network
	server  *discovery.Server

	mu  sync.Mutex
	ips map[string]cachedIP // by container ID
}

// cachedIP is a container's address on the network, for one start of it
// (a restarted container may get another).
type cachedIP struct {
	started time.Time
	ip      net.IP
}

// networkName is the name of a worker's network.
func networkName(worker string) string { return "minkube-" + worker }

// setupContainerDNS finds or creates the worker's network and binds the
// containers' resolver on its gateway. When either cannot be done the
// containers keep the engine's resolver, and the log says why.
func (w *Worker) setupContainerDNS(ctx context.Context) {
	opts := w.opts.ContainerDNS
	if opts.Server == "" {
		return
	}
	nets, ok := w.opts.Runtime.(runtime.Networks) // the engine itself: instrumentedRuntime has no networks
	if !ok {
		w.log.Info("this runtime has no networks: containers keep the engine's resolver")
		return
	}
	name := networkName(w.opts.Name)
	n, err := nets.EnsureNetwork(ctx, name, map[string]string{runtime.LabelWorker: w.opts.Name, runtime.LabelNetwork: w.opts.Name})
	if err != nil {
		w.log.Warn("no network for the containers' resolver: containers keep the engine's resolver and cannot resolve cluster names", "network", name, "err", err)
		return
	}
	resolvConf := opts.ResolvConf
	if resolvConf == "" {
		resolvConf = "/etc/resolv.conf"
	}
	fwd, err := discovery.NewForwarder(discovery.ForwarderOptions{
		Zone: opts.Zone, Upstream: opts.Server, HostResolvers: discovery.HostResolvers(resolvConf),
		Gateway: n.Gateway, Local: w, Logger: w.log.With("server", "container-dns"),
	})
	if err != nil {
		w.log.Warn("containers keep the engine's resolver", "err", err)
		return
	}
	port := dnsPort
	if opts.Port != 0 {
		port = strconv.Itoa(opts.Port)
	}
	srv := discovery.NewServer(net.JoinHostPort(n.Gateway.String(), port), fwd, w.log.With("server", "container-dns"))
	if _, err := srv.Listen(); err != nil {
		w.log.Warn("cannot serve the containers' resolver (port 53 needs root or CAP_NET_BIND_SERVICE): containers keep the engine's resolver and cannot resolve cluster names", "err", err)
		w.removeNetworkIfUnused(ctx, nets, n)
		return
	}
	w.cdns = &containerDNS{network: n, server: srv, ips: map[string]cachedIP{}}
	w.log.Info("containers resolve the cluster zone", "network", n.Name, "resolver", srv.Addr().String(), "zone", opts.Zone.Domain, "manager-dns", opts.Server)
}

// serveContainerDNS serves the containers' resolver until ctx ends, then
// removes the network if no container of this worker is left.
func (w *Worker) serveContainerDNS(ctx context.Context) error {
	if w.cdns == nil {
		return nil
	}
	err := w.cdns.server.Start(ctx)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	w.removeNetworkIfUnused(cctx, w.opts.Runtime.(runtime.Networks), w.cdns.network)
	return err
}

// removeNetworkIfUnused removes the worker's network when no container of
// the worker is left: running ones keep it, and stopped ones would lose it.
func (w *Worker) removeNetworkIfUnused(ctx context.Context, nets runtime.Networks, n runtime.Network) {
	cs, err := w.rt.ListSummaries(ctx, map[string]string{runtime.LabelWorker: w.opts.Name})
	if err != nil || len(cs) > 0 {
		return
	}
	if err := nets.RemoveNetwork(ctx, n.ID); err != nil && !errors.Is(err, runtime.ErrNotFound) {
		w.log.Warn("cannot remove the worker's network", "network", n.Name, "err", err)
		return
	}
	w.log.Info("removed the worker's network", "network", n.Name)
}

// applyContainerDNS attaches a container to the worker's network with the
// containers' resolver, when there is one.
func (w *Worker) applyContainerDNS(spec *runtime.ContainerSpec) {
	if w.cdns == nil {
		return
	}
	spec.Network = w.cdns.network.Name
	spec.DNS = []string{w.cdns.network.Gateway.String()}
}

var _ discovery.LocalTasks = (*Worker)(nil)

// LocalTask implements discovery.LocalTasks: the task called name, when
// this worker runs its container on the worker's network.
func (w *Worker) LocalTask(name string) (discovery.LocalTask, bool) {
	if w.cdns == nil {
		return discovery.LocalTask{}, false
	}
	for _, uid := range w.tasks.uids() {
		var lt discovery.LocalTask
		var id string
		var started time.Time
		w.tasks.with(uid, func(e *entry) {
			if e.task.Metadata.Name != name || e.stopping || e.hist.Status.Phase != v1.PhaseRunning || e.hist.Status.StartedAt == nil {
				return
			}
			id, started = e.hist.Status.ContainerID, *e.hist.Status.StartedAt
			lt.Ports = append(lt.Ports, e.hist.Status.Ports...)
		})
		if id == "" {
			continue
		}
		if lt.IP = w.containerIP(id, started); lt.IP != nil {
			return lt, true
		}
	}
	return discovery.LocalTask{}, false
}

// containerIP returns the container's address on the worker's network, for
// the start at started, inspecting it once per start.
func (w *Worker) containerIP(id string, started time.Time) net.IP {
	d := w.cdns
	d.mu.Lock()
	c, ok := d.ips[id]
	d.mu.Unlock()
	if ok && c.started.Equal(started) {
		return c.ip
	}
	ctx, cancel := context.WithTimeout(w.runCtx, 2*time.Second)
	defer cancel()
	ct, err := w.rt.Inspect(ctx, id)
	if err != nil || !ct.State.Running {
		return nil
	}
	ip := net.ParseIP(ct.IPs[d.network.Name])
	if ip == nil {
		return nil // a container made before the network: not on it
	}
	d.mu.Lock()
	if len(d.ips) > 4096 {
		clear(d.ips)
	}
	d.ips[id] = cachedIP{started: ct.State.StartedAt, ip: ip}
	d.mu.Unlock()
	return ip
}
