package discovery

import (
	"net"
	"slices"
	"testing"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// fakeLocal is the tasks of "this" worker by name.
type fakeLocal map[string]LocalTask

func (l fakeLocal) LocalTask(name string) (LocalTask, bool) { lt, ok := l[name]; return lt, ok }

var gw = net.ParseIP("172.18.0.1").To4()

// rewriteSource is a cluster of three workers: this one and another on
// this host (both at 127.0.0.1), and one on another host.
func rewriteSource() (*fakeSource, fakeLocal) {
	src := newFakeSource(
		mustTask("here", "127.0.0.1", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18080)),
		mustTask("next-door", "127.0.0.1", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18081)),
		mustTask("far", "10.0.0.2", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18082)),
		mustTask("far6", "::1", withPort("http", v1.ProtocolTCP, 8080, 18083)),
	)
	src.workers["w1"] = &v1.Worker{Metadata: v1.ObjectMeta{Name: "w1"}, Spec: v1.WorkerSpec{Address: "127.0.0.1:7071"}, Status: v1.WorkerStatus{Phase: v1.WorkerReady}}
	local := fakeLocal{"here": {IP: net.ParseIP("172.18.0.5"), Ports: []v1.PortStatus{{Name: "http", ContainerPort: 8080, HostPort: 18080, Protocol: v1.ProtocolTCP}}}}
	return src, local
}

func TestRewrite(t *testing.T) {
	z := mustZone(t)
	src, local := rewriteSource()
	h := NewHandler(z, src)
	cases := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		extra  []string
	}{
		{"a task on this worker: its container", "here.task.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"here.task.minkube. 5 IN A 172.18.0.5"}, nil},
		{"a task on another host: as the manager says", "far.task.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"far.task.minkube. 5 IN A 10.0.0.2"}, nil},
		{"a task elsewhere on this host: the gateway", "next-door.task.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"next-door.task.minkube. 5 IN A 172.18.0.1"}, nil},
		{"IPv6 loopback reaches nothing", "far6.task.minkube.", dns.TypeAAAA, dns.RcodeSuccess, nil, nil},
		{"SRV of a task here: container port and address", "_http._tcp.here.task.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_http._tcp.here.task.minkube. 5 IN SRV 0 1 8080 here.task.minkube."}, []string{"here.task.minkube. 5 IN A 172.18.0.5"}},
		{"SRV of a task next door: host port at the gateway", "_http._tcp.next-door.task.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_http._tcp.next-door.task.minkube. 5 IN SRV 0 1 18081 next-door.task.minkube."}, []string{"next-door.task.minkube. 5 IN A 172.18.0.1"}},
		{"service SRV: each member as it is reached", "_http._tcp.shop.svc.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 18081 next-door.task.minkube.",
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 18082 far.task.minkube.",
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 8080 here.task.minkube.",
			},
			[]string{"far.task.minkube. 5 IN A 10.0.0.2", "here.task.minkube. 5 IN A 172.18.0.5", "next-door.task.minkube. 5 IN A 172.18.0.1"}},
		{"service A: each member's address once", "shop.svc.minkube.", dns.TypeA, dns.RcodeSuccess,
			[]string{"shop.svc.minkube. 5 IN A 10.0.0.2", "shop.svc.minkube. 5 IN A 172.18.0.1", "shop.svc.minkube. 5 IN A 172.18.0.5"}, nil},
		{"service AAAA of IPv4 members: none", "shop.svc.minkube.", dns.TypeAAAA, dns.RcodeSuccess, nil, nil},
		{"service PTR passes", "shop.svc.minkube.", dns.TypePTR, dns.RcodeSuccess,
			[]string{"shop.svc.minkube. 5 IN PTR far.task.minkube.", "shop.svc.minkube. 5 IN PTR here.task.minkube.", "shop.svc.minkube. 5 IN PTR next-door.task.minkube."},
			[]string{"far.task.minkube. 5 IN A 10.0.0.2", "here.task.minkube. 5 IN A 172.18.0.5", "next-door.task.minkube. 5 IN A 172.18.0.1"}},
		{"a worker on loopback: the gateway", "w1.worker.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"w1.worker.minkube. 5 IN A 172.18.0.1"}, nil},
		{"NXDOMAIN passes", "gone.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, nil},
		{"NXDOMAIN of a service passes", "cart.svc.minkube.", dns.TypeA, dns.RcodeNameError, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := query(tc.qname, tc.qtype)
			ask := query(tc.qname, upstreamType(z, req.Question[0]))
			out := Rewrite(z, req, h.Answer(ask, false), local, gw)
			if out.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[out.Rcode], dns.RcodeToString[tc.rcode])
			}
			if out.Id != req.Id || out.Question[0] != req.Question[0] || !out.RecursionAvailable {
				t.Errorf("header: id %d question %v RA %v; want the request's id and question, RA set", out.Id, out.Question, out.RecursionAvailable)
			}
			if g := rrStrings(out.Answer); !slices.Equal(g, nilIfEmpty(sorted(tc.answer))) {
				t.Errorf("answer:\n got %q\nwant %q", g, sorted(tc.answer))
			}
			if g := rrStrings(out.Extra); !slices.Equal(g, nilIfEmpty(sorted(tc.extra))) {
				t.Errorf("additional:\n got %q\nwant %q", g, sorted(tc.extra))
			}
			if (tc.rcode != dns.RcodeSuccess || len(tc.answer) == 0) && (len(out.Ns) != 1 || out.Ns[0].Header().Rrtype != dns.TypeSOA) {
				t.Errorf("a negative answer without the SOA: %v", out.Ns)
			}
		})
	}
}

