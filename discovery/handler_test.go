package discovery

import (
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

func testSource() *fakeSource {
	src := newFakeSource(
		mustTask("web", "10.0.0.1", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18080), withPort("dns", v1.ProtocolUDP, 53, 10053)),
		mustTask("web2", "10.0.0.2", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18081)),
		mustTask("web3", "10.0.0.2", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18082)),
		mustTask("sick", "10.0.0.3", withService("shop"), withPort("http", v1.ProtocolTCP, 8080, 18083), notReady),
		mustTask("pending", "", withPhase(v1.PhasePending)),
		mustTask("done", "10.0.0.1", withPhase(v1.PhaseSucceeded)),
		mustTask("going", "10.0.0.1", deleting),
		mustTask("v6", "fd00::1", withPort("http", v1.ProtocolTCP, 80, 8080)),
		mustTask("named-host", "worker-1.example"),
		mustTask("unnamed", "10.0.0.4", withPort("", v1.ProtocolTCP, 80, 8081)),
	)
	src.workers["w1"] = &v1.Worker{Metadata: v1.ObjectMeta{Name: "w1"}, Spec: v1.WorkerSpec{Address: "10.0.0.1:7071"}, Status: v1.WorkerStatus{Phase: v1.WorkerReady}}
	src.workers["gone"] = &v1.Worker{Metadata: v1.ObjectMeta{Name: "gone"}, Spec: v1.WorkerSpec{Address: "10.0.0.9:7071"}, Status: v1.WorkerStatus{Phase: v1.WorkerNotReady}}
	src.workers["any"] = &v1.Worker{Metadata: v1.ObjectMeta{Name: "any"}, Spec: v1.WorkerSpec{Address: "0.0.0.0:7071"}, Status: v1.WorkerStatus{Phase: v1.WorkerReady}}
	src.managers = []Manager{{Name: "m1", Address: "10.0.1.1:7070"}, {Name: "M_2", Address: "10.0.1.2:7443"}, {Name: "wild", Address: "[::]:7070"}}
	return src
}

