package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// redrainInterval is how often drain asks the manager again while Tasks
// are still on the worker: one placed there just before the cordon took
// effect is moved by the next ask.
const redrainInterval = 2 * time.Second

func (c *cli) newCordonCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "cordon WORKER...",
		Short: "Mark workers unschedulable: they keep their Tasks but get no new ones",
		Example: `  mkctl cordon worker-1
  mkctl uncordon worker-1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := workerArgs(cmd.CommandPath(), args)
			if err != nil {
				return err
			}
			return c.setSchedulable(cmd.Context(), names, false)
		},
	}
}

func (c *cli) newUncordonCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "uncordon WORKER...",
		Short:   "Mark workers schedulable again",
		Example: `  mkctl uncordon worker-1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			names, err := workerArgs(cmd.CommandPath(), args)
			if err != nil {
				return err
			}
			return c.setSchedulable(cmd.Context(), names, true)
		},
	}
}

// workerArgs reads "NAME..." or "worker/NAME...".
func workerArgs(path string, args []string) ([]string, error) {
	if len(args) == 0 {
		return nil, usageErrorf(path, "name the worker: %s WORKER", path)
	}
	names := make([]string, 0, len(args))
	for _, a := range args {
		if strings.Contains(a, "/") {
			_, n, err := parseResourceArgs(path, []string{a}, kindWorker)
			if err != nil {
				return nil, err
			}
			a = n[0]
		}
		names = append(names, a)
	}
	return names, nil
}

// setSchedulable cordons (schedulable false) or uncordons each worker.
func (c *cli) setSchedulable(ctx context.Context, names []string, schedulable bool) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	failed := false
	for _, name := range names {
		if err := c.setOne(ctx, api, name, schedulable); err != nil {
			if fatal(ctx, err) {
				return err
			}
			c.printError(notFound(kindWorker, name, err))
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

func (c *cli) setOne(ctx context.Context, api *client.Client, name string, schedulable bool) error {
	before, err := api.GetWorker(ctx, name)
	if err != nil {
		return err
	}
	verb := "cordoned"
	action := api.Cordon
	if schedulable {
		verb, action = "uncordoned", api.Uncordon
	}
	if before.Spec.Unschedulable == !schedulable {
		fmt.Fprintf(c.out, "worker/%s already %s\n", name, verb)
		return nil
	}
	if _, err := action(ctx, name); err != nil {
		return err
	}
	fmt.Fprintf(c.out, "worker/%s %s\n", name, verb)
	return nil
}

func (c *cli) newDrainCommand() *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "drain WORKER [--timeout 60s]",
		Short: "Cordon a worker and move its Tasks to other workers",
		Long: `Drain cordons the worker, then has the manager take every Task the worker
holds that has not finished off it; the scheduler places each on another
worker, and the drained worker stops its copy once the Task runs elsewhere.
Drain prints each Task as it is placed and returns once the worker holds no
unfinished Task. It exits 1 if that has not happened within the timeout
(--timeout 0: no limit), for example when no other worker can take a Task,
or when interrupted, naming the Tasks still on the worker; the worker stays
cordoned.`,
		Example: `  mkctl drain worker-1
  mkctl drain worker-1 --timeout 5m
  mkctl uncordon worker-1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			names, err := workerArgs(path, args)
			if err != nil {
				return err
			}
			if len(names) != 1 {
				return usageErrorf(path, "drain one worker at a time")
			}
			if timeout < 0 {
				return usageErrorf(path, "--timeout must not be negative")
			}
			return c.drain(cmd.Context(), names[0], timeout)
		},
	}
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long to wait for the Tasks to be placed elsewhere; 0 means no limit")
	return cmd
}

// drain cordons the worker, has its Tasks moved, and waits until they are.
func (c *cli) drain(ctx context.Context, name string, timeout time.Duration) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	before, err := api.GetWorker(ctx, name)
	if err != nil {
		return notFound(kindWorker, name, err)
	}
	held, err := api.ListTasks(ctx, client.ListOptions{Worker: name})
	if err != nil {
		return err
	}
	if _, err := api.Drain(ctx, name); err != nil {
		return notFound(kindWorker, name, err)
	}
	if before.Spec.Unschedulable {
		fmt.Fprintf(c.out, "worker/%s already cordoned\n", name)
	} else {
		fmt.Fprintf(c.out, "worker/%s cordoned\n", name)
	}

	// moving holds the uid of each Task seen on the worker, from before the
	// drain on, until it is placed elsewhere, finishes or goes.
	moving := map[string]string{}
	var order []string
	add := func(t *v1.Task) {
		n := t.Metadata.Name
		if t.Status.Worker == name && !t.Status.Phase.Terminal() && moving[n] == "" {
			moving[n] = t.Metadata.UID
			order = append(order, n)
			fmt.Fprintf(c.out, "moving task/%s off worker %s\n", n, name)
		}
	}
	for i := range held.Items {
		add(&held.Items[i])
	}

	// Ask again now and then while waiting (see redrainInterval).
	rctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(redrainInterval)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
				_, _ = api.Drain(rctx, name) // the wait below reports what does not move
			}
		}
	}()
	defer func() { stop(); wg.Wait() }()

	check := func(state map[string]*v1.Task) (bool, error) {
		var found []*v1.Task
		for _, t := range state {
			if t.Status.Worker == name {
				found = append(found, t)
			}
		}
		slices.SortFunc(found, func(a, b *v1.Task) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
		for _, t := range found {
			add(t)
		}
		left := 0
		for _, n := range order {
			uid, ok := moving[n]
			if !ok {
				continue
			}
			t := state[n]
			switch {
			case t == nil || t.Metadata.UID != uid:
				fmt.Fprintf(c.out, "task/%s deleted\n", n)
			case t.Status.Phase.Terminal() && t.Status.Worker == name:
				fmt.Fprintf(c.out, "task/%s %s on worker %s\n", n, t.Status.Phase, name)
			case t.Status.Worker != "" && t.Status.Worker != name:
				fmt.Fprintf(c.out, "task/%s placed on worker %s\n", n, t.Status.Worker)
			case t.Status.Phase.Terminal():
				fmt.Fprintf(c.out, "task/%s %s\n", n, t.Status.Phase)
			default:
				left++
				continue
			}
			delete(moving, n)
		}
		return left == 0, nil
	}
	state, err := c.followTasks(ctx, timeout, check)
	// Timed out or interrupted: say which Tasks are still on the worker
	// (it stays cordoned, and the manager goes on moving them).
	var ended string
	switch {
	case errors.Is(err, errTimedOut):
		ended = fmt.Sprintf("timed out after %s", timeout)
	case errors.Is(err, context.Canceled):
		ended = "interrupted"
	}
	if ended != "" {
		for _, n := range order {
			if _, ok := moving[n]; ok {
				c.printError(fmt.Errorf("%s draining worker %s: task/%s is not placed elsewhere: %s", ended, name, n, taskState(state[n])))
			}
		}
		return errReported
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.out, "worker/%s drained\n", name)
	return nil
}
