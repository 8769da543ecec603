package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

func (c *cli) newDeleteCommand() *cobra.Command {
	var (
		files    fileOptions
		selector string
		all      bool
		wait     bool
		timeout  time.Duration
	)
	cmd := &cobra.Command{
		Use:   "delete (task NAME... | tasks -l SELECTOR | tasks --all | -f FILE|DIR|- [-R]) [--wait [--timeout 60s]] | worker NAME...",
		Short: "Delete Tasks by name, label or manifest, or forget workers for good",
		Long: `Delete asks the manager to delete each Task named, each Task the label
selector matches, every Task (--all), or each Task the manifests define, and prints
"task/NAME deleted". The delete is graceful: the Task is gone once its
container has stopped; --wait waits until then (--timeout 0: no limit).
A Task that does not exist is reported as an error; the others are still
deleted.

delete worker NAME forgets a worker for good and prints "worker/NAME deleted":
its credential stops working at once, its Tasks are placed on other workers,
and the worker stops what it runs when it next contacts the manager. It does
not come back by itself; the name is free for a new worker.`,
		Example: `  mkctl delete task web api
  mkctl delete tasks -l app=web --wait
  mkctl delete tasks --all
  mkctl delete -f web.yaml
  mkctl get tasks -l app=web -o name | xargs mkctl delete
  mkctl delete worker w3`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			if timeout < 0 {
				return usageErrorf(path, "--timeout must not be negative")
			}
			var names []string
			switch {
			case len(files.files) > 0 && (len(args) > 0 || selector != "" || all):
				return usageErrorf(path, "give only one of task NAME..., -l SELECTOR, --all and -f")
			case len(files.files) == 0 && len(args) == 0 && all:
				args = []string{kindTask}
			case len(files.files) == 0 && len(args) == 0:
				return usageErrorf(path, "must specify task NAME..., tasks -l SELECTOR or -f FILE|DIR|-")
			case len(files.files) > 0:
				docs, err := files.read(c)
				if err != nil {
					return err
				}
				for _, d := range docs {
					names = append(names, d.Task.Metadata.Name)
				}
			default:
				kind, n, err := parseResourceArgs(path, args, kindTask, kindWorker)
				if err != nil {
					return err
				}
				if kind == kindWorker {
					if len(n) == 0 || selector != "" || all || wait {
						return usageErrorf(path, "delete worker takes the names of the workers only")
					}
					return c.deleteWorkers(cmd.Context(), n)
				}
				switch {
				case all && (len(n) > 0 || selector != ""):
					return usageErrorf(path, "--all cannot be used with names or a selector (-l)")
				case len(n) > 0 && selector != "":
					return usageErrorf(path, "names and a selector (-l) cannot be used together")
				case len(n) == 0 && selector == "" && !all:
					return usageErrorf(path, "must specify the names of the %ss to delete, -l, --all or -f", kind)
				case len(n) == 0:
					sel, _, err := parseSelector(selector)
					if err != nil {
						return err
					}
					if n, err = c.selectTasks(cmd.Context(), sel); err != nil || len(n) == 0 {
						return err
					}
				}
				names = n
			}
			deleted, err := c.deleteTasks(cmd.Context(), names)
			if wait && len(deleted) > 0 {
				if werr := c.waitDeleted(cmd.Context(), deleted, timeout); werr != nil && err == nil {
					err = werr
				}
			}
			return err
		},
	}
	files.addFlags(cmd, "delete")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector of the Tasks to delete, e.g. app=web")
	cmd.Flags().BoolVar(&all, "all", false, "delete every Task")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until the Tasks are gone (their containers stopped)")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "with --wait: how long to wait; 0 means no limit")
	return cmd
}

// selectTasks returns the names of the Tasks that selector matches, or
// says on stderr that there are none.
func (c *cli) selectTasks(ctx context.Context, selector string) ([]string, error) {
	api, err := c.client()
	if err != nil {
		return nil, err
	}
	list, err := api.ListTasks(ctx, client.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, err
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(c.errOut, "No tasks found.")
		return nil, nil
	}
	names := make([]string, 0, len(list.Items))
	for _, t := range list.Items {
		names = append(names, t.Metadata.Name)
	}
	return names, nil
}

// deleteTasks deletes each Task named, going on after one that fails, and
// returns those it deleted.
func (c *cli) deleteTasks(ctx context.Context, names []string) ([]*v1.Task, error) {
	api, err := c.client()
	if err != nil {
		return nil, err
	}
	var deleted []*v1.Task
	failed := false
	for _, name := range names {
		t, err := api.DeleteTask(ctx, name)
		if err != nil {
			if fatal(ctx, err) {
				return nil, err
			}
			c.printError(notFound(kindTask, name, err))
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "task/%s deleted\n", name)
		if src := t.Metadata.Annotations[v1.AnnotationSource]; src != "" {
			fmt.Fprintf(c.errOut, "warning: task/%s comes from the manifests directory (file %s), which will create it again; remove it from that file to delete it for good\n", name, src)
		}
		deleted = append(deleted, t)
	}
	if failed {
		return deleted, errReported
	}
	return deleted, nil
}

// deleteWorkers forgets each worker named, going on after one that fails.
func (c *cli) deleteWorkers(ctx context.Context, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if _, err := api.DeleteWorker(ctx, name); err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printError(notFound(kindWorker, name, err))
			failed = true
			continue
		}
		fmt.Fprintf(c.out, "worker/%s deleted\n", name)
	}
	if failed {
		return errReported
	}
	return nil
}

// waitDeleted waits until every Task deleted is gone, as wait
// --for=delete does.
func (c *cli) waitDeleted(ctx context.Context, deleted []*v1.Task, timeout time.Duration) error {
	cd := condition{kind: waitDelete}
	gone := func(state map[string]*v1.Task, d *v1.Task) bool {
		met, _ := cd.check(state[d.Metadata.Name], d.Metadata.UID)
		return met
	}
	state, err := c.followTasks(ctx, timeout, func(state map[string]*v1.Task) (bool, error) {
		for _, d := range deleted {
			if !gone(state, d) {
				return false, nil
			}
		}
		return true, nil
	})
	if errors.Is(err, errTimedOut) {
		for _, d := range deleted {
			if !gone(state, d) {
				c.printError(fmt.Errorf("timed out after %s waiting for task/%s to %s: %s", timeout, d.Metadata.Name, cd.goal(), cd.state(state[d.Metadata.Name])))
			}
		}
		return errReported
	}
	return err
}
