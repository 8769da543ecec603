package discovery

import (
	"net"
	"strings"

	"github.com/miekg/dns"
)

// Message sizes.
const (
	// advertisedUDPSize is the EDNS0 buffer size the server announces: the
	// size that avoids IP fragmentation (DNS flag day 2020).
	advertisedUDPSize = 1232
	// maxUDPSize caps an answer over UDP whatever buffer the client
	// announces.
	maxUDPSize = 4096
)

// Handler answers queries for the zone from a Source. It implements
// dns.Handler; Server serves it over UDP and TCP.
type Handler struct {
	zone Zone
	src  Source
}

var _ dns.Handler = (*Handler)(nil)

// NewHandler returns a handler of zone z built from src.
func NewHandler(z Zone, src Source) *Handler { return &Handler{zone: z, src: src} }

// ServeDNS implements dns.Handler.
func (h *Handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	_ = w.WriteMsg(h.Answer(req, isUDP(w)))
}

// isUDP reports whether w answers over UDP, where size limits apply.
func isUDP(w dns.ResponseWriter) bool {
	_, ok := w.LocalAddr().(*net.UDPAddr)
	return ok
}

// Answer returns the response to req. Over UDP (udp true) it fits in the
// size the client allows, 512 bytes or its EDNS0 buffer (at most 4096), and
// is truncated (TC set) when the answer does not fit; over TCP it fits in
// 64 KiB.
func (h *Handler) Answer(req *dns.Msg, udp bool) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = false
	opt := req.IsEdns0()
	limit := dns.MaxMsgSize
	if udp {
		limit = dns.MinMsgSize
		if opt != nil {
			limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
		}
	}
	if opt != nil {
		resp.SetEdns0(advertisedUDPSize, false)
	}
	switch {
	case req.Opcode != dns.OpcodeQuery:
		resp.Rcode = dns.RcodeNotImplemented
	case len(req.Question) != 1:
		resp.Rcode = dns.RcodeFormatError
	case opt != nil && opt.Version() != 0:
		resp.Rcode = dns.RcodeBadVers
	default:
		h.answerQuestion(resp, req.Question[0])
	}
	if resp.Rcode > 0xF && opt == nil {
		resp.Rcode = dns.RcodeFormatError // an extended code needs an OPT record
	}
	fit(resp, limit)
	return resp
}

// answerQuestion fills resp with the answer to q.
func (h *Handler) answerQuestion(resp *dns.Msg, q dns.Question) {
	switch {
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY,
		!h.zone.Contains(q.Name),
		q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR:
		// Not this server's: no recursion, no zone transfers.
		resp.Rcode = dns.RcodeRefused
		return
	}
	resp.Authoritative = true
	n := h.zone.build(h.src, strings.ToLower(dns.Fqdn(q.Name)), q.Name)
	if !n.exists {
		resp.Rcode = dns.RcodeNameError
		resp.Ns = []dns.RR{h.zone.soa(h.zone.Domain, h.src.Serial())}
		return
	}
	var withTargets bool
	for _, rr := range n.rrs {
		t := rr.Header().Rrtype
		if q.Qtype == dns.TypeANY || t == q.Qtype {
			resp.Answer = append(resp.Answer, rr)
			withTargets = withTargets || t == dns.TypeSRV || t == dns.TypePTR || t == dns.TypeNS
		}
	}
	if len(resp.Answer) == 0 {
		// NODATA: the name exists without records of this type.
		resp.Ns = []dns.RR{h.zone.soa(h.zone.Domain, h.src.Serial())}
		return
	}
	if withTargets {
		resp.Extra = append(resp.Extra, dedupe(n.extra)...)
	}
}

// fit truncates resp to limit bytes. Only a loss in the answer or
// authority section sets TC: additional records are a courtesy the client
// can do without (RFC 2181, section 9).
func fit(resp *dns.Msg, limit int) {
	answers, ns := len(resp.Answer), len(resp.Ns)
	resp.Compress = true
	resp.Truncate(limit)
	if len(resp.Answer) == answers && len(resp.Ns) == ns {
		resp.Truncated = false
	}
}

// dedupe drops repeated records, keeping the first of each.
func dedupe(rrs []dns.RR) []dns.RR {
	seen := make(map[string]bool, len(rrs))
	out := rrs[:0:0]
	for _, rr := range rrs {
		k := rr.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, rr)
		}
	}
	return out
}
