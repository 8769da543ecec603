package main

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// getOptions are the flags of get.
type getOptions struct {
	output    string
	sortBy    string
	selector  string
	noHeaders bool
	watch     bool
	task      string
}

func (c *cli) newGetCommand() *cobra.Command {
	var o getOptions
	cmd := &cobra.Command{
		Use:   "get (tasks|task NAME...|workers|worker NAME...|events|endpoints [SERVICE...]|managers) [-o wide|json|yaml|name|jsonpath=...|custom-columns=...] [--sort-by PATH] [-l SELECTOR] [-w] [--no-headers]",
		Short: "Show Tasks, workers, events, endpoints or managers",
		Long: `Get lists Tasks, workers or events, or shows those named, as a table (-o wide
adds columns), as JSON or YAML (one object when one was named, a TaskList,
WorkerList or EventList otherwise), or as TYPE/NAME lines (-o name).

-o jsonpath=TEMPLATE prints what a JSONPath template finds, as kubectl
does ({.items[*].metadata.name} over a list, {.status.phase} over one
named object); -o custom-columns=NAME:.metadata.name,PHASE:.status.phase
prints a table of the paths given. --sort-by=PATH orders a list by the
value at PATH (numbers by value). Paths use the JSON field names.

Short names: t for tasks, w for workers, ev for events.

-l selects by label, in Kubernetes selector syntax (app=web, tier!=db,
env in (prod,staging), !canary).

endpoints lists the services: the Tasks labelled service: NAME, the name
DNS serves them under, how many are Ready and their addresses.

-w prints the list, then a line for every change until interrupted. Tasks
are followed through the manager's watch API; the watch resumes where it
left off when the connection breaks or the manager restarts. Workers and
events are polled every second.`,
		Example: `  mkctl get tasks
  mkctl get tasks -l app=web -o wide
  mkctl get task web -o yaml
  mkctl get tasks -w
  mkctl get workers
  mkctl get events --task web
  mkctl get endpoints
  mkctl get managers
  mkctl get t -o jsonpath='{.items[*].metadata.name}'
  mkctl get tasks -o custom-columns=NAME:.metadata.name,IMAGE:.spec.image --sort-by .status.restartCount`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			kind, names, err := parseResourceArgs(path, args, kindTask, kindWorker, kindEvent, kindEndpoint, kindManager)
			if err != nil {
				return err
			}
			p, err := newPrinter(o.output, o.sortBy, o.noHeaders, time.Now())
			if err != nil {
				return &usageError{commandPath: path, err: err}
			}
			if len(names) > 0 && o.selector != "" {
				return usageErrorf(path, "names and a selector (-l) cannot be used together")
			}
			selector, sel, err := parseSelector(o.selector)
			if err != nil {
				return err
			}
			if o.task != "" && kind != kindEvent {
				return usageErrorf(path, "--task applies to events only")
			}
			ctx := cmd.Context()
			switch kind {
			case kindEndpoint:
				if o.watch || o.selector != "" {
					return usageErrorf(path, "endpoints are chosen by service name; -l and -w do not apply")
				}
				return c.getEndpoints(ctx, p, names)
			case kindManager:
				if o.watch || o.selector != "" {
					return usageErrorf(path, "managers are listed as they are now: no -w or -l")
				}
				return c.getManagers(ctx, p, names)
			case kindEvent:
				if len(names) > 0 || o.selector != "" {
					return usageErrorf(path, "events are chosen with --task NAME, not by name or label")
				}
				if o.watch {
					return c.watchEvents(ctx, p, o.task)
				}
				return c.getEvents(ctx, p, o.task)
			case kindWorker:
				if o.watch {
					return c.watchWorkers(ctx, p, names, sel)
				}
				return c.getWorkers(ctx, p, names, sel)
			}
			if o.watch {
				return c.watchTasks(ctx, p, names, selector)
			}
			return c.getTasks(ctx, p, names, selector)
		},
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "output format: wide, json, yaml, name, jsonpath=TEMPLATE or custom-columns=HEADER:PATH,...")
	cmd.Flags().StringVar(&o.sortBy, "sort-by", "", "sort the list by the value at this JSONPath, e.g. .metadata.creationTimestamp or .status.restartCount")
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "label selector, e.g. app=web,tier!=db")
	cmd.Flags().BoolVar(&o.noHeaders, "no-headers", false, "print tables without their header line")
	cmd.Flags().BoolVarP(&o.watch, "watch", "w", false, "after the list, print a line for every change until interrupted")
	cmd.Flags().StringVar(&o.task, "task", "", "with events: only the events about this Task")
	return cmd
}

