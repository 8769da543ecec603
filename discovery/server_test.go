package discovery

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// mustServe starts a server of src's zone on a free loopback port and
// returns its address; it stops when the test ends.
func mustServe(t *testing.T, src Source) string {
	t.Helper()
	return mustServeHandler(t, NewHandler(mustZone(t), src))
}

// mustServeHandler serves h on a free loopback port until the test ends.
func mustServeHandler(t *testing.T, h dns.Handler) string {
	t.Helper()
	srv := NewServer("127.0.0.1:0", h, nil)
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return addr.String()
}

// goResolver is Go's own resolver, asking only addr.
func goResolver(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// TestServer_GoResolver asks the server with Go's resolver, as a program on
// the host would: A, SRV, NXDOMAIN, and a service too large for UDP, which
// the resolver must fetch again over TCP.
func TestServer_GoResolver(t *testing.T) {
	src := testSource()
	for name, task := range bigService(300).tasks {
		src.tasks[name] = task
	}
	addr := mustServe(t, src)
	r := goResolver(addr)
	ctx := t.Context()

	ips, err := r.LookupHost(ctx, "web.task.minkube")
	if err != nil || !slices.Equal(ips, []string{"10.0.0.1"}) {
		t.Errorf("LookupHost web.task.minkube = %v, %v; want [10.0.0.1]", ips, err)
	}
	cname, srvs, err := r.LookupSRV(ctx, "http", "tcp", "shop.svc.minkube")
	if err != nil || len(srvs) != 3 || cname != "_http._tcp.shop.svc.minkube." {
		t.Fatalf("LookupSRV _http._tcp.shop.svc.minkube = %q, %v, %v; want 3 records", cname, srvs, err)
	}
	var ports []uint16
	for _, s := range srvs {
		ports = append(ports, s.Port)
	}
	slices.Sort(ports)
	if !slices.Equal(ports, []uint16{18080, 18081, 18082}) {
		t.Errorf("SRV ports %v, want 18080..18082", ports)
	}

	_, err = r.LookupHost(ctx, "nope.task.minkube")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("LookupHost nope.task.minkube: %v, want not found", err)
	}

	// 300 SRV records need about 12 KB: only TCP carries them.
	_, srvs, err = r.LookupSRV(ctx, "http", "tcp", "big.svc.minkube")
	if err != nil || len(srvs) != 300 {
		t.Errorf("LookupSRV of a 300-member service: %d records, %v; want 300 (over TCP after a truncated UDP answer)", len(srvs), err)
	}
	ips, err = r.LookupHost(ctx, "big.svc.minkube")
	if err != nil || len(ips) != 300 {
		t.Errorf("LookupHost of a 300-member service: %d addresses, %v; want 300", len(ips), err)
	}
}

// TestServer_UDPThenTCP checks the exchange itself: the UDP answer is
// truncated, the TCP one whole; NODATA and NXDOMAIN carry the SOA.
func TestServer_UDPThenTCP(t *testing.T) {
	addr := mustServe(t, bigService(300))
	q := query("_http._tcp.big.svc.minkube.", dns.TypeSRV)
	udp, _, err := (&dns.Client{Net: "udp"}).ExchangeContext(t.Context(), q, addr)
	if err != nil {
		t.Fatal(err)
	}
	if !udp.Truncated || len(udp.Answer) >= 300 {
		t.Errorf("UDP: TC %v with %d answers; want a truncated answer", udp.Truncated, len(udp.Answer))
	}
	tcp, _, err := (&dns.Client{Net: "tcp"}).ExchangeContext(t.Context(), q, addr)
	if err != nil {
		t.Fatal(err)
	}
	if tcp.Truncated || len(tcp.Answer) != 300 {
		t.Errorf("TCP: TC %v with %d answers; want all 300", tcp.Truncated, len(tcp.Answer))
	}
	for _, tc := range []struct {
		name  string
		qtype uint16
		rcode int
	}{
		{"member-001.task.minkube.", dns.TypeAAAA, dns.RcodeSuccess},
		{"nope.task.minkube.", dns.TypeA, dns.RcodeNameError},
	} {
		resp, _, err := (&dns.Client{}).ExchangeContext(t.Context(), query(tc.name, tc.qtype), addr)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Rcode != tc.rcode || len(resp.Answer) != 0 || len(resp.Ns) != 1 || resp.Ns[0].Header().Rrtype != dns.TypeSOA || resp.Ns[0].Header().Ttl != 5 {
			t.Errorf("%s %s: %v; want %s, no answer, the SOA with TTL 5", tc.name, dns.TypeToString[tc.qtype], resp, dns.RcodeToString[tc.rcode])
		}
	}
}

