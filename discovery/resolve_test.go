package discovery

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
)

func TestParseSRVURL(t *testing.T) {
	cases := []struct {
		in, want string
		notSRV   bool
		bad      bool
	}{
		{in: "dns+srv://_api._tcp.manager.minkube", want: "_api._tcp.manager.minkube."},
		{in: "dns+srv://_API._tcp.Manager.minkube./", want: "_api._tcp.manager.minkube."},
		{in: "http://127.0.0.1:7070", notSRV: true},
		{in: "_api._tcp.manager.minkube", notSRV: true},
		{in: "dns+srv://", bad: true},
		{in: "dns+srv://host:53", bad: true},
		{in: "dns+srv://a..b", bad: true},
		{in: "dns+srv://name/path", bad: true},
	}
	for _, tc := range cases {
		got, err := ParseSRVURL(tc.in)
		switch {
		case tc.notSRV:
			if !errors.Is(err, ErrNotSRVURL) {
				t.Errorf("ParseSRVURL(%q) = %q, %v; want ErrNotSRVURL", tc.in, got, err)
			}
		case tc.bad:
			if err == nil || errors.Is(err, ErrNotSRVURL) {
				t.Errorf("ParseSRVURL(%q) = %q, %v; want an error about the name", tc.in, got, err)
			}
		case err != nil || got != tc.want:
			t.Errorf("ParseSRVURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func hosts(ts []Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Host)
	}
	return out
}

func TestOrder(t *testing.T) {
	tg := func(host string, prio, weight uint16) Target {
		return Target{Host: host, Priority: prio, Weight: weight}
	}
	cases := []struct {
		name    string
		targets []Target
		rnd     []int // the numbers rnd returns, in turn
		want    []string
	}{
		{"priority first, whatever the weight", []Target{tg("b", 20, 100), tg("a", 10, 1)}, nil, []string{"a", "b"}},
		{"the draw picks by running sum: 0 falls in a's share", []Target{tg("a", 0, 3), tg("b", 0, 1)}, []int{0}, []string{"a", "b"}},
		{"the draw picks by running sum: 3 falls in b's share", []Target{tg("a", 0, 3), tg("b", 0, 1)}, []int{3}, []string{"b", "a"}},
		{"zero weight comes after every weighted target", []Target{tg("z", 0, 0), tg("a", 0, 5), tg("b", 0, 5)}, []int{7, 0}, []string{"b", "a", "z"}},
		{"all zero weights keep the server's order", []Target{tg("a", 0, 0), tg("b", 0, 0)}, nil, []string{"a", "b"}},
		{"each priority is drawn on its own", []Target{tg("c", 2, 1), tg("a", 1, 1), tg("d", 2, 1), tg("b", 1, 1)}, []int{1, 1}, []string{"b", "a", "d", "c"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			i := 0
			rnd := func(n int) int {
				if i >= len(tc.rnd) {
					t.Fatalf("rnd called %d times, only %d numbers given", i+1, len(tc.rnd))
				}
				v := tc.rnd[i]
				i++
				if v >= n {
					t.Fatalf("test gives %d for rnd(%d)", v, n)
				}
				return v
			}
			if got := hosts(Order(tc.targets, rnd)); !slices.Equal(got, tc.want) {
				t.Errorf("Order = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestOrder_WeightShares draws many times with a fixed seed: a target with
// three times the weight of another comes first about three times as often.
func TestOrder_WeightShares(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	targets := []Target{{Host: "heavy", Weight: 3}, {Host: "light", Weight: 1}}
	first := map[string]int{}
	for range 10000 {
		first[Order(targets, r.IntN)[0].Host]++
	}
	if share := float64(first["heavy"]) / 10000; share < 0.72 || share > 0.78 {
		t.Errorf("heavy came first %.1f%% of the time, want about 75%%", 100*share)
	}
}

func TestURLs(t *testing.T) {
	got := URLs("http", []Target{
		{Port: 7070, Addrs: []net.IP{net.ParseIP("10.0.0.1"), net.ParseIP("fd00::1")}},
		{Port: 7443, Addrs: []net.IP{net.ParseIP("10.0.0.2")}},
	})
	want := []string{"http://10.0.0.1:7070", "http://[fd00::1]:7070", "http://10.0.0.2:7443"}
	if !slices.Equal(got, want) {
		t.Errorf("URLs = %v, want %v", got, want)
	}
}

func TestResolverLookupSRV(t *testing.T) {
	src := newFakeSource()
	for i := range 60 {
		src.managers = append(src.managers, Manager{Name: fmt.Sprintf("manager-%02d", i), Address: fmt.Sprintf("10.0.2.%d:7070", i+1)})
	}
	addr := mustServe(t, src)
	r := Resolver{Server: addr}
	// 60 targets with their addresses need more than 1232 bytes: the
	// resolver must ask again over TCP.
	ts, err := r.LookupSRV(t.Context(), "_api._tcp.manager.minkube")
	if err != nil || len(ts) != 60 {
		t.Fatalf("LookupSRV: %d targets, %v; want 60", len(ts), err)
	}
	for _, tg := range ts {
		if len(tg.Addrs) != 1 || tg.Port != 7070 {
			t.Fatalf("target %+v: want one address and port 7070", tg)
		}
	}

	if _, err := r.LookupSRV(t.Context(), "_api._tcp.nothing.minkube"); !errors.Is(err, ErrNoRecords) {
		t.Errorf("LookupSRV of a missing name: %v, want ErrNoRecords", err)
	}
	if _, err := r.LookupSRV(t.Context(), "_api._tcp.example.com"); !errors.Is(err, ErrLookup) {
		t.Errorf("LookupSRV of a name the server refuses: %v, want ErrLookup", err)
	}
}

// TestResolverLookupSRV_TargetsWithoutGlue: a server that gives no
// additional records makes the resolver ask for the targets' addresses.
func TestResolverLookupSRV_TargetsWithoutGlue(t *testing.T) {
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		q := req.Question[0]
		switch {
		case q.Qtype == dns.TypeSRV:
			resp.Answer = []dns.RR{
				&dns.SRV{Hdr: hdr(q.Name, dns.TypeSRV, 5), Port: 7070, Target: "a.example."},
				&dns.SRV{Hdr: hdr(q.Name, dns.TypeSRV, 5), Port: 7070, Target: "noaddr.example."},
			}
		case q.Qtype == dns.TypeA && q.Name == "a.example.":
			resp.Answer = []dns.RR{addrRR(q.Name, net.ParseIP("10.9.9.9"), 5)}
		}
		_ = w.WriteMsg(resp)
	})
	ts, err := Resolver{Server: mustServeHandler(t, mux)}.LookupSRV(t.Context(), "_x._tcp.example")
	if err != nil || len(ts) != 1 || ts[0].Host != "a.example." || !ts[0].Addrs[0].Equal(net.ParseIP("10.9.9.9")) {
		t.Fatalf("LookupSRV = %+v, %v; want a.example. at 10.9.9.9 only", ts, err)
	}
}

func TestSRVEndpoints(t *testing.T) {
	src := newFakeSource()
	src.managers = []Manager{{Name: "m1", Address: "127.0.0.1:7070"}}
	addr := mustServe(t, src)
	eps, err := NewSRVEndpoints("dns+srv://_api._tcp.manager.minkube", addr, "http", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := eps.Endpoints(); len(got) != 0 {
		t.Fatalf("Endpoints before any resolution = %v, want none", got)
	}
	urls, err := eps.Refresh(t.Context())
	if err != nil || !slices.Equal(urls, []string{"http://127.0.0.1:7070"}) {
		t.Fatalf("Refresh = %v, %v", urls, err)
	}
	// A second manager comes up; a refresh within a second asks nothing.
	src.setManagers(Manager{Name: "m1", Address: "127.0.0.1:7070"}, Manager{Name: "m2", Address: "127.0.0.2:7070"})
	if urls, _ := eps.Refresh(t.Context()); len(urls) != 1 {
		t.Fatalf("Refresh within a second = %v, want the last answer", urls)
	}
	eps.mu.Lock()
	eps.last = eps.last.Add(-minRefreshGap)
	eps.mu.Unlock()
	if urls, _ := eps.Refresh(t.Context()); len(urls) != 2 {
		t.Fatalf("Refresh = %v, want both managers", urls)
	}
	// The name disappears: the last good endpoints stay, with the error.
	src.setManagers()
	eps.mu.Lock()
	eps.last = eps.last.Add(-minRefreshGap)
	eps.mu.Unlock()
	urls, err = eps.Refresh(t.Context())
	if !errors.Is(err, ErrNoRecords) || len(urls) != 2 || len(eps.Endpoints()) != 2 {
		t.Fatalf("Refresh after the managers went = %v, %v; want the last 2 and ErrNoRecords", urls, err)
	}

	for _, bad := range [][2]string{{"http://x:7070", addr}, {"dns+srv://_api._tcp.manager.minkube", "no-port"}} {
		if _, err := NewSRVEndpoints(bad[0], bad[1], "http", 0, nil); err == nil {
			t.Errorf("NewSRVEndpoints(%q, %q): no error", bad[0], bad[1])
		}
	}
}

func TestNewZone(t *testing.T) {
	for _, tc := range []struct {
		domain string
		ttl    time.Duration
		want   string
		err    error
	}{
		{"minkube", 5 * time.Second, "minkube.", nil},
		{"Cluster.Example.", time.Second, "cluster.example.", nil},
		{"a..b", 5 * time.Second, "", ErrDomain},
		{".", 5 * time.Second, "", ErrDomain},
		{"", 5 * time.Second, "", ErrDomain},
		{"minkube.", 0, "", ErrTTL},
		{"minkube.", 25 * time.Hour, "", ErrTTL},
	} {
		z, err := NewZone(tc.domain, tc.ttl)
		if !errors.Is(err, tc.err) || z.Domain != tc.want {
			t.Errorf("NewZone(%q, %s) = %q, %v; want %q, %v", tc.domain, tc.ttl, z.Domain, err, tc.want, tc.err)
		}
	}
}