func TestHandlerAnswer(t *testing.T) {
	z := mustZone(t)
	z.NS = []net.IP{net.ParseIP("127.0.0.1")}
	h := NewHandler(z, testSource())
	const soa = "minkube. 5 IN SOA ns.minkube. hostmaster.minkube. 7 60 10 3600 5"
	cases := []struct {
		name   string
		qname  string
		qtype  uint16
		rcode  int
		answer []string
		ns     []string
		extra  []string
	}{
		{"task A", "web.task.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"web.task.minkube. 5 IN A 10.0.0.1"}, nil, nil},
		{"task A keeps the asked case", "WEB.Task.MinKube.", dns.TypeA, dns.RcodeSuccess, []string{"WEB.Task.MinKube. 5 IN A 10.0.0.1"}, nil, nil},
		{"task AAAA of a v4 host is NODATA", "web.task.minkube.", dns.TypeAAAA, dns.RcodeSuccess, nil, []string{soa}, nil},
		{"task on a v6 host", "v6.task.minkube.", dns.TypeAAAA, dns.RcodeSuccess, []string{"v6.task.minkube. 5 IN AAAA fd00::1"}, nil, nil},
		{"task not Ready", "sick.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task Pending", "pending.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task Succeeded", "done.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task being deleted", "going.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task whose host is a name", "named-host.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"no such task", "nope.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task SRV", "_http._tcp.web.task.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_http._tcp.web.task.minkube. 5 IN SRV 0 1 18080 web.task.minkube."}, nil,
			[]string{"web.task.minkube. 5 IN A 10.0.0.1"}},
		{"task SRV over udp", "_dns._udp.web.task.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_dns._udp.web.task.minkube. 5 IN SRV 0 1 10053 web.task.minkube."}, nil,
			[]string{"web.task.minkube. 5 IN A 10.0.0.1"}},
		{"task SRV of a tcp port asked as udp", "_http._udp.web.task.minkube.", dns.TypeSRV, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task SRV asked as A is NODATA", "_http._tcp.web.task.minkube.", dns.TypeA, dns.RcodeSuccess, nil, []string{soa}, nil},
		{"task SRV of no such port", "_grpc._tcp.web.task.minkube.", dns.TypeSRV, dns.RcodeNameError, nil, []string{soa}, nil},
		{"task proto node exists", "_tcp.web.task.minkube.", dns.TypeSRV, dns.RcodeSuccess, nil, []string{soa}, nil},
		{"task without named ports has no proto node", "_tcp.unnamed.task.minkube.", dns.TypeSRV, dns.RcodeNameError, nil, []string{soa}, nil},
		{"service A: Ready members, each host once", "shop.svc.minkube.", dns.TypeA, dns.RcodeSuccess,
			[]string{"shop.svc.minkube. 5 IN A 10.0.0.1", "shop.svc.minkube. 5 IN A 10.0.0.2"}, nil, nil},
		{"service PTR: members by name", "shop.svc.minkube.", dns.TypePTR, dns.RcodeSuccess,
			[]string{"shop.svc.minkube. 5 IN PTR web.task.minkube.", "shop.svc.minkube. 5 IN PTR web2.task.minkube.", "shop.svc.minkube. 5 IN PTR web3.task.minkube."}, nil,
			[]string{"web.task.minkube. 5 IN A 10.0.0.1", "web2.task.minkube. 5 IN A 10.0.0.2", "web3.task.minkube. 5 IN A 10.0.0.2"}},
		{"service SRV", "_http._tcp.shop.svc.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 18080 web.task.minkube.",
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 18081 web2.task.minkube.",
				"_http._tcp.shop.svc.minkube. 5 IN SRV 0 1 18082 web3.task.minkube.",
			}, nil,
			[]string{"web.task.minkube. 5 IN A 10.0.0.1", "web2.task.minkube. 5 IN A 10.0.0.2", "web3.task.minkube. 5 IN A 10.0.0.2"}},
		{"service SRV where one member has the port", "_dns._udp.shop.svc.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_dns._udp.shop.svc.minkube. 5 IN SRV 0 1 10053 web.task.minkube."}, nil, []string{"web.task.minkube. 5 IN A 10.0.0.1"}},
		{"no such service", "cart.svc.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"worker A", "w1.worker.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"w1.worker.minkube. 5 IN A 10.0.0.1"}, nil, nil},
		{"worker NotReady", "gone.worker.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"worker on every address has no A", "any.worker.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"managers SRV", "_api._tcp.manager.minkube.", dns.TypeSRV, dns.RcodeSuccess,
			[]string{"_api._tcp.manager.minkube. 5 IN SRV 0 1 7070 m1.manager.minkube.", "_api._tcp.manager.minkube. 5 IN SRV 0 1 7443 m-2.manager.minkube."}, nil,
			[]string{"m-2.manager.minkube. 5 IN A 10.0.1.2", "m1.manager.minkube. 5 IN A 10.0.1.1"}},
		{"manager A", "m-2.manager.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"m-2.manager.minkube. 5 IN A 10.0.1.2"}, nil, nil},
		{"apex SOA", "minkube.", dns.TypeSOA, dns.RcodeSuccess, []string{soa}, nil, nil},
		{"apex NS", "minkube.", dns.TypeNS, dns.RcodeSuccess, []string{"minkube. 5 IN NS ns.minkube."}, nil, []string{"ns.minkube. 5 IN A 127.0.0.1"}},
		{"apex A is NODATA", "minkube.", dns.TypeA, dns.RcodeSuccess, nil, []string{soa}, nil},
		{"name server A", "ns.minkube.", dns.TypeA, dns.RcodeSuccess, []string{"ns.minkube. 5 IN A 127.0.0.1"}, nil, nil},
		{"structural name is NODATA", "task.minkube.", dns.TypeA, dns.RcodeSuccess, nil, []string{soa}, nil},
		{"unknown subtree", "web.pod.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"too deep", "a.web.task.minkube.", dns.TypeA, dns.RcodeNameError, nil, []string{soa}, nil},
		{"ANY at a task", "web.task.minkube.", dns.TypeANY, dns.RcodeSuccess, []string{"web.task.minkube. 5 IN A 10.0.0.1"}, nil, nil},
		{"outside the zone", "example.com.", dns.TypeA, dns.RcodeRefused, nil, nil, nil},
		{"a suffix that is not the zone", "notminkube.", dns.TypeA, dns.RcodeRefused, nil, nil, nil},
		{"zone transfer", "minkube.", dns.TypeAXFR, dns.RcodeRefused, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Answer(query(tc.qname, tc.qtype), true)
			if resp.Rcode != tc.rcode {
				t.Fatalf("rcode %s, want %s\n%s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tc.rcode], resp)
			}
			if resp.RecursionAvailable {
				t.Error("RA set: the server does not recurse")
			}
			if wantAA := tc.rcode != dns.RcodeRefused; resp.Authoritative != wantAA {
				t.Errorf("AA = %v, want %v", resp.Authoritative, wantAA)
			}
			check := func(section string, got []dns.RR, want []string) {
				t.Helper()
				if g := rrStrings(got); !slices.Equal(g, nilIfEmpty(want)) && !(len(g) == 0 && len(want) == 0) {
					t.Errorf("%s:\n got %q\nwant %q", section, g, want)
				}
			}
			check("answer", resp.Answer, sorted(tc.answer))
			check("authority", resp.Ns, sorted(tc.ns))
			check("additional", resp.Extra, sorted(tc.extra))
		})
	}
}

