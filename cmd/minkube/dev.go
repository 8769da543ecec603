package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"

	"github.com/spf13/cobra"
)

func newDevCommand() *cobra.Command {
	var (
		mcfg managerConfig
		wcfg workerConfig
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a manager and one worker in one process, on the embedded store",
		Long: "Run a manager and one worker in one process, on the embedded store in --data-dir,\n" +
			"and keep the store in step with the manifests in --manifests-dir. mkctl finds it with no flags.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ignoreCanceled(runDev(cmd.Context(), mcfg, wcfg, slog.Default(), os.Stderr))
		},
	}
	cmd.Flags().SortFlags = false
	mcfg.addFlags(cmd, ".minkube", "dev")
	wcfg.addFlags(cmd, false, "worker-listen")
	// On a laptop the worker is "dev", not the host's name (one name
	// everywhere, as the README's tour shows), and Task ports are
	// published on the loopback address only.
	name := cmd.Flags().Lookup("name")
	name.Usage, name.DefValue, wcfg.name = "worker name, unique in the cluster", "dev", "dev"
	hostIP := cmd.Flags().Lookup("port-host-ip")
	hostIP.DefValue, wcfg.portHostIP = "127.0.0.1", "127.0.0.1"
	return cmd
}

// runDev runs a manager and a worker; it tells stderr where the dashboard
// is.
func runDev(ctx context.Context, mcfg managerConfig, wcfg workerConfig, log *slog.Logger, stderr io.Writer) error {
	m, err := newManager(ctx, mcfg, log.With("component", "manager"))
	if err != nil {
		return err
	}
	wcfg.manager = m.url()
	wcfg.dnsServer, wcfg.dnsDomain = m.dnsAddr(), mcfg.dns.domain
	wcfg.dataDir = mcfg.dataDir
	wcfg.metricsToken, wcfg.pprof = m.metricsToken, mcfg.pprof
	if wcfg.name == "" {
		wcfg.name = "dev"
	}
	w, err := newWorker(wcfg, m.join, nil, log.With("component", "worker"))
	if err != nil {
		m.closeUnstarted()
		return err
	}
	fmt.Fprintf(stderr, "\nDashboard: %s (run `mkctl dashboard` to open it signed in)\n\n", m.dashboardURL())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, start := range []func(context.Context) error{m.run, w.Start} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = start(ctx); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
