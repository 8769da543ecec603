package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
	"github.com/minkube/minkube/store/etcd"
)

func newStoreCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Work on a manager's store",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newMigrateCommand())
	return cmd
}

func newMigrateCommand() *cobra.Command {
	var (
		from string
		cfg  storeConfig
	)
	cmd := &cobra.Command{
		Use:   "migrate --from-data-dir DIR --etcd-endpoints URL[,URL...]",
		Short: "Copy a manager's bolt store into an empty etcd, keeping names, uids and generations",
		Long: "Copy every object of the bolt store in --from-data-dir (minkube.db) into etcd, byte for byte:\n" +
			"tasks keep their names, uids, generations and statuses, and workers their credentials.\n" +
			"Stop the manager first (its file is locked while it runs). A target that holds anything\n" +
			"under --etcd-prefix is refused and left as it is.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return fmt.Errorf("--from-data-dir is required: the data dir of the manager whose bolt store is copied")
			}
			if len(cfg.endpointList()) == 0 {
				return fmt.Errorf("--etcd-endpoints is required")
			}
			log := slog.Default()
			path := filepath.Join(from, "minkube.db")
			if _, err := os.Stat(path); err != nil {
				return fmt.Errorf("--from-data-dir %s: no manager store there: %w", from, err)
			}
			src, err := bolt.Open(path, bolt.Options{Logger: log})
			if err != nil {
				return fmt.Errorf("--from-data-dir %s: %w", from, err)
			}
			defer src.Close()
			tlsCfg, err := cfg.tlsConfig()
			if err != nil {
				return err
			}
			dst, err := etcd.Open(cmd.Context(), etcd.Options{Endpoints: cfg.endpointList(), TLS: tlsCfg, Prefix: cfg.prefix, Logger: log})
			if err != nil {
				return fmt.Errorf("--etcd-endpoints: %w", err)
			}
			defer dst.Close()
			n, err := store.Migrate(cmd.Context(), dst, src)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied %d keys from %s into etcd under %s\n", n, path, cfg.prefix)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from-data-dir", "", "data dir of the manager whose bolt store is copied")
	cfg.addEtcdClientFlags(cmd)
	return cmd
}
