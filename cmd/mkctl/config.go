package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/minkube/minkube/client"
)

func (c *cli) newConfigCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config get-contexts|current-context|use-context NAME|view [--raw]",
		Short: "Show and switch the contexts of the config file",
		Long: `Config shows and changes mkctl's config file: $MINKUBE_CONFIG, or
~/.minkube/config. It holds clusters (each with its managers' addresses, the
CA that verifies them and its admin token), contexts that name a cluster,
and the current context.
Every manager adds its own cluster to the file when it starts, and changes
no other.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var raw bool
	view := &cobra.Command{
		Use:   "view [--raw]",
		Short: "Print the config file, tokens redacted unless --raw",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, _, err := loadConfig()
			if err != nil {
				return err
			}
			if !raw {
				cfg = cfg.Redacted()
			}
			data, err := yaml.Marshal(cfg)
			if err != nil {
				return fmt.Errorf("encode config: %w", err)
			}
			_, err = c.out.Write(data)
			return err
		},
	}
	view.Flags().BoolVar(&raw, "raw", false, "print the tokens too")
	getContexts := &cobra.Command{
		Use:   "get-contexts",
		Short: "List the contexts; * marks the current one",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, path, err := loadConfig()
			if err != nil {
				return err
			}
			if len(cfg.Contexts) == 0 {
				fmt.Fprintf(c.errOut, "No contexts in %s.\n", path)
				return nil
			}
			rows := make([][]string, 0, len(cfg.Contexts))
			for _, ctx := range cfg.Contexts {
				mark := ""
				if ctx.Name == cfg.CurrentContext {
					mark = "*"
				}
				servers := none
				if cl := cfg.Cluster(ctx.Cluster); cl != nil && len(cl.Servers) > 0 {
					servers = strings.Join(cl.Servers, ",")
				}
				rows = append(rows, []string{mark, ctx.Name, ctx.Cluster, servers})
			}
			return printer{}.printTable(c.out, []string{"CURRENT", "NAME", "CLUSTER", "SERVERS"}, rows)
		},
	}
	useContext := &cobra.Command{
		Use:               "use-context NAME",
		Short:             "Make NAME the current context",
		ValidArgsFunction: completeContexts,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf(cmd.CommandPath(), "use-context takes one context name")
			}
			path, err := client.ConfigPath()
			if err != nil {
				return err
			}
			if err := client.UpdateConfig(path, func(cfg *client.Config) error { return cfg.UseContext(args[0]) }); err != nil {
				return err
			}
			fmt.Fprintf(c.out, "Switched to context %q.\n", args[0])
			return nil
		},
	}
	currentContext := &cobra.Command{
		Use:   "current-context",
		Short: "Print the current context",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			cfg, path, err := loadConfig()
			if err != nil {
				return err
			}
			if cfg.CurrentContext == "" {
				return fmt.Errorf("no current context in %s", path)
			}
			fmt.Fprintln(c.out, cfg.CurrentContext)
			return nil
		},
	}
	cmd.AddCommand(getContexts, currentContext, useContext, view)
	return cmd
}

// loadConfig reads the config file; a missing one is an empty config.
func loadConfig() (client.Config, string, error) {
	path, err := client.ConfigPath()
	if err != nil {
		return client.Config{}, "", err
	}
	cfg, err := client.LoadConfig(path)
	if err != nil && !isNotExist(err) {
		return client.Config{}, path, err
	}
	return cfg, path, nil
}

// completeContexts completes the context names of the config file.
func completeContexts(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	cfg, _, err := loadConfig()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	return cfg.ContextNames(), cobra.ShellCompDirectiveNoFileComp
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
