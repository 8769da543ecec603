package main

import (
	"fmt"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/cmd/internal/buildinfo"
)

// versions is what mkctl version -o json|yaml prints, in kubectl's shape.
type versions struct {
	ClientVersion v1.VersionInfo  `json:"clientVersion"`
	ServerVersion *v1.VersionInfo `json:"serverVersion,omitempty"`
}

func (c *cli) newVersionCommand() *cobra.Command {
	var (
		clientOnly bool
		output     string
	)
	cmd := &cobra.Command{
		Use:   "version [--client] [-o json|yaml]",
		Short: "Print the versions of mkctl and of the manager",
		Long: `Version prints mkctl's build and the manager's: the release, the commit and
the Go version. A binary built with go install reports its module version
and VCS revision.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			format := outputFormat(output)
			if format != outputTable && format != outputJSON && format != outputYAML {
				return usageErrorf(cmd.CommandPath(), "-o must be json or yaml, not %q", output)
			}
			v := versions{ClientVersion: buildinfo.Get(version, gitCommit)}
			if !clientOnly {
				api, err := c.client()
				if err != nil {
					return err
				}
				if v.ServerVersion, err = api.Version(cmd.Context()); err != nil {
					return err
				}
			}
			if format != outputTable {
				return printObject(c.out, format, v)
			}
			fmt.Fprintln(c.out, "Client Version: "+buildinfo.String(v.ClientVersion))
			if v.ServerVersion != nil {
				fmt.Fprintln(c.out, "Server Version: "+buildinfo.String(*v.ServerVersion))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only mkctl's version, without asking the manager")
	cmd.Flags().StringVarP(&output, "output", "o", "", "json or yaml")
	return cmd
}