// getTasks prints the Tasks named, or those the selector matches.
func (c *cli) getTasks(ctx context.Context, p printer, names []string, selector string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		opts := client.ListOptions{LabelSelector: selector}
		switch {
		case p.usesTable():
			tbl, err := api.TaskTable(ctx, opts)
			if err != nil {
				return err
			}
			if c.noneFound(p, len(tbl.Rows), "tasks") {
				return nil
			}
			return p.printTaskTable(c.out, tbl)
		case p.passesJSON() && p.format == outputJSON:
			body, err := api.TaskListJSON(ctx, opts)
			if err != nil {
				return err
			}
			defer body.Close()
			if err := printJSONListStream(c.out, body, v1.KindTaskList); err != nil {
				return fmt.Errorf("get tasks: %w", err)
			}
			return nil
		case p.passesJSON():
			raw, err := api.ListTasksJSON(ctx, opts)
			if err != nil {
				return err
			}
			return printYAMLList(c.out, raw)
		}
		list, err := api.ListTasks(ctx, opts)
		if err != nil {
			return err
		}
		if c.noneFound(p, len(list.Items), "tasks") {
			return nil
		}
		return p.printTasks(c.out, list, false)
	}
	tasks, failed, err := fetchNamed(ctx, c, kindTask, names, api.GetTask)
	if err != nil {
		return err
	}
	list := &v1.TaskList{}
	for _, t := range tasks {
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

// getWorkers prints the workers named, or all those sel matches (the
// manager does not filter workers; mkctl does).
func (c *cli) getWorkers(ctx context.Context, p printer, names []string, sel labels.Selector) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListWorkers(ctx)
		if err != nil {
			return err
		}
		list.Items = matchingWorkers(list.Items, sel)
		if c.noneFound(p, len(list.Items), "workers") {
			return nil
		}
		return p.printWorkers(c.out, list, false)
	}
	workers, failed, err := fetchNamed(ctx, c, kindWorker, names, api.GetWorker)
	if err != nil {
		return err
	}
	list := &v1.WorkerList{}
	for _, w := range workers {
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

// matchingWorkers keeps the workers whose labels sel matches.
func matchingWorkers(items []v1.Worker, sel labels.Selector) []v1.Worker {
	if sel == nil || sel.Empty() {
		return items
	}
	out := items[:0]
	for _, w := range items {
		if sel.Matches(labels.Set(w.Metadata.Labels)) {
			out = append(out, w)
		}
	}
	return out
}

// getEvents prints the recorded events, or those about one Task.
func (c *cli) getEvents(ctx context.Context, p printer, task string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	list, err := api.ListEvents(ctx, task)
	if err != nil {
		return err
	}
	if c.noneFound(p, len(list.Items), "events") {
		return nil
	}
	return p.printEvents(c.out, list)
}

// fetchNamed gets each object named with get, in order, printing an error
// line for each that cannot be got and going on; failed says one could
// not. It stops at an error that makes further requests pointless (see
// fatal) and returns it.
func fetchNamed[T any](ctx context.Context, c *cli, kind string, names []string, get func(context.Context, string) (*T, error)) (objs []*T, failed bool, err error) {
	for _, name := range names {
		obj, err := get(ctx, name)
		if err != nil {
			if fatal(ctx, err) {
				return nil, false, err
			}
			c.printError(notFound(kind, name, err))
			failed = true
			continue
		}
		objs = append(objs, obj)
	}
	return objs, failed, nil
}

// noneFound reports whether a table would be empty, and then says so on
// stderr instead of printing a lone header, as kubectl does.
func (c *cli) noneFound(p printer, n int, what string) bool {
	if n > 0 || !p.tabular() {
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
