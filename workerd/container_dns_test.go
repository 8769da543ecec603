package workerd_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/workerd"
	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/runtimetest"
)

// netRuntime adds networks to a runtime: one network, whose gateway is
// the loopback, and an address on it for each container.
type netRuntime struct {
	runtime.Runtime
	notOwned bool // EnsureNetwork finds someone else's network

	mu      sync.Mutex
	network *runtime.Network
	removed []string
}

func (r *netRuntime) EnsureNetwork(_ context.Context, name string, labels map[string]string) (runtime.Network, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.notOwned {
		return runtime.Network{}, fmt.Errorf("network %q: %w", name, runtime.ErrNotOwned)
	}
	if r.network == nil {
		r.network = &runtime.Network{ID: "net-1", Name: name, Labels: labels, Gateway: net.ParseIP("127.0.0.1")}
	}
	return *r.network, nil
}

func (r *netRuntime) RemoveNetwork(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.removed = append(r.removed, id)
	r.network = nil
	return nil
}

// containerAddr is the address the fake network gives a container.
func containerAddr(id string) string { return fmt.Sprintf("172.30.0.%d", 2+len(id)%200) }

func (r *netRuntime) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	c, err := r.Runtime.Inspect(ctx, id)
	if err == nil && c.State.Running {
		r.mu.Lock()
		if r.network != nil {
			c.IPs = map[string]string{r.network.Name: containerAddr(id)}
		}
		r.mu.Unlock()
	}
	return c, err
}

func (r *netRuntime) removedNetworks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.removed)
}

// zoneSource is the manager's view for the test's DNS: "web" runs on this
// worker, "far" on another host.
type zoneSource struct{}

func (zoneSource) Task(name string) (*v1.Task, bool) {
	host := map[string]string{"web": "127.0.0.1", "far": "10.0.0.2"}[name]
	if host == "" {
		return nil, false
	}
	t := newTask(name, "uid-"+name)
	t.Status = v1.TaskStatus{Phase: v1.PhaseRunning, HostIP: host,
		Ports:      []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}},
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}}
	return t, true
}
func (zoneSource) ServiceTasks(string) []*v1.Task   { return nil }
func (zoneSource) Tasks() []*v1.Task                { return nil }
func (zoneSource) Worker(string) (*v1.Worker, bool) { return nil, false }
func (zoneSource) Managers() []discovery.Manager    { return nil }
func (zoneSource) Serial() uint32                   { return 1 }

// mustManagerDNS serves zoneSource's zone on a free port.
func mustManagerDNS(t *testing.T, z discovery.Zone) string {
	t.Helper()
	srv := discovery.NewServer("127.0.0.1:0", discovery.NewHandler(z, zoneSource{}), nil)
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return addr.String()
}

// freeUDPPort returns a port free for UDP and TCP on the loopback.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	srv := discovery.NewServer("127.0.0.1:0", dns.HandlerFunc(func(dns.ResponseWriter, *dns.Msg) {}), nil)
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	srv.Close()
	return addr.(*net.UDPAddr).Port
}

