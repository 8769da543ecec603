package main

import (
	"context"
	"fmt"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// getOptions are the flags of get.
type getOptions struct {
	output    string
	selector  string
	noHeaders bool
}

func (c *cli) newGetCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get (tasks|task NAME...|workers|worker NAME...) [-o wide|json|yaml|name] [-l SELECTOR] [--no-headers]",
		Short: "Show Tasks or workers",
		Long: `Get lists Tasks or workers, or shows those named, as a table (-o wide adds
columns), as JSON or YAML (one object when one was named, a TaskList or
WorkerList otherwise), or as TYPE/NAME lines (-o name).`,
		Example: `  mkctl get tasks
  mkctl get tasks -l app=web -o wide
  mkctl get task web -o yaml
  mkctl get workers`,
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, names, err := parseResourceArgs(cmd.CommandPath(), args, kindTask, kindWorker)
			if err != nil {
				return err
			}
			format, err := parseOutput(o.output)
			if err != nil {
				return &usageError{commandPath: cmd.CommandPath(), err: err}
			}
			if len(names) > 0 && o.selector != "" {
				return usageErrorf(cmd.CommandPath(), "names and a selector (-l) cannot be used together")
			}
			if kind == kindWorker && o.selector != "" {
				return usageErrorf(cmd.CommandPath(), "workers cannot be selected by label (-l)")
			}
			p := printer{format: format, noHeaders: o.noHeaders, now: time.Now()}
			if kind == kindWorker {
				return c.getWorkers(cmd.Context(), p, names)
			}
			return c.getTasks(cmd.Context(), p, names, o.selector)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, json, yaml or name")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector of the Tasks to list, e.g. app=web,tier!=db")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print tables without their header line")
	return cmd
}

// getTasks prints the Tasks named, or those the selector matches.
func (c *cli) getTasks(ctx context.Context, p printer, names []string, selector string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListTasks(ctx, client.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if c.noneFound(p, len(list.Items), "tasks") {
			return nil
		}
		return p.printTasks(c.out, list, false)
	}
	list := &v1.TaskList{}
	failed := false
	for _, name := range names {
		t, err := api.GetTask(ctx, name)
		if err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printError(notFound(kindTask, name, err))
			failed = true
			continue
		}
		list.Items = append(list.Items, *t)
	}
	if len(list.Items) > 0 {
		if err := p.printTasks(c.out, list, len(names) == 1); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// getWorkers prints the workers named, or all of them.
func (c *cli) getWorkers(ctx context.Context, p printer, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListWorkers(ctx)
		if err != nil {
			return err
		}
		if c.noneFound(p, len(list.Items), "workers") {
			return nil
		}
		return p.printWorkers(c.out, list, false)
	}
	list := &v1.WorkerList{}
	failed := false
	for _, name := range names {
		w, err := api.GetWorker(ctx, name)
		if err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printError(notFound(kindWorker, name, err))
			failed = true
			continue
		}
		list.Items = append(list.Items, *w)
	}
	if len(list.Items) > 0 {
		if err := p.printWorkers(c.out, list, len(names) == 1); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// noneFound reports whether a table would be empty, and then says so on
// stderr instead of printing a lone header, as kubectl does.
func (c *cli) noneFound(p printer, n int, what string) bool {
	if n > 0 || (p.format != outputTable && p.format != outputWide) {
		return false
	}
	fmt.Fprintf(c.errOut, "No %s found.\n", what)
	return true
}

// notFound words a NotFound answer about kind NAME the same way whatever
// the server said; other errors pass unchanged.
func notFound(kind, name string, err error) error {
	if client.IsNotFound(err) {
		return fmt.Errorf("%s %q not found", kind, name)
	}
	return err
}
