package discovery

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// SRVScheme starts a manager address that names an SRV record set.
const SRVScheme = "dns+srv://"

// Re-resolution of SRVEndpoints.
const (
	// DefaultResolvePeriod is how often the SRV set is resolved again.
	DefaultResolvePeriod = 30 * time.Second
	// minRefreshGap keeps failing calls from asking the DNS server more
	// than once a second.
	minRefreshGap = time.Second
	// lookupTimeout bounds one exchange with the DNS server.
	lookupTimeout = 2 * time.Second
)

// ParseSRVURL returns the SRV name, fully qualified, of a dns+srv://NAME
// address. It returns an error wrapping ErrNotSRVURL when addr is not one.
func ParseSRVURL(addr string) (string, error) {
	rest, ok := strings.CutPrefix(addr, SRVScheme)
	if !ok {
		return "", fmt.Errorf("%q: %w", addr, ErrNotSRVURL)
	}
	rest = strings.TrimSuffix(rest, "/")
	name := dns.Fqdn(rest)
	if _, ok := dns.IsDomainName(name); !ok || name == "." || strings.Contains(name, "..") || strings.ContainsAny(rest, "/?#:@") {
		return "", fmt.Errorf("%q: %q is not a DNS name", addr, rest)
	}
	return strings.ToLower(name), nil
}

// Target is one SRV record and the addresses of its target.
type Target struct {
	Priority, Weight, Port uint16
	// Host is the target's name.
	Host string
	// Addrs are the target's addresses, from the answer's additional
	// section or from A and AAAA lookups.
	Addrs []net.IP
}

// Resolver asks one DNS server, over UDP and again over TCP when the answer
// is truncated.
type Resolver struct {
	// Server is host:port of the DNS server.
	Server string
}

// LookupSRV returns the SRV records at name with their targets' addresses,
// in the order the server gave them; targets without an address are left
// out. It returns an error wrapping ErrNoRecords when none is left, or
// ErrLookup when the server cannot be asked.
func (r Resolver) LookupSRV(ctx context.Context, name string) ([]Target, error) {
	resp, err := r.exchange(ctx, dns.Fqdn(name), dns.TypeSRV)
	if err != nil {
		return nil, err
	}
	extra := map[string][]net.IP{}
	for _, rr := range resp.Extra {
		host := strings.ToLower(rr.Header().Name)
		switch a := rr.(type) {
		case *dns.A:
			extra[host] = append(extra[host], a.A)
		case *dns.AAAA:
			extra[host] = append(extra[host], a.AAAA)
		}
	}
	var out []Target
	for _, rr := range resp.Answer {
		srv, ok := rr.(*dns.SRV)
		if !ok {
			continue
		}
		t := Target{Priority: srv.Priority, Weight: srv.Weight, Port: srv.Port, Host: srv.Target}
		t.Addrs = extra[strings.ToLower(srv.Target)]
		if len(t.Addrs) == 0 {
			t.Addrs = r.lookupAddrs(ctx, srv.Target)
		}
		if len(t.Addrs) > 0 {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("SRV %s at %s: no target with an address: %w", name, r.Server, ErrNoRecords)
	}
	return out, nil
}

// lookupAddrs returns the A and AAAA addresses of host; none on any error.
func (r Resolver) lookupAddrs(ctx context.Context, host string) []net.IP {
	var ips []net.IP
	for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
		resp, err := r.exchange(ctx, host, qtype)
		if err != nil {
			continue
		}
		for _, rr := range resp.Answer {
			switch a := rr.(type) {
			case *dns.A:
				ips = append(ips, a.A)
			case *dns.AAAA:
				ips = append(ips, a.AAAA)
			}
		}
	}
	return ips
}

// exchange asks the server over UDP, and over TCP when the answer is
// truncated. NXDOMAIN is ErrNoRecords; other failures are ErrLookup.
func (r Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	q.SetEdns0(advertisedUDPSize, false)
	what := dns.TypeToString[qtype] + " " + name + " at " + r.Server
	ctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	defer cancel()
	resp, err := exchange(ctx, r.Server, q)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s: %w: %w", what, ErrLookup, err)
	case resp.Rcode == dns.RcodeNameError:
		return nil, fmt.Errorf("%s: NXDOMAIN: %w", what, ErrNoRecords)
	case resp.Rcode != dns.RcodeSuccess:
		return nil, fmt.Errorf("%s: %s: %w", what, dns.RcodeToString[resp.Rcode], ErrLookup)
	}
	return resp, nil
}

