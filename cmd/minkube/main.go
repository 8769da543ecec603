// Command minkube runs Minkube's daemons: the manager, the worker (workerd)
// and dev, a manager and a worker in one process for a laptop. It holds
// flags and wiring only.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/minkube/minkube/cmd/internal/buildinfo"
)

// version and gitCommit are set at build time with -ldflags -X; without,
// buildinfo reads what the toolchain recorded.
var (
	version   = buildinfo.UnsetVersion
	gitCommit = buildinfo.UnsetCommit
)

func main() {
	ctx, stop := signalContext()
	defer stop()
	root := newRootCommand()
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		os.Exit(1)
	}
}

// signalContext ends the context on the first SIGINT or SIGTERM; a second
// one exits at once.
func signalContext() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		fmt.Fprintln(os.Stderr, "shutting down (again to force)")
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}

func newRootCommand() *cobra.Command {
	var logLevel string
	root := &cobra.Command{
		Use:           "minkube",
		Short:         "Minkube runs Docker containers from Task manifests, Kubernetes-style",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       buildinfo.String(buildinfo.Get(version, gitCommit)),
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level %q: must be debug, info, warn or error", logLevel)
			}
			slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})))
			return nil
		},
	}
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w (see '%s --help')", err, cmd.CommandPath())
	})
	root.AddCommand(newManagerCommand(), newWorkerCommand(), newDevCommand(), newVersionCommand(), newStoreCommand(), newTokenCommand())
	return root
}

// parseLabels parses "k=v,k2=v2".
func parseLabels(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--labels: %q is not KEY=VALUE", kv)
		}
		out[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return out, nil
}

// ignoreCanceled treats a context ending as a clean stop.
func ignoreCanceled(err error) error {
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// newVersionCommand prints the build, as --version does, or as JSON.
func newVersionCommand() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version [-o json]",
		Short: "Print the version of minkube (the same as --version)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildinfo.Get(version, gitCommit)
			switch output {
			case "":
				fmt.Fprintln(cmd.OutOrStdout(), "minkube version "+buildinfo.String(v))
			case "json":
				data, _ := json.MarshalIndent(v, "", "    ") // a VersionInfo always encodes
				fmt.Fprintln(cmd.OutOrStdout(), string(data))
			default:
				return fmt.Errorf("-o %q: use json, or leave it out", output)
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "json: print the build as JSON")
	return cmd
}
