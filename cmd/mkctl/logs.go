package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

func (c *cli) newLogsCommand() *cobra.Command {
	var (
		follow bool
		tail   int
	)
	cmd := &cobra.Command{
		Use:   "logs TASK [-f] [--tail N]",
		Short: "Print the output of a Task's container",
		Long: `Logs prints what the Task's container wrote to standard output and
standard error, fetched through the manager from the worker that runs it.
With -f it keeps printing new lines until the container stops or you
interrupt it (Ctrl-C).`,
		Example: `  mkctl logs web
  mkctl logs web --tail 20
  mkctl logs task/web -f`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			if len(args) != 1 {
				return usageErrorf(path, "logs takes exactly one Task name, got %d arguments", len(args))
			}
			name := args[0]
			if strings.Contains(name, "/") {
				_, names, err := parseResourceArgs(path, args, kindTask)
				if err != nil {
					return err
				}
				name = names[0]
			}
			if tail == 0 || tail < -1 {
				return usageErrorf(path, "--tail must be a positive number of lines, or -1 for all of them")
			}
			return c.logs(cmd.Context(), name, client.LogOptions{Follow: follow, Tail: max(tail, 0)})
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the container stops or you interrupt mkctl")
	cmd.Flags().IntVar(&tail, "tail", -1, "print only the last N lines (-1: all)")
	return cmd
}

// logs copies the Task's log to stdout.
func (c *cli) logs(ctx context.Context, name string, opts client.LogOptions) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	rc, err := api.TaskLogs(ctx, name, opts)
	if err != nil {
		return notFound(kindTask, name, err)
	}
	defer rc.Close()
	if _, err := io.Copy(c.out, rc); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted: the usual end of -f
		}
		var ue *client.UnreachableError
		if errors.As(err, &ue) {
			return err
		}
		return fmt.Errorf("logs of task %q broke off: %w", name, err)
	}
	return nil
}
