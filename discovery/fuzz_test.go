package discovery

import (
	"testing"

	"github.com/miekg/dns"
)

// FuzzHandler feeds the handler whatever random packets decode to, as the
// server does: no panic, an answer that packs, and never more bytes than
// the client allows over UDP (512, or its EDNS0 buffer up to 4096).
func FuzzHandler(f *testing.F) {
	for _, q := range []*dns.Msg{
		query("web.task.minkube.", dns.TypeA),
		query("_http._tcp.big.svc.minkube.", dns.TypeSRV),
		query("big.svc.minkube.", dns.TypeANY),
		query("minkube.", dns.TypeSOA),
		query("example.com.", dns.TypeA),
	} {
		wire, err := q.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
		q.SetEdns0(1232, true)
		if wire, err = q.Pack(); err != nil {
			f.Fatal(err)
		}
		f.Add(wire)
	}
	src := bigService(300)
	for name, task := range testSource().tasks {
		src.tasks[name] = task
	}
	h := NewHandler(mustZone(f), src)
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return // the server answers FORMERR itself
		}
		for _, udp := range []bool{true, false} {
			resp := h.Answer(req, udp)
			wire, err := resp.Pack()
			if err != nil {
				t.Fatalf("answer does not pack: %v\nquery: %v\nanswer: %v", err, req, resp)
			}
			limit := dns.MaxMsgSize
			if udp {
				limit = dns.MinMsgSize
				if opt := req.IsEdns0(); opt != nil {
					limit = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPSize)
				}
			}
			if len(wire) > limit {
				t.Fatalf("answer of %d bytes, client allows %d (udp %v)\nquery: %v", len(wire), limit, udp, req)
			}
			if resp.Id != req.Id || !resp.Response {
				t.Fatalf("answer id %d response %v, want id %d and QR set", resp.Id, resp.Response, req.Id)
			}
		}
	})
}
