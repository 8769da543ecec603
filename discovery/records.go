package discovery

import (
	"net"
	"slices"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// SOA timers other than the minimum (the negative TTL, which is the zone's
// TTL). Nothing transfers this zone; they are there because an SOA has them.
const (
	soaRefresh = 60
	soaRetry   = 10
	soaExpire  = 3600
)

// node is every record at one name.
type node struct {
	// exists is false for a name the zone does not have (NXDOMAIN).
	exists bool
	// rrs are the records at the name, of every type.
	rrs []dns.RR
	// extra are the addresses of the targets of rrs' SRV and PTR records,
	// for the additional section.
	extra []dns.RR
}

// build returns the records at qname, a lower-case fully qualified name in
// the zone, named owner (the name as the client spelled it). It is a pure
// function of src.
func (z Zone) build(src Source, qname, owner string) node {
	ttl := z.ttl()
	p := z.parse(qname)
	var n node
	switch p.kind {
	case kindApex:
		n.exists = true
		n.rrs = append(n.rrs, z.soa(owner, src.Serial()),
			&dns.NS{Hdr: hdr(owner, dns.TypeNS, ttl), Ns: z.NSName()})
		n.extra = z.addrs(z.NSName(), z.NS)
	case kindNS:
		n.exists = true
		n.rrs = z.addrs(owner, z.NS)
	case kindEmpty:
		n.exists = true
	case kindTask, kindTaskProto, kindTaskSRV:
		t, _ := src.Task(p.name)
		n = z.members(owner, p, []*v1.Task{t})
	case kindService, kindServiceProto, kindServiceSRV:
		n = z.members(owner, p, src.ServiceTasks(p.name))
	case kindWorker:
		w, ok := src.Worker(p.name)
		if ok && w.Status.Phase == v1.WorkerReady {
			if ip := hostIP(w.Spec.Address); ip != nil {
				n.exists = true
				n.rrs = z.addrs(owner, []net.IP{ip})
			}
		}
	case kindManager:
		for _, m := range src.Managers() {
			if ip := hostIP(m.Address); ip != nil && ManagerLabel(m.Name) == p.name {
				n.exists = true
				n.rrs = append(n.rrs, z.addrs(owner, []net.IP{ip})...)
			}
		}
	case kindManagerSRV:
		for _, m := range src.Managers() {
			ip, port := hostIP(m.Address), hostPort(m.Address)
			if ip == nil || port == 0 {
				continue
			}
			target := z.Manager(m.Name)
			n.exists = true
			n.rrs = append(n.rrs, &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Priority: 0, Weight: 1, Port: port, Target: target})
			n.extra = append(n.extra, z.addrs(target, []net.IP{ip})...)
		}
	}
	return n
}

// members builds the records of a Task name or a service name from the
// tasks it stands for, keeping those that answer (TaskAddress).
func (z Zone) members(owner string, p parsedName, tasks []*v1.Task) node {
	ttl := z.ttl()
	var n node
	var ips []net.IP
	for _, t := range tasks {
		ip, ok := TaskAddress(t)
		if !ok {
			continue
		}
		target := z.Task(t.Metadata.Name)
		switch p.kind {
		case kindTask, kindService:
			n.exists = true
			if !slices.ContainsFunc(ips, ip.Equal) {
				ips = append(ips, ip)
			}
			if p.kind == kindService {
				n.rrs = append(n.rrs, &dns.PTR{Hdr: hdr(owner, dns.TypePTR, ttl), Ptr: target})
				n.extra = append(n.extra, z.addrs(target, []net.IP{ip})...)
			}
		case kindTaskProto, kindServiceProto:
			if slices.ContainsFunc(t.Status.Ports, func(ps v1.PortStatus) bool {
				return ps.Name != "" && ps.HostPort > 0 && ps.Protocol.OrDefault() == p.proto
			}) {
				n.exists = true
			}
		case kindTaskSRV, kindServiceSRV:
			for _, ps := range t.Status.Ports {
				if ps.Name == p.port && ps.HostPort > 0 && ps.Protocol.OrDefault() == p.proto {
					n.exists = true
					n.rrs = append(n.rrs, &dns.SRV{Hdr: hdr(owner, dns.TypeSRV, ttl), Priority: 0, Weight: 1, Port: uint16(ps.HostPort), Target: target})
					n.extra = append(n.extra, z.addrs(target, []net.IP{ip})...)
				}
			}
		}
	}
	n.rrs = append(z.addrs(owner, ips), n.rrs...)
	return n
}

// soa is the zone's SOA record. Its minimum is the negative TTL.
func (z Zone) soa(owner string, serial uint32) *dns.SOA {
	ttl := z.ttl()
	return &dns.SOA{
		Hdr: hdr(owner, dns.TypeSOA, ttl), Ns: z.NSName(), Mbox: "hostmaster." + z.Domain,
		Serial: serial, Refresh: soaRefresh, Retry: soaRetry, Expire: soaExpire, Minttl: ttl,
	}
}

// addrs returns an A or AAAA record at owner for each address.
func (z Zone) addrs(owner string, ips []net.IP) []dns.RR {
	ttl := z.ttl()
	out := make([]dns.RR, 0, len(ips))
	for _, ip := range ips {
		out = append(out, addrRR(owner, ip, ttl))
	}
	return out
}

func (z Zone) ttl() uint32 { return uint32(z.TTL.Seconds()) }

// addrRR is an A record for an IPv4 address, AAAA otherwise.
func addrRR(owner string, ip net.IP, ttl uint32) dns.RR {
	if v4 := ip.To4(); v4 != nil {
		return &dns.A{Hdr: hdr(owner, dns.TypeA, ttl), A: v4}
	}
	return &dns.AAAA{Hdr: hdr(owner, dns.TypeAAAA, ttl), AAAA: ip}
}

func hdr(owner string, t uint16, ttl uint32) dns.RR_Header {
	return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
}