// TestContainerDNS: containers are made on the worker's network with its
// resolver, which answers a task of this worker with its container's
// address and port, and another host's task as the manager does.
func TestContainerDNS(t *testing.T) {
	t.Parallel()
	z, err := discovery.NewZone("minkube.", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	upstream := mustManagerDNS(t, z)
	port := freeUDPPort(t)
	fake := runtimetest.New(testImage)
	var rt *netRuntime
	h := mustStartWorker(t, fake, &fakeManager{}, func(o *workerd.Options) {
		rt = &netRuntime{Runtime: o.Runtime}
		o.Runtime = rt
		o.ContainerDNS = workerd.ContainerDNS{Server: upstream, Zone: z, Port: port, ResolvConf: "/nonexistent"}
	})
	token := h.mustRegistered(t, 1)
	h.mustAssign(t, token, newTask("web", "uid-web", func(t *v1.Task) {
		t.Spec.Ports = []v1.Port{{Name: "http", ContainerPort: 8080}}
	}), http.StatusCreated)
	c := h.mustRunning(t, token, "uid-web", 0)

	specs := h.rt.created()
	if len(specs) != 1 || specs[0].Network != "minkube-"+workerName || !slices.Equal(specs[0].DNS, []string{"127.0.0.1"}) {
		t.Fatalf("container spec network %q DNS %v; want minkube-%s and [127.0.0.1]", specs[0].Network, specs[0].DNS, workerName)
	}

	resolver := fmt.Sprintf("127.0.0.1:%d", port)
	ask := func(name string, qtype uint16) *dns.Msg {
		t.Helper()
		q := new(dns.Msg)
		q.SetQuestion(name, qtype)
		resp, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, resolver)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return resp
	}
	var a *dns.Msg
	mustEventually(t, "web's container address from the resolver", func() bool {
		a = ask("web.task.minkube.", dns.TypeA)
		return len(a.Answer) == 1 && a.Answer[0].(*dns.A).A.String() == containerAddr(c.ID)
	})
	srv := ask("_http._tcp.web.task.minkube.", dns.TypeSRV)
	if len(srv.Answer) != 1 || srv.Answer[0].(*dns.SRV).Port != 8080 {
		t.Errorf("SRV of web from its worker's container: %v; want the container port 8080", srv)
	}
	if far := ask("far.task.minkube.", dns.TypeA); len(far.Answer) != 1 || far.Answer[0].(*dns.A).A.String() != "10.0.0.2" {
		t.Errorf("far.task.minkube: %v; want 10.0.0.2", far)
	}
	if out := ask("example.org.", dns.TypeA); out.Rcode != dns.RcodeServerFailure {
		t.Errorf("a name outside the zone with no host resolver: %s, want SERVFAIL", dns.RcodeToString[out.Rcode])
	}

	// The container outlives the worker: the network stays.
	if err := h.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := rt.removedNetworks(); len(got) != 0 {
		t.Errorf("removed networks %v while a container is on it", got)
	}
}

// TestContainerDNS_NetworkRemovedWhenUnused: a worker that stops with no
// container left removes its network.
func TestContainerDNS_NetworkRemovedWhenUnused(t *testing.T) {
	t.Parallel()
	z, _ := discovery.NewZone("minkube.", 5*time.Second)
	var rt *netRuntime
	h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, func(o *workerd.Options) {
		rt = &netRuntime{Runtime: o.Runtime}
		o.Runtime = rt
		o.ContainerDNS = workerd.ContainerDNS{Server: mustManagerDNS(t, z), Zone: z, Port: freeUDPPort(t)}
	})
	h.mustRegistered(t, 1)
	if err := h.stop(t); err != nil {
		t.Fatal(err)
	}
	if got := rt.removedNetworks(); !slices.Equal(got, []string{"net-1"}) {
		t.Errorf("removed networks %v, want [net-1]", got)
	}
}

// TestContainerDNS_Unavailable: without a network of its own (someone
// else's has the name) or without the manager's DNS, containers are made
// as before, with the engine's network and resolver.
func TestContainerDNS_Unavailable(t *testing.T) {
	t.Parallel()
	z, _ := discovery.NewZone("minkube.", 5*time.Second)
	for name, edit := range map[string]func(o *workerd.Options){
		"network not owned": func(o *workerd.Options) {
			o.Runtime = &netRuntime{Runtime: o.Runtime, notOwned: true}
			o.ContainerDNS = workerd.ContainerDNS{Server: "127.0.0.1:1", Zone: z, Port: freeUDPPort(t)}
		},
		"no DNS server": func(o *workerd.Options) {
			o.Runtime = &netRuntime{Runtime: o.Runtime}
		},
		"runtime without networks": func(o *workerd.Options) {
			o.ContainerDNS = workerd.ContainerDNS{Server: "127.0.0.1:1", Zone: z, Port: freeUDPPort(t)}
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := mustStartWorker(t, runtimetest.New(testImage), &fakeManager{}, edit)
			token := h.mustRegistered(t, 1)
			h.mustAssign(t, token, newTask("web", "uid-web"), http.StatusCreated)
			h.mustRunning(t, token, "uid-web", 0)
			if specs := h.rt.created(); len(specs) != 1 || specs[0].Network != "" || specs[0].DNS != nil {
				t.Errorf("container spec network %q DNS %v; want the engine's", specs[0].Network, specs[0].DNS)
			}
		})
	}
}
