package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"

	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/workerd"
)

// managerScheme is the scheme of the manager URLs an SRV set resolves to.
const managerScheme = "https"

// managerDialer returns how the worker reaches the manager API: every
// client shares one list of managers (client.Servers), whose base is the
// URLs of --manager, or the SRV set of a dns+srv:// --manager (asked of
// --dns-server; the endpoints, when not nil, are to be kept resolving
// alongside the worker), and which learns what the managers' replies say
// is up (onManagers). Every client verifies the manager against the CA
// the join token pins, before it sends anything.
func managerDialer(cfg workerConfig, join pki.JoinToken, log *slog.Logger) (workerd.ManagerDialer, func([]string), *discovery.SRVEndpoints, error) {
	var (
		servers *client.Servers
		eps     *discovery.SRVEndpoints
		err     error
		source  = "from --manager"
	)
	if strings.HasPrefix(cfg.manager, discovery.SRVScheme) {
		eps, err = discovery.NewSRVEndpoints(cfg.manager, cfg.dnsServer, managerScheme, 0, log)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--manager %s with --dns-server %s: %w", cfg.manager, cfg.dnsServer, err)
		}
		servers, source = client.NewServersFrom(eps), "from --manager "+cfg.manager
	} else {
		if servers, err = client.NewServers(cfg.manager); err != nil {
			return nil, nil, nil, fmt.Errorf("--manager %s: %w", cfg.manager, err)
		}
		for _, u := range servers.List() {
			if host, ok := strings.CutPrefix(u, "http://"); ok {
				return nil, nil, nil, fmt.Errorf("--manager %s: the manager serves HTTPS, and the worker sends nothing in clear: use https://%s", cfg.manager, host)
			}
		}
	}
	opts := []client.Option{client.WithSource(source), client.WithTLS(client.TLS{CAHash: join.CAHash})}
	dial := func(token string) (workerd.Manager, error) {
		return client.NewWithServers(servers, token, opts...)
	}
	onManagers := func(urls []string) {
		if err := servers.Learn(urls); err != nil {
			log.Warn("ignoring the managers' list of managers", "managers", urls, "err", err)
		}
	}
	return dial, onManagers, eps, nil
}

// containerDNS is the resolver the worker gives its containers: the zone
// --dns-domain, asked of --dns-server; none when --dns-server is empty.
func (c workerConfig) containerDNS() (workerd.ContainerDNS, error) {
	if c.dnsServer == "" {
		return workerd.ContainerDNS{}, nil
	}
	if _, _, err := net.SplitHostPort(c.dnsServer); err != nil {
		return workerd.ContainerDNS{}, fmt.Errorf("--dns-server %q: %w", c.dnsServer, err)
	}
	z, err := discovery.NewZone(c.dnsDomain, discovery.DefaultTTL)
	if err != nil {
		return workerd.ContainerDNS{}, fmt.Errorf("--dns-domain %q: %w", c.dnsDomain, discovery.ErrDomain)
	}
	return workerd.ContainerDNS{Server: c.dnsServer, Zone: z}, nil
}

// workerProc is a worker with what runs beside it.
type workerProc struct {
	*workerd.Worker
	endpoints *discovery.SRVEndpoints // nil unless --manager is dns+srv://
}

// Start runs the worker, and keeps its manager endpoints resolved, until
// ctx ends.
func (p *workerProc) Start(ctx context.Context) error {
	if p.endpoints == nil {
		return p.Worker.Start(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { _ = p.endpoints.Start(ctx) })
	defer wg.Wait()
	defer cancel()
	return p.Worker.Start(ctx)
}
