package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) newVersionCommand() *cobra.Command {
	var clientOnly bool
	cmd := &cobra.Command{
		Use:   "version [--client]",
		Short: "Print the versions of mkctl and of the manager",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(c.out, "Client Version: %s\n", version)
			if clientOnly {
				return nil
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			v, err := api.Version(cmd.Context())
			if err != nil {
				return err
			}
			line := "Server Version: " + v.Version
			switch {
			case v.GitCommit != "" && v.GoVersion != "":
				line += fmt.Sprintf(" (commit %s, %s)", v.GitCommit, v.GoVersion)
			case v.GitCommit != "":
				line += fmt.Sprintf(" (commit %s)", v.GitCommit)
			}
			fmt.Fprintln(c.out, line)
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only mkctl's version, without asking the manager")
	return cmd
}
