package main

import (
	"context"
	"errors"
	"fmt"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// fileOptions are the -f and -R flags of apply and delete.
type fileOptions struct {
	files     []string
	recursive bool
}

func (o *fileOptions) addFlags(cmd *cobra.Command, verb string) {
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory of *.yaml/*.yml files, or - for standard input, whose Tasks to "+verb+" (repeatable)")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "read directories given with -f recursively")
}

// read reads every document of the -f paths. Any problem in any document
// returns a v1.DocumentErrors holding them all, and no documents.
func (o *fileOptions) read(c *cli) ([]v1.Document, error) {
	return v1.ReadManifests(o.files, o.recursive, c.in)
}

// Values of --dry-run.
const (
	dryRunNone   = "none"
	dryRunServer = "server"
)

func (c *cli) newApplyCommand() *cobra.Command {
	var files fileOptions
	var dryRun string
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|- [-R] [--dry-run=server]",
		Short: "Create or update Tasks from manifest files",
		Long: `Apply reads every document of every manifest first. If any document is
invalid it applies none of them and prints every problem as
"error: FILE: document N (Task "NAME"): FIELD: MESSAGE". Otherwise it applies
each Task in order and prints "task/NAME created", "configured" or
"unchanged".`,
		Example: `  mkctl apply -f web.yaml
  mkctl apply -f manifests/ -R
  cat web.yaml | mkctl apply -f -
  mkctl apply -f web.yaml --dry-run=server`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files.files) == 0 {
				return usageErrorf(cmd.CommandPath(), "must specify -f FILE, DIR or - (standard input)")
			}
			var dry bool
			switch dryRun {
			case dryRunNone:
			case dryRunServer:
				dry = true
			default:
				return usageErrorf(cmd.CommandPath(), "--dry-run must be %q or %q, not %q", dryRunNone, dryRunServer, dryRun)
			}
			return c.apply(cmd.Context(), &files, dry)
		},
	}
	files.addFlags(cmd, "apply")
	cmd.Flags().StringVar(&dryRun, "dry-run", dryRunNone, `"server" has the manager validate each Task and report what it would do, storing nothing`)
	return cmd
}

// apply applies every document, or none when any is invalid.
func (c *cli) apply(ctx context.Context, files *fileOptions, dryRun bool) error {
	docs, err := files.read(c)
	if err != nil {
		return err
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	suffix := ""
	if dryRun {
		suffix = " (server dry run)"
	}
	failed := false
	for _, d := range docs {
		_, result, err := api.ApplyTask(ctx, &d.Task, client.ApplyOptions{DryRun: dryRun})
		if err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printDocumentError(d, err)
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "task/%s %s%s\n", d.Task.Metadata.Name, result, suffix)
	}
	if failed {
		return errReported
	}
	return nil
}

// printDocumentError prints the manager's refusal of one document in the
// same form as a local one: a line per invalid field when the manager lists
// them.
func (c *cli) printDocumentError(d v1.Document, err error) {
	de := v1.DocumentError{File: d.File, Index: d.Index, Name: d.Task.Metadata.Name}
	var st *v1.Status
	if errors.As(err, &st) && st.Details != nil && len(st.Details.Causes) > 0 {
		for _, cause := range st.Details.Causes {
			de.Field, de.Message = cause.Field, cause.Message
			c.printError(de)
		}
		return
	}
	de.Message = err.Error()
	c.printError(de)
}
