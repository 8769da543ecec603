package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// Values of mkctl top --sort-by.
const (
	sortByName   = "name"
	sortByCPU    = "cpu"
	sortByMemory = "memory"
)

func (c *cli) newTopCommand() *cobra.Command {
	var (
		sortBy, selector, worker string
		noHeaders                bool
	)
	cmd := &cobra.Command{
		Use:   "top tasks|workers [--sort-by cpu|memory|name] [-l SELECTOR] [--worker NAME]",
		Short: "Show the CPU and memory that Tasks or workers use now",
		Long: `Top shows the CPU and memory in use now, read by the workers and gathered
by the manager when you ask. For tasks: the CPU of each running container,
in millicores, over the worker's last two readings (--usage-interval, 10s),
and its working set; a task read once has <unknown> CPU. For workers: the
host's busy CPU share since its previous sample, and its memory and disk.
A worker that cannot be asked is named on stderr, and its tasks left out.`,
		Example: `  mkctl top tasks
  mkctl top tasks --sort-by memory -l app=web
  mkctl top workers --sort-by cpu`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"tasks", "workers"},
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			switch sortBy {
			case sortByName, sortByCPU, sortByMemory:
			default:
				return usageErrorf(path, "--sort-by %q: use cpu, memory or name", sortBy)
			}
			kind, _, err := parseResourceArgs(path, args, kindTask, kindWorker)
			if err != nil {
				return err
			}
			p := printer{noHeaders: noHeaders}
			if kind == kindWorker {
				if selector != "" || worker != "" {
					return usageErrorf(path, "-l and --worker select tasks: top workers shows every worker")
				}
				return c.topWorkers(cmd.Context(), p, sortBy)
			}
			if selector, _, err = parseSelector(selector); err != nil {
				return usageErrorf(path, "%v", err)
			}
			return c.topTasks(cmd.Context(), p, client.ListOptions{LabelSelector: selector, Worker: worker}, sortBy)
		},
	}
	cmd.Flags().StringVar(&sortBy, "sort-by", sortByCPU, "order of the rows: cpu or memory (most first), or name")
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "only tasks whose labels match this selector (app=web,tier!=db)")
	cmd.Flags().StringVar(&worker, "worker", "", "only the tasks of this worker")
	cmd.Flags().BoolVar(&noHeaders, "no-headers", false, "print no header line")
	return cmd
}

// topTasks prints NAME WORKER CPU MEMORY for the running tasks.
func (c *cli) topTasks(ctx context.Context, p printer, opts client.ListOptions, sortBy string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	list, err := api.TaskUsage(ctx, opts)
	if err != nil {
		return err
	}
	for _, e := range list.Errors {
		fmt.Fprintf(c.errOut, "warning: %s\n", e)
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(c.errOut, "No running tasks found.")
		return nil
	}
	sortTaskUsage(list.Items, sortBy)
	return printTaskUsage(c.out, p, list.Items)
}

// topWorkers prints NAME CPU% MEMORY MEMORY% DISK-FREE TASKS for every
// worker.
func (c *cli) topWorkers(ctx context.Context, p printer, sortBy string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	list, err := api.WorkerUsage(ctx)
	if err != nil {
		return err
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(c.errOut, "No workers found.")
		return nil
	}
	sortWorkerUsage(list.Items, sortBy)
	return printWorkerUsage(c.out, p, list.Items)
}

// sortTaskUsage orders by name, or by CPU or memory, most first (a CPU
// not known yet last), then by name.
func sortTaskUsage(items []v1.TaskUsage, by string) {
	cpu := func(u v1.TaskUsage) float64 {
		if u.CPU == nil {
			return -1
		}
		return *u.CPU
	}
	slices.SortStableFunc(items, func(a, b v1.TaskUsage) int {
		switch by {
		case sortByCPU:
			return cmp.Or(cmp.Compare(cpu(b), cpu(a)), strings.Compare(a.Name, b.Name))
		case sortByMemory:
			return cmp.Or(cmp.Compare(b.Memory, a.Memory), strings.Compare(a.Name, b.Name))
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// sortWorkerUsage orders like sortTaskUsage; workers that could not be
// asked come last.
func sortWorkerUsage(items []v1.WorkerUsage, by string) {
	slices.SortStableFunc(items, func(a, b v1.WorkerUsage) int {
		if (a.Error == "") != (b.Error == "") {
			return cmp.Compare(a.Error, b.Error) // "" first
		}
		switch by {
		case sortByCPU:
			return cmp.Or(cmp.Compare(b.CPUPercent, a.CPUPercent), strings.Compare(a.Name, b.Name))
		case sortByMemory:
			return cmp.Or(cmp.Compare(b.MemoryUsed, a.MemoryUsed), strings.Compare(a.Name, b.Name))
		}
		return strings.Compare(a.Name, b.Name)
	})
}

func printTaskUsage(w io.Writer, p printer, items []v1.TaskUsage) error {
	rows := make([][]string, 0, len(items))
	for _, u := range items {
		cpu := "<unknown>"
		if u.CPU != nil {
			cpu = millicores(*u.CPU)
		}
		rows = append(rows, []string{u.Name, u.Worker, cpu, mebibytes(u.Memory)})
	}
	return p.printTable(w, []string{"NAME", "WORKER", "CPU", "MEMORY"}, rows)
}

func printWorkerUsage(w io.Writer, p printer, items []v1.WorkerUsage) error {
	rows := make([][]string, 0, len(items))
	for _, u := range items {
		if u.Error != "" {
			rows = append(rows, []string{u.Name, "<unknown>", "<unknown>", "<unknown>", "<unknown>", "<unknown>"})
			continue
		}
		rows = append(rows, []string{u.Name, fmt.Sprintf("%.0f%%", u.CPUPercent), mebibytes(u.MemoryUsed),
			percent(u.MemoryUsed, u.MemoryTotal), mebibytes(u.DiskFree), strconv.Itoa(u.Tasks)})
	}
	return p.printTable(w, []string{"NAME", "CPU%", "MEMORY", "MEMORY%", "DISK-FREE", "TASKS"}, rows)
}

// millicores renders cores as kubectl top does: 250m.
func millicores(cores float64) string { return fmt.Sprintf("%.0fm", max(cores, 0)*1000) }

// mebibytes renders bytes as kubectl top does: 64Mi.
func mebibytes(b int64) string { return fmt.Sprintf("%dMi", b>>20) }

func percent(part, total int64) string {
	if total <= 0 {
		return "<unknown>"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(total))
}