func TestHandlerAnswer_ClassAndOpcode(t *testing.T) {
	h := NewHandler(mustZone(t), testSource())
	chaos := query("web.task.minkube.", dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	if resp := h.Answer(chaos, true); resp.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS class: rcode %s, want REFUSED", dns.RcodeToString[resp.Rcode])
	}
	notify := query("minkube.", dns.TypeSOA)
	notify.Opcode = dns.OpcodeNotify
	if resp := h.Answer(notify, true); resp.Rcode != dns.RcodeNotImplemented {
		t.Errorf("NOTIFY: rcode %s, want NOTIMP", dns.RcodeToString[resp.Rcode])
	}
	none := new(dns.Msg)
	if resp := h.Answer(none, true); resp.Rcode != dns.RcodeFormatError {
		t.Errorf("no question: rcode %s, want FORMERR", dns.RcodeToString[resp.Rcode])
	}
}

func TestHandlerAnswer_EDNS0(t *testing.T) {
	h := NewHandler(mustZone(t), testSource())
	q := query("web.task.minkube.", dns.TypeA)
	q.SetEdns0(4096, true)
	resp := h.Answer(q, true)
	opt := resp.IsEdns0()
	if opt == nil || opt.UDPSize() != advertisedUDPSize || opt.Version() != 0 {
		t.Fatalf("OPT in the answer = %v, want version 0 with buffer %d", opt, advertisedUDPSize)
	}
	if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 {
		t.Fatalf("answer %v", resp)
	}

	q.IsEdns0().SetVersion(1)
	resp = h.Answer(q, true)
	if resp.Rcode != dns.RcodeBadVers || resp.IsEdns0() == nil {
		t.Fatalf("EDNS version 1: rcode %s, OPT %v; want BADVERS with an OPT record", dns.RcodeToString[resp.Rcode], resp.IsEdns0())
	}
	if _, err := resp.Pack(); err != nil {
		t.Fatalf("BADVERS answer does not pack: %v", err)
	}

	plain := h.Answer(query("web.task.minkube.", dns.TypeA), true)
	if plain.IsEdns0() != nil {
		t.Error("an answer to a query without EDNS0 carries an OPT record")
	}
}

// bigService returns a source with a service of n members on distinct hosts.
func bigService(n int) *fakeSource {
	src := newFakeSource()
	for i := range n {
		name := fmt.Sprintf("member-%03d", i)
		src.tasks[name] = mustTask(name, fmt.Sprintf("10.1.%d.%d", i/250, i%250+1), withService("big"), withPort("http", v1.ProtocolTCP, 80, int32(20000+i)))
	}
	return src
}

func TestHandlerAnswer_Truncation(t *testing.T) {
	h := NewHandler(mustZone(t), bigService(300))
	cases := []struct {
		name      string
		udp       bool
		edns      uint16 // 0: no EDNS0
		limit     int
		truncated bool
	}{
		{"UDP without EDNS0: 512 bytes", true, 0, 512, true},
		{"UDP with a 1232-byte buffer", true, 1232, 1232, true},
		{"UDP with a buffer below 512 counts as 512", true, 100, 512, true},
		{"UDP with a 65535-byte buffer is capped", true, 65535, maxUDPSize, true},
		{"TCP carries it all", false, 0, dns.MaxMsgSize, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeSRV} {
				qname := "big.svc.minkube."
				if qtype == dns.TypeSRV {
					qname = "_http._tcp.big.svc.minkube."
				}
				q := query(qname, qtype)
				if tc.edns > 0 {
					q.SetEdns0(tc.edns, false)
				}
				resp := h.Answer(q, tc.udp)
				wire, err := resp.Pack()
				if err != nil {
					t.Fatal(err)
				}
				if len(wire) > tc.limit {
					t.Errorf("%s: %d bytes, limit %d", dns.TypeToString[qtype], len(wire), tc.limit)
				}
				if resp.Truncated != tc.truncated {
					t.Errorf("%s: TC = %v, want %v (%d answers)", dns.TypeToString[qtype], resp.Truncated, tc.truncated, len(resp.Answer))
				}
				if !tc.truncated && len(resp.Answer) != 300 {
					t.Errorf("%s: %d answers, want all 300", dns.TypeToString[qtype], len(resp.Answer))
				}
			}
		})
	}
}

// TestHandlerAnswer_ExtraDroppedWithoutTC: additional records that do not
// fit are dropped without setting TC when the answer is whole.
func TestHandlerAnswer_ExtraDroppedWithoutTC(t *testing.T) {
	h := NewHandler(mustZone(t), bigService(24))
	q := query("_http._tcp.big.svc.minkube.", dns.TypeSRV)
	q.SetEdns0(1232, false)
	resp := h.Answer(q, true)
	if len(resp.Answer) != 24 || resp.Truncated || len(resp.Extra) >= 24 {
		t.Fatalf("answers %d, extra %d, TC %v; want 24 answers, fewer than 24 extra and no TC", len(resp.Answer), len(resp.Extra), resp.Truncated)
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
