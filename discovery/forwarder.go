package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// forwardTimeout bounds one forwarded query, every server tried.
const forwardTimeout = 5 * time.Second

// LocalTask is a Task that runs on this worker, as its containers reach it.
type LocalTask struct {
	// IP is the container's address on the worker's network.
	IP net.IP
	// Ports are the task's ports; ContainerPort is what a container on the
	// same network connects to.
	Ports []v1.PortStatus
}

// LocalTasks finds the Tasks that run on this worker.
type LocalTasks interface {
	// LocalTask returns the Task called name when its container runs on
	// this worker with an address on the worker's network.
	LocalTask(name string) (LocalTask, bool)
}

// ForwarderOptions configures a Forwarder.
type ForwarderOptions struct {
	// Zone is the cluster zone; only its Domain is used.
	Zone Zone
	// Upstream is host:port of the manager's DNS server.
	Upstream string
	// HostResolvers are host:port of the resolvers names outside the zone
	// go to: the host's, from /etc/resolv.conf (HostResolvers).
	HostResolvers []string
	// Gateway is the host's address on the containers' network.
	Gateway net.IP
	// Local finds the Tasks of this worker.
	Local  LocalTasks
	Logger *slog.Logger
}

// Forwarder is the resolver a worker gives its containers, as Docker's
// embedded DNS is: names in the cluster zone are asked of the manager and
// the answers rewritten (see Rewrite) to addresses a container on this
// worker can reach; other names go to the host's resolvers. It implements
// dns.Handler; serve it with a Server on the gateway's port 53.
type Forwarder struct {
	opts ForwarderOptions
	log  *slog.Logger
}

var _ dns.Handler = (*Forwarder)(nil)

// NewForwarder checks opts and returns a Forwarder.
func NewForwarder(opts ForwarderOptions) (*Forwarder, error) {
	if opts.Zone.Domain == "" || opts.Upstream == "" || opts.Local == nil || opts.Gateway == nil {
		return nil, fmt.Errorf("discovery: a Forwarder needs a zone, an upstream, a gateway and the local tasks")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Forwarder{opts: opts, log: opts.Logger}, nil
}

// HostResolvers returns the name servers of a resolv.conf file as
// host:port, none when it cannot be read.
func HostResolvers(path string) []string {
	cfg, err := dns.ClientConfigFromFile(path)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(cfg.Servers))
	for _, s := range cfg.Servers {
		out = append(out, net.JoinHostPort(s, cfg.Port))
	}
	return out
}

// ServeDNS implements dns.Handler.
func (f *Forwarder) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	ctx, cancel := context.WithTimeout(context.Background(), forwardTimeout)
	defer cancel()
	resp := f.Answer(ctx, req)
	limit := dns.MaxMsgSize
	if isUDP(w) {
		limit = dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		}
	}
	fit(resp, limit)
	_ = w.WriteMsg(resp)
}

// Answer returns the answer to req, before it is fitted to the client's
// size.
func (f *Forwarder) Answer(ctx context.Context, req *dns.Msg) *dns.Msg {
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		resp := new(dns.Msg)
		resp.SetRcode(req, dns.RcodeFormatError)
		return resp
	}
	q := req.Question[0]
	if !f.opts.Zone.Contains(q.Name) {
		return f.forward(ctx, req)
	}
	ask := new(dns.Msg)
	ask.SetQuestion(q.Name, upstreamType(f.opts.Zone, q))
	ask.SetEdns0(maxUDPSize, false)
	up, err := exchange(ctx, f.opts.Upstream, ask)
	if err != nil {
		f.log.Warn("the manager's DNS did not answer", "name", q.Name, "upstream", f.opts.Upstream, "err", err)
		return servfail(req)
	}
	return Rewrite(f.opts.Zone, req, up, f.opts.Local, f.opts.Gateway)
}

// forward asks the host's resolvers in turn and returns the first answer.
func (f *Forwarder) forward(ctx context.Context, req *dns.Msg) *dns.Msg {
	for _, server := range f.opts.HostResolvers {
		ask := req.Copy()
		ask.Id = dns.Id()
		resp, err := exchange(ctx, server, ask)
		if err != nil {
			f.log.Debug("host resolver did not answer", "server", server, "err", err)
			continue
		}
		resp.Id = req.Id
		return resp
	}
	return servfail(req)
}

func servfail(req *dns.Msg) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetRcode(req, dns.RcodeServerFailure)
	resp.RecursionAvailable = true
	return resp
}

// exchange asks server over UDP, and over TCP when the answer is truncated.
func exchange(ctx context.Context, server string, q *dns.Msg) (*dns.Msg, error) {
	size := uint16(dns.MinMsgSize)
	if opt := q.IsEdns0(); opt != nil {
		size = max(opt.UDPSize(), dns.MinMsgSize)
	}
	resp, _, err := (&dns.Client{Net: "udp", UDPSize: size}).ExchangeContext(ctx, q, server)
	if err == nil && resp.Truncated {
		resp, _, err = (&dns.Client{Net: "tcp"}).ExchangeContext(ctx, q, server)
	}
	return resp, err
}

// upstreamType is the type to ask the manager for q: the members (PTR) of
// a service asked for its addresses, whose answer says which member is
// which; q's own type otherwise.
func upstreamType(z Zone, q dns.Question) uint16 {
	if z.parse(strings.ToLower(dns.Fqdn(q.Name))).kind == kindService {
		switch q.Qtype {
		case dns.TypeA, dns.TypeAAAA, dns.TypeANY:
			return dns.TypePTR
		}
	}
	return q.Qtype
}

