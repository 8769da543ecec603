package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

func newDevCommand() *cobra.Command {
	var (
		mcfg         managerConfig
		wcfg         workerConfig
		manifestsDir string
	)
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run a manager and one worker in one process, on the embedded store",
		Long: "Run a manager and one worker in one process, on the embedded store in --data-dir,\n" +
			"and apply the manifests in --manifests-dir. mkctl finds it with no flags.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return ignoreCanceled(runDev(cmd.Context(), mcfg, wcfg, manifestsDir, slog.Default()))
		},
	}
	cmd.Flags().SortFlags = false
	mcfg.addFlags(cmd, ".minkube")
	wcfg.addFlags(cmd, false, "worker-listen")
	cmd.Flags().StringVar(&manifestsDir, "manifests-dir", "", "directory of Task manifests (*.yaml, *.yml) applied at start")
	return cmd
}

func runDev(ctx context.Context, mcfg managerConfig, wcfg workerConfig, manifestsDir string, log *slog.Logger) error {
	m, err := newManager(mcfg, log.With("component", "manager"))
	if err != nil {
		return err
	}
	wcfg.manager = m.url()
	wcfg.dataDir = mcfg.dataDir
	if wcfg.name == "" {
		wcfg.name = "dev"
	}
	w, err := newWorker(wcfg, m.joinToken, nil, log.With("component", "worker"))
	if err != nil {
		m.db.Close()
		m.listener.Close()
		return err
	}
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
	if manifestsDir != "" {
		if err := applyDir(ctx, m.url(), m.token, manifestsDir); err != nil {
			log.Error("applying the manifests failed", "dir", manifestsDir, "err", err)
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// applyDir applies every manifest below dir through the API, as mkctl
// apply -R would.
func applyDir(ctx context.Context, server, token, dir string) error {
	docs, err := v1.ReadManifests([]string{filepath.Clean(dir)}, true, nil)
	if err != nil {
		return err
	}
	c, err := client.New(server, token)
	if err != nil {
		return err
	}
	for _, d := range docs {
		if _, _, err := c.ApplyTask(ctx, &d.Task, client.ApplyOptions{}); err != nil {
			return fmt.Errorf("%s: document %d (Task %q): %w", d.File, d.Index, d.Task.Metadata.Name, err)
		}
	}
	slog.Info("applied manifests", "dir", dir, "tasks", len(docs))
	return nil
}