// TestForwarder asks a forwarder, as a container would, with Go's resolver:
// cluster names come rewritten from the manager, others from the host's
// resolver, large answers over TCP; with the manager gone, SERVFAIL.
func TestForwarder(t *testing.T) {
	src, local := rewriteSource()
	for name, task := range bigService(300).tasks {
		src.tasks[name] = task
	}
	manager := mustServe(t, src)
	hostDNS := dns.NewServeMux()
	hostDNS.HandleFunc("example.org.", func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		resp.RecursionAvailable = true
		if req.Question[0].Qtype == dns.TypeA {
			resp.Answer = []dns.RR{addrRR(req.Question[0].Name, net.ParseIP("192.0.2.7"), 60)}
		}
		_ = w.WriteMsg(resp)
	})
	host := mustServeHandler(t, hostDNS)
	fwd, err := NewForwarder(ForwarderOptions{Zone: mustZone(t), Upstream: manager, HostResolvers: []string{"127.0.0.1:1", host}, Gateway: gw, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	r := goResolver(mustServeHandler(t, fwd))
	ctx := t.Context()

	for name, want := range map[string][]string{
		"here.task.minkube":      {"172.18.0.5"},
		"next-door.task.minkube": {"172.18.0.1"},
		"shop.svc.minkube":       {"10.0.0.2", "172.18.0.1", "172.18.0.5"},
		"example.org":            {"192.0.2.7"},
	} {
		ips, err := r.LookupHost(ctx, name)
		slices.Sort(ips)
		if err != nil || !slices.Equal(ips, want) {
			t.Errorf("LookupHost(%s) = %v, %v; want %v", name, ips, err, want)
		}
	}
	_, srvs, err := r.LookupSRV(ctx, "http", "tcp", "here.task.minkube")
	if err != nil || len(srvs) != 1 || srvs[0].Port != 8080 {
		t.Errorf("LookupSRV here = %v, %v; want port 8080", srvs, err)
	}
	_, srvs, err = r.LookupSRV(ctx, "http", "tcp", "big.svc.minkube")
	if err != nil || len(srvs) != 300 {
		t.Errorf("LookupSRV of 300 members through the forwarder: %d, %v", len(srvs), err)
	}
	if _, err := r.LookupHost(ctx, "gone.task.minkube"); err == nil {
		t.Error("LookupHost of a missing task: no error")
	}

	down, err := NewForwarder(ForwarderOptions{Zone: mustZone(t), Upstream: "127.0.0.1:1", Gateway: gw, Local: local})
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := (&dns.Client{}).ExchangeContext(ctx, query("here.task.minkube.", dns.TypeA), mustServeHandler(t, down))
	if err != nil || resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("with the manager's DNS down: %v, %v; want SERVFAIL", resp, err)
	}
}

func TestHostResolvers(t *testing.T) {
	path := t.TempDir() + "/resolv.conf"
	if err := writeFile(path, "# comment\nnameserver 10.0.0.53\nnameserver fd00::53\nsearch example.org\n"); err != nil {
		t.Fatal(err)
	}
	if got := HostResolvers(path); !slices.Equal(got, []string{"10.0.0.53:53", "[fd00::53]:53"}) {
		t.Errorf("HostResolvers = %v", got)
	}
	if got := HostResolvers(path + ".missing"); got != nil {
		t.Errorf("HostResolvers of a missing file = %v, want none", got)
	}
}