// Rewrite turns the manager's answer up into the answer to req for a
// container on this worker, whose gateway to the host is gw:
//
//   - a Task that runs on this worker is reached at its container's address
//     on the worker's network, and its SRV port is the container port;
//   - any other address is kept, except a loopback or unspecified one,
//     which no container reaches: it becomes gw, the host as the container
//     sees it (a port published on every address is reached there);
//   - a service's addresses are its members', each rewritten as above (up
//     is then the answer to the service's PTR question).
//
// It is a pure function of its arguments and local's answers.
func Rewrite(z Zone, req, up *dns.Msg, local LocalTasks, gw net.IP) *dns.Msg {
	out := new(dns.Msg)
	out.SetReply(req)
	out.Authoritative = up.Authoritative
	out.RecursionAvailable = true
	out.Rcode = up.Rcode
	out.Ns = up.Ns
	if up.Rcode != dns.RcodeSuccess {
		return out
	}
	q := req.Question[0]
	p := z.parse(strings.ToLower(dns.Fqdn(q.Name)))
	r := rewriter{z: z, local: local, gw: gw, port: p.port, proto: p.proto}
	if upstreamType(z, q) == dns.TypePTR && q.Qtype != dns.TypePTR {
		out.Answer = r.serviceAddrs(q, up)
	} else {
		out.Answer = r.all(up.Answer)
		out.Extra = r.all(slices.DeleteFunc(slices.Clone(up.Extra), func(rr dns.RR) bool { return rr.Header().Rrtype == dns.TypeOPT }))
	}
	if len(out.Answer) == 0 && len(out.Ns) == 0 {
		// Every record was dropped: NODATA, cached as long as any other.
		out.Ns = []dns.RR{z.soa(z.Domain, 0)}
	}
	return out
}

type rewriter struct {
	z     Zone
	local LocalTasks
	gw    net.IP
	port  string      // of an SRV question
	proto v1.Protocol // of an SRV question
}

// all rewrites each record, dropping those no container can use.
func (r rewriter) all(rrs []dns.RR) []dns.RR {
	out := make([]dns.RR, 0, len(rrs))
	for _, rr := range rrs {
		if rr = r.one(rr); rr != nil {
			out = append(out, rr)
		}
	}
	return out
}

func (r rewriter) one(rr dns.RR) dns.RR {
	switch rr := rr.(type) {
	case *dns.A, *dns.AAAA:
		ip := addrOf(rr)
		if lt, ok := r.localTask(rr.Header().Name); ok {
			ip = lt.IP
		}
		if ip = reachable(ip, r.gw); ip == nil {
			return nil
		}
		return addrRR(rr.Header().Name, ip, rr.Header().Ttl)
	case *dns.SRV:
		lt, ok := r.localTask(rr.Target)
		if !ok {
			return rr
		}
		for _, ps := range lt.Ports {
			if ps.Name == r.port && ps.Protocol.OrDefault() == r.proto && ps.ContainerPort > 0 {
				out := *rr
				out.Port = uint16(ps.ContainerPort)
				return &out
			}
		}
		return rr
	}
	return rr
}

// serviceAddrs builds the addresses of a service from the manager's PTR
// answer: each member's, rewritten, once.
func (r rewriter) serviceAddrs(q dns.Question, up *dns.Msg) []dns.RR {
	glue := map[string][]dns.RR{}
	for _, rr := range up.Extra {
		if t := rr.Header().Rrtype; t == dns.TypeA || t == dns.TypeAAAA {
			name := strings.ToLower(rr.Header().Name)
			glue[name] = append(glue[name], rr)
		}
	}
	var out []dns.RR
	var seen []net.IP
	for _, rr := range up.Answer {
		ptr, ok := rr.(*dns.PTR)
		if !ok {
			continue
		}
		for _, g := range glue[strings.ToLower(ptr.Ptr)] {
			g = r.one(g)
			if g == nil {
				continue
			}
			ip := addrOf(g)
			want := q.Qtype == dns.TypeANY || (q.Qtype == dns.TypeA) == (ip.To4() != nil)
			if want && !slices.ContainsFunc(seen, ip.Equal) {
				seen = append(seen, ip)
				out = append(out, addrRR(q.Name, ip, ptr.Hdr.Ttl))
			}
		}
		if q.Qtype == dns.TypeANY {
			out = append(out, &dns.PTR{Hdr: hdr(q.Name, dns.TypePTR, ptr.Hdr.Ttl), Ptr: ptr.Ptr})
		}
	}
	return out
}

// localTask returns the local Task a NAME.task.DOMAIN name stands for.
func (r rewriter) localTask(name string) (LocalTask, bool) {
	p := r.z.parse(strings.ToLower(dns.Fqdn(name)))
	if p.kind != kindTask || r.local == nil {
		return LocalTask{}, false
	}
	lt, ok := r.local.LocalTask(p.name)
	return lt, ok && lt.IP != nil
}

// reachable is the address a container reaches ip at: gw for a loopback or
// unspecified IPv4 address, none for such an IPv6 one, ip otherwise.
func reachable(ip, gw net.IP) net.IP {
	if ip == nil {
		return nil
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		if ip.To4() != nil {
			return gw
		}
		return nil
	}
	return ip
}

func addrOf(rr dns.RR) net.IP {
	switch rr := rr.(type) {
	case *dns.A:
		return rr.A
	case *dns.AAAA:
		return rr.AAAA
	}
	return nil
}
