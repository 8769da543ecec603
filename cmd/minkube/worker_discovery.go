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
	"github.com/minkube/minkube/workerd"
)

// managerScheme is the scheme of the manager URLs an SRV set resolves to.
const managerScheme = "http"

// managerDialer returns how the worker reaches the manager API. For the
// URLs of --manager, every client shares one list of managers: the flag's,
// then what the managers' replies say is up (onManagers; the flag's stay at
// the end, so a worker never forgets where it started). For a dns+srv://
// --manager, the managers of that SRV set (asked of --dns-server), failing
// over between them; the endpoints, when not nil, are to be kept resolving
// (Start) alongside the worker.
func managerDialer(cfg workerConfig, log *slog.Logger) (workerd.ManagerDialer, func([]string), *discovery.SRVEndpoints, error) {
	if !strings.HasPrefix(cfg.manager, discovery.SRVScheme) {
		servers, err := client.NewServers(cfg.manager)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--manager %s: %w", cfg.manager, err)
		}
		flagServers := servers.List()
		dial := func(token string) (workerd.Manager, error) {
			return client.NewWithServers(servers, token, client.WithSource("from --manager"))
		}
		onManagers := func(urls []string) {
			if err := servers.Set(append(urls, flagServers...)); err != nil {
				log.Warn("ignoring the managers' list of managers", "managers", urls, "err", err)
			}
		}
		return dial, onManagers, nil, nil
	}
	eps, err := discovery.NewSRVEndpoints(cfg.manager, cfg.dnsServer, managerScheme, 0, log)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("--manager %s with --dns-server %s: %w", cfg.manager, cfg.dnsServer, err)
	}
	source := client.WithSource("from --manager " + cfg.manager)
	return func(token string) (workerd.Manager, error) {
		return workerd.NewFailoverManager(eps, func(url string) (workerd.Manager, error) {
			return client.New(url, token, source)
		}), nil
	}, nil, eps, nil
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