// TestServer_Dig asks with dig, a resolver independent of this code's
// library (Debian: dnsutils; make test installs it).
func TestServer_Dig(t *testing.T) {
	dig, err := exec.LookPath("dig")
	if err != nil {
		t.Fatal("dig is not installed: run make tools (Debian: apt-get install dnsutils)")
	}
	src := testSource()
	for name, task := range bigService(300).tasks {
		src.tasks[name] = task
	}
	addr := mustServe(t, src)
	host, port, _ := net.SplitHostPort(addr)
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(t.Context(), dig, append([]string{"@" + host, "-p", port, "+tries=1", "+time=2"}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("dig %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"web.task.minkube", "A"}, []string{"status: NOERROR", "flags: qr aa rd;", "web.task.minkube.\t5\tIN\tA\t10.0.0.1"}},
		{[]string{"_http._tcp.web.task.minkube", "SRV"}, []string{"status: NOERROR", "IN\tSRV\t0 1 18080 web.task.minkube."}},
		{[]string{"nope.task.minkube", "A"}, []string{"status: NXDOMAIN", "minkube.\t\t5\tIN\tSOA\tns.minkube. hostmaster.minkube."}},
		{[]string{"web.task.minkube", "TXT"}, []string{"status: NOERROR", "ANSWER: 0,", "IN\tSOA"}},
		{[]string{"example.com", "A"}, []string{"status: REFUSED"}},
		{[]string{"minkube", "SOA"}, []string{"status: NOERROR", "IN\tSOA\tns.minkube. hostmaster.minkube. 7 60 10 3600 5"}},
		{[]string{"+noedns", "web.task.minkube", "A"}, []string{"status: NOERROR"}},
		{[]string{"+tcp", "web.task.minkube", "A"}, []string{"status: NOERROR", "10.0.0.1"}},
		// dig retries over TCP on TC by itself; the answer has all 300.
		{[]string{"_http._tcp.big.svc.minkube", "SRV"}, []string{"Truncated, retrying in TCP mode.", "ANSWER: 300,"}},
	}
	for _, tc := range cases {
		out := run(tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("dig %v: output lacks %q:\n%s", tc.args, w, out)
			}
		}
	}
}

func TestServer_ListenErrors(t *testing.T) {
	srv := NewServer("127.0.0.1:0", NewHandler(mustZone(t), newFakeSource()), nil)
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.udp.Close()
	defer srv.tcp.Close()
	if _, err := NewServer(addr.String(), nil, nil).Listen(); err == nil || !strings.Contains(err.Error(), addr.String()) {
		t.Errorf("listening on a taken address: %v, want an error naming %s", err, addr)
	}
	if _, err := NewServer("nonsense", nil, nil).Listen(); err == nil || !strings.Contains(err.Error(), `"nonsense"`) {
		t.Errorf("listening on a bad address: %v, want an error naming it", err)
	}
}

func TestServer_StopsWithContext(t *testing.T) {
	srv := NewServer("127.0.0.1:0", NewHandler(mustZone(t), newFakeSource()), nil)
	bound, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	addr := bound.String()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	if _, _, err := (&dns.Client{}).ExchangeContext(t.Context(), query("minkube.", dns.TypeSOA), addr); err != nil {
		t.Fatalf("query before stop: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return after its context ended")
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Error("TCP still accepts after Start returned")
	}
}

// TestServer_SlowTCPClientIsCut: a TCP client that connects and never
// sends its query is disconnected after the read timeout, rather than
// holding a connection for good.
func TestServer_SlowTCPClientIsCut(t *testing.T) {
	addr := mustServeHandler(t, dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {}))
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// One byte of the two-byte length, then nothing.
	if _, err := conn.Write([]byte{0}); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if n, err := conn.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read = %d, %v; want the server to close the connection", n, err)
	}
}