// Order returns targets in the order RFC 2782 says to try them: lowest
// priority first, and within a priority a weighted random order, where a
// target's chance to come next is its weight over the sum of the weights
// left (zero-weight targets come last). rnd returns a number in [0, n).
func Order(targets []Target, rnd func(n int) int) []Target {
	out := slices.Clone(targets)
	slices.SortStableFunc(out, func(a, b Target) int { return cmp.Compare(a.Priority, b.Priority) })
	for start := 0; start < len(out); {
		end := start
		for end < len(out) && out[end].Priority == out[start].Priority {
			end++
		}
		shuffleByWeight(out[start:end], rnd)
		start = end
	}
	return out
}

// shuffleByWeight orders one priority's targets by weighted random choice.
func shuffleByWeight(ts []Target, rnd func(n int) int) {
	sum := 0
	for _, t := range ts {
		sum += int(t.Weight)
	}
	for sum > 0 && len(ts) > 1 {
		n, s := rnd(sum), 0
		for i := range ts {
			s += int(ts[i].Weight)
			if s > n {
				ts[0], ts[i] = ts[i], ts[0]
				break
			}
		}
		sum -= int(ts[0].Weight)
		ts = ts[1:]
	}
}

// URLs turns ordered targets into base URLs of scheme ("http"), one per
// address of each target, in order.
func URLs(scheme string, targets []Target) []string {
	var out []string
	for _, t := range targets {
		for _, ip := range t.Addrs {
			out = append(out, scheme+"://"+net.JoinHostPort(ip.String(), strconv.Itoa(int(t.Port))))
		}
	}
	return out
}

// SRVEndpoints keeps the manager URLs of a dns+srv:// address: the SRV set
// resolved and ordered (Order), resolved again every period and on Refresh.
// It is safe for concurrent use.
type SRVEndpoints struct {
	name     string
	scheme   string
	resolver Resolver
	period   time.Duration
	log      *slog.Logger

	mu     sync.Mutex
	urls   []string
	last   time.Time // of the last resolution, good or not
	rnd    *rand.Rand
	lookup sync.Mutex // one resolution at a time
}

// NewSRVEndpoints returns the endpoints of addr (dns+srv://NAME), resolved
// with the DNS server at server into URLs of scheme. It resolves nothing
// yet. A period of 0 means DefaultResolvePeriod; a nil logger
// slog.Default().
func NewSRVEndpoints(addr, server, scheme string, period time.Duration, logger *slog.Logger) (*SRVEndpoints, error) {
	name, err := ParseSRVURL(addr)
	if err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(server); err != nil {
		return nil, fmt.Errorf("DNS server %q: %w", server, err)
	}
	if period <= 0 {
		period = DefaultResolvePeriod
	}
	if logger == nil {
		logger = slog.Default()
	}
	return &SRVEndpoints{
		name: name, scheme: scheme, resolver: Resolver{Server: server}, period: period, log: logger,
		rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}, nil
}

// Endpoints returns the URLs of the last good resolution, best first.
func (e *SRVEndpoints) Endpoints() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.urls)
}

// Refresh resolves the SRV set again, unless it was resolved less than a
// second ago, and returns the URLs, best first. When the lookup fails the
// last good URLs stay and the error is returned with them.
func (e *SRVEndpoints) Refresh(ctx context.Context) ([]string, error) {
	e.lookup.Lock()
	defer e.lookup.Unlock()
	e.mu.Lock()
	recent := !e.last.IsZero() && time.Since(e.last) < minRefreshGap
	e.mu.Unlock()
	if recent {
		return e.Endpoints(), nil
	}
	targets, err := e.resolver.LookupSRV(ctx, e.name)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.last = time.Now()
	if err != nil {
		return slices.Clone(e.urls), fmt.Errorf("resolve %s%s: %w", SRVScheme, strings.TrimSuffix(e.name, "."), err)
	}
	urls := URLs(e.scheme, Order(targets, e.rnd.IntN))
	if !sameSet(urls, e.urls) {
		e.log.Info("manager endpoints resolved", "srv", e.name, "dns-server", e.resolver.Server, "endpoints", urls)
	}
	e.urls = urls
	return slices.Clone(urls), nil
}

// Start resolves at once and then every period until ctx ends.
func (e *SRVEndpoints) Start(ctx context.Context) error {
	t := time.NewTicker(e.period)
	defer t.Stop()
	for {
		if _, err := e.Refresh(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("resolving the managers failed; keeping the last endpoints", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sameSet reports whether a and b hold the same URLs in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
