package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/discovery"
)

// dnsConfig holds the manager's DNS flags.
type dnsConfig struct {
	listen string
	domain string
	ttl    time.Duration
}

func (c *dnsConfig) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.listen, "dns-listen", discovery.DefaultListen, `address (UDP and TCP) of the DNS server for the cluster zone; "" turns it off`)
	f.StringVar(&c.domain, "dns-domain", discovery.DefaultDomain, "the cluster zone: NAME.task.DOMAIN, VALUE.svc.DOMAIN, NAME.worker.DOMAIN, _api._tcp.manager.DOMAIN")
	f.DurationVar(&c.ttl, "dns-ttl", discovery.DefaultTTL, "TTL of the DNS records, and the negative TTL")
}

// zone checks the DNS flags and returns the zone.
func (c *dnsConfig) zone() (discovery.Zone, error) {
	z, err := discovery.NewZone(c.domain, c.ttl)
	switch {
	case errors.Is(err, discovery.ErrTTL):
		return z, fmt.Errorf("--dns-ttl %s: %w", c.ttl, discovery.ErrTTL)
	case err != nil:
		return z, fmt.Errorf("--dns-domain %q: %w", c.domain, discovery.ErrDomain)
	}
	return z, nil
}

// endpoints lists the services as the manager's DNS serves them; with DNS
// off, without the domain (names that nothing answers).
func (m *manager) endpoints(service, task string) v1.EndpointsList {
	list := m.zone.Endpoints(m.dnsSource, service, task)
	if m.dns == nil {
		list.Domain = ""
		for i := range list.Items {
			list.Items[i].DNSName = ""
		}
	}
	return list
}

// newDNSServer binds the manager's DNS server of the zone built from src;
// it returns nil when --dns-listen is empty.
func newDNSServer(cfg dnsConfig, src discovery.Source, log *slog.Logger) (*discovery.Server, discovery.Zone, error) {
	z, err := cfg.zone()
	if err != nil {
		return nil, z, err
	}
	if cfg.listen == "" {
		return nil, z, nil
	}
	if ip := listenIP(cfg.listen); ip != nil {
		z.NS = []net.IP{ip}
	}
	srv := discovery.NewServer(cfg.listen, discovery.NewHandler(z, src), log.With("server", "dns"))
	if _, err := srv.Listen(); err != nil {
		return nil, z, fmt.Errorf("--dns-listen %s: %w", cfg.listen, err)
	}
	return srv, z, nil
}

// dnsManagers serves the managers that are up (the etcd registry, or this
// manager alone on bolt) to the DNS server as host:port addresses. Both
// lists are held in memory, so a query never waits on the store.
type dnsManagers struct{ managers apiserver.Managers }

// Managers implements discovery.Managers.
func (d dnsManagers) Managers() []discovery.Manager {
	list, err := d.managers.Managers(context.Background())
	if err != nil {
		return nil
	}
	out := make([]discovery.Manager, 0, len(list))
	for _, m := range list {
		u, err := url.Parse(m.Address)
		if err != nil || u.Host == "" {
			continue
		}
		out = append(out, discovery.Manager{Name: m.Name, Address: u.Host})
	}
	return out
}

// listenIP is the IP of a listen address, nil when it is every address.
func listenIP(addr string) net.IP {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsUnspecified() {
		return nil
	}
	return ip
}
