package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

func (c *cli) newLogsCommand() *cobra.Command {
	var (
		follow, timestamps, previous bool
		tail                         int
		since                        time.Duration
		sinceTime                    string
	)
	cmd := &cobra.Command{
		Use:   "logs TASK [-f] [--tail N] [--since 5m|--since-time TIME] [--timestamps] [-p]",
		Short: "Print the output of a Task's container",
		Long: `Logs prints what the Task's container wrote to standard output and
standard error, fetched through the manager from the worker that runs it.
With -f it keeps printing new lines until the container stops or you
interrupt it (Ctrl-C). --since and --since-time keep the recent lines,
--timestamps starts each line with the time it was written, and
-p (--previous) prints what the container wrote before its last restart.`,
		Example: `  mkctl logs web
  mkctl logs web --tail 20
  mkctl logs task/web -f
  mkctl logs web --since 10m --timestamps
  mkctl logs web --previous`,
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
			opts := client.LogOptions{Follow: follow, Tail: max(tail, 0), Timestamps: timestamps, Previous: previous}
			switch {
			case since < 0:
				return usageErrorf(path, "--since must be a positive duration such as 5m")
			case since > 0 && sinceTime != "":
				return usageErrorf(path, "give --since or --since-time, not both")
			case since > 0:
				opts.SinceSeconds = int64(max(since.Round(time.Second), time.Second) / time.Second)
			case sinceTime != "":
				t, err := time.Parse(time.RFC3339, sinceTime)
				if err != nil {
					return usageErrorf(path, "--since-time %q: must be an RFC 3339 time such as 2026-01-02T15:04:05Z", sinceTime)
				}
				opts.SinceTime = &t
			}
			if previous && follow {
				return usageErrorf(path, "--previous cannot be used with -f: the previous run has ended")
			}
			return c.logs(cmd.Context(), name, opts)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the container stops or you interrupt mkctl")
	cmd.Flags().IntVar(&tail, "tail", -1, "print only the last N lines (-1: all)")
	cmd.Flags().DurationVar(&since, "since", 0, "print only the lines written in this last while, e.g. 5m")
	cmd.Flags().StringVar(&sinceTime, "since-time", "", "print only the lines written from this RFC 3339 time on")
	cmd.Flags().BoolVar(&timestamps, "timestamps", false, "start each line with the time it was written")
	cmd.Flags().BoolVarP(&previous, "previous", "p", false, "print the output of the container's runs before its last restart")
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
