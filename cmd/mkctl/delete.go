package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) newDeleteCommand() *cobra.Command {
	var files fileOptions
	cmd := &cobra.Command{
		Use:   "delete (task NAME... | -f FILE|DIR|- [-R])",
		Short: "Delete Tasks by name or by manifest",
		Long: `Delete asks the manager to delete each Task named, or each Task the
manifests define, and prints "task/NAME deleted". The delete is graceful:
the Task is gone once its container has stopped. A Task that does not exist
is reported as an error; the others are still deleted.`,
		Example: `  mkctl delete task web api
  mkctl delete -f web.yaml
  mkctl get tasks -l app=web -o name | xargs mkctl delete`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var names []string
			switch {
			case len(files.files) > 0 && len(args) > 0:
				return usageErrorf(cmd.CommandPath(), "give either task NAME... or -f, not both")
			case len(files.files) == 0 && len(args) == 0:
				return usageErrorf(cmd.CommandPath(), "must specify task NAME... or -f FILE|DIR|-")
			case len(files.files) > 0:
				docs, err := files.read(c)
				if err != nil {
					return err
				}
				for _, d := range docs {
					names = append(names, d.Task.Metadata.Name)
				}
			default:
				kind, n, err := parseResourceArgs(cmd.CommandPath(), args, kindTask)
				if err != nil {
					return err
				}
				if len(n) == 0 {
					return usageErrorf(cmd.CommandPath(), "must specify the names of the %ss to delete, or -f", kind)
				}
				names = n
			}
			return c.deleteTasks(cmd.Context(), names)
		},
	}
	files.addFlags(cmd, "delete")
	return cmd
}

// deleteTasks deletes each Task named, going on after one that fails.
func (c *cli) deleteTasks(ctx context.Context, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if _, err := api.DeleteTask(ctx, name); err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printError(notFound(kindTask, name, err))
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "task/%s deleted\n", name)
	}
	if failed {
		return errReported
	}
	return nil
}
