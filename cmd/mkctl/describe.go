package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

func (c *cli) newDescribeCommand() *cobra.Command {
	var selector string
	cmd := &cobra.Command{
		Use:   "describe (task|worker) [NAME...] [-l SELECTOR]",
		Short: "Show the details of Tasks or workers, with their events",
		Long: `Describe prints a readable page per Task: its spec, status, conditions,
ports, restarts, worker and the events recorded about it (age, type, reason,
message), or per worker: its address, state, capacity, what its Tasks take,
the Tasks it holds and its events. Without names it describes every Task
(or those -l selects) or every worker.`,
		Example: `  mkctl describe task web
  mkctl describe tasks -l app=web
  mkctl describe worker worker-1`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			kind, names, err := parseResourceArgs(path, args, kindTask, kindWorker)
			if err != nil {
				return err
			}
			if len(names) > 0 && selector != "" {
				return usageErrorf(path, "names and a selector (-l) cannot be used together")
			}
			if kind == kindWorker && selector != "" {
				return usageErrorf(path, "-l selects Tasks only; name the workers to describe")
			}
			sel, _, err := parseSelector(selector)
			if err != nil {
				return err
			}
			if kind == kindWorker {
				return c.describeWorkers(cmd.Context(), names)
			}
			return c.describeTasks(cmd.Context(), names, sel)
		},
	}
	cmd.Flags().StringVarP(&selector, "selector", "l", "", "label selector of the Tasks to describe, e.g. app=web")
	return cmd
}

// describeTasks prints the page of each Task named, or of every Task the
// selector matches.
func (c *cli) describeTasks(ctx context.Context, names []string, selector string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	tasks, failed, err := fetchNamed(ctx, c, kindTask, names, api.GetTask)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListTasks(ctx, client.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			fmt.Fprintln(c.errOut, "No tasks found.")
			return nil
		}
		for i := range list.Items {
			tasks = append(tasks, &list.Items[i])
		}
	}
	// One Task's events are asked for by name; several Tasks' are taken
	// from one list of them all.
	var all *v1.EventList
	if len(tasks) > 1 {
		if all, err = api.ListEvents(ctx, ""); err != nil {
			return err
		}
	}
	eps, err := taskEndpoints(ctx, api, tasks)
	if err != nil {
		return err
	}
	for i, t := range tasks {
		events := all
		if events == nil {
			if events, err = api.ListEvents(ctx, t.Metadata.Name); err != nil {
				return err
			}
		}
		if i > 0 {
			fmt.Fprintln(c.out)
		}
		if err := describeTask(c.out, time.Now(), t, eps, eventsOf(events.Items, v1.KindTask, t.Metadata.Name, t.Metadata.UID)); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// describeWorkers prints the page of each worker named, or of every worker.
func (c *cli) describeWorkers(ctx context.Context, names []string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	workers, failed, err := fetchNamed(ctx, c, kindWorker, names, api.GetWorker)
	if err != nil {
		return err
	}
	if len(names) == 0 {
		list, err := api.ListWorkers(ctx)
		if err != nil {
			return err
		}
		if len(list.Items) == 0 {
			fmt.Fprintln(c.errOut, "No workers found.")
			return nil
		}
		for i := range list.Items {
			workers = append(workers, &list.Items[i])
		}
	}
	var events *v1.EventList
	if len(workers) > 0 {
		if events, err = api.ListEvents(ctx, ""); err != nil {
			return err
		}
	}
	// One list serves every page: it is sorted by name, as each worker's
	// own list would be.
	byWorker := map[string][]v1.Task{}
	if len(workers) > 0 {
		tasks, err := api.ListTasks(ctx, client.ListOptions{})
		if err != nil {
			return err
		}
		for _, t := range tasks.Items {
			byWorker[t.Status.Worker] = append(byWorker[t.Status.Worker], t)
		}
	}
	for i, w := range workers {
		if i > 0 {
			fmt.Fprintln(c.out)
		}
		if err := describeWorker(c.out, time.Now(), w, byWorker[w.Metadata.Name], eventsOf(events.Items, v1.KindWorker, w.Metadata.Name, "")); err != nil {
			return err
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// eventsOf keeps the events about kind/name, and of the incarnation uid
// when uid is set (a Task deleted and created again under the same name
// does not inherit the old one's events).
func eventsOf(events []v1.Event, kind, name, uid string) []v1.Event {
	var out []v1.Event
	for _, e := range events {
		ref := e.InvolvedObject
		if ref.Kind == kind && ref.Name == name && (uid == "" || ref.UID == "" || ref.UID == uid) {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b v1.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp) })
	return out
}

// page writes a describe page: "Key:" and value columns aligned the way
// kubectl describe aligns them, nested blocks indented by two spaces.
type page struct {
	tw  *tabwriter.Writer
	buf bytes.Buffer
	w   io.Writer
	now time.Time
}

func newPage(w io.Writer, now time.Time) *page {
	p := &page{w: w, now: now}
	p.tw = tabwriter.NewWriter(&p.buf, 0, 8, 2, ' ', 0)
	return p
}

// kv writes "Key:<tab>value" at the given depth.
func (p *page) kv(depth int, key, value string) {
	fmt.Fprintf(p.tw, "%s%s:\t%s\n", strings.Repeat("  ", depth), key, value)
}

// heading writes a line that opens a nested block.
func (p *page) heading(depth int, text string) {
	fmt.Fprintf(p.tw, "%s%s\n", strings.Repeat("  ", depth), text)
}

// endBlock ends a nested block: what follows is aligned on its own.
func (p *page) endBlock() {
	_ = p.tw.Flush() // into a bytes.Buffer: cannot fail
}

// table writes a header, a rule under it and rows, at depth 1, aligned
// on their own.
func (p *page) table(header []string, rows [][]string) {
	rule := make([]string, len(header))
	for i, h := range header {
		rule[i] = strings.Repeat("-", len(h))
	}
	p.endBlock()
	for _, r := range append([][]string{header, rule}, rows...) {
		fmt.Fprintf(p.tw, "  %s\n", strings.Join(r, "\t"))
	}
	p.endBlock()
}

// flush writes the page out, without the padding an empty last cell
// leaves at the end of a line.
func (p *page) flush() error {
	_ = p.tw.Flush()
	var out bytes.Buffer
	for line := range strings.Lines(p.buf.String()) {
		out.WriteString(strings.TrimRight(line, " \n"))
		out.WriteByte('\n')
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	return nil
}

// when renders a time as kubectl describe does, with its age.
func (p *page) when(t *time.Time) string {
	if t == nil || t.IsZero() {
		return none
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format(time.RFC1123Z), humanDuration(p.now.Sub(*t)))
}

// events writes the Events block.
func (p *page) events(events []v1.Event) {
	if len(events) == 0 {
		p.kv(0, "Events", none)
		return
	}
	p.heading(0, "Events:")
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		rows = append(rows, []string{e.Type, e.Reason, eventAge(p.now, &e), orNone(e.Source), oneLine(e.Message)})
	}
	p.table([]string{"Type", "Reason", "Age", "From", "Message"}, rows)
}

// eventAge is the Age of an event in describe: "5m", or "5m (x3 over 10m)"
// for one seen several times.
func eventAge(now time.Time, e *v1.Event) string {
	age := humanDuration(now.Sub(e.LastTimestamp))
	if e.Count > 1 {
		age += fmt.Sprintf(" (x%d over %s)", e.Count, humanDuration(now.Sub(e.FirstTimestamp)))
	}
	return age
}

// describeTask writes the page of t.
func describeTask(w io.Writer, now time.Time, t *v1.Task, eps *v1.EndpointsList, events []v1.Event) error {
	p := newPage(w, now)
	m, spec, st := &t.Metadata, &t.Spec, &t.Status
	p.kv(0, "Name", m.Name)
	p.kv(0, "Labels", labelList(m.Labels))
	p.kv(0, "Annotations", labelList(m.Annotations))
	p.kv(0, "UID", orNone(m.UID))
	p.kv(0, "Created", p.when(m.CreationTimestamp))
	if m.DeletionTimestamp != nil {
		p.kv(0, "Deleting Since", p.when(m.DeletionTimestamp))
	}
	p.kv(0, "Phase", v1.ShownPhase(t))
	if st.Reason != "" {
		p.kv(0, "Reason", st.Reason)
	}
	if st.Message != "" {
		p.kv(0, "Message", oneLine(st.Message))
	}
	worker := orNone(st.Worker)
	if st.Worker != "" && st.HostIP != "" {
		worker += " (" + st.HostIP + ")"
	}
	p.kv(0, "Worker", worker)
	p.kv(0, "Container ID", orNone(st.ContainerID))
	p.kv(0, "Started", p.when(st.StartedAt))
	if st.FinishedAt != nil {
		p.kv(0, "Finished", p.when(st.FinishedAt))
	}
	if st.ExitCode != nil {
		p.kv(0, "Exit Code", strconv.Itoa(int(*st.ExitCode)))
	}
	p.kv(0, "Restarts", strconv.Itoa(int(st.RestartCount)))
	p.kv(0, "Generation", fmt.Sprintf("%d (observed %d)", m.Generation, st.ObservedGeneration))
	p.kv(0, "Image", spec.Image)
	p.kv(0, "Command", orNone(strings.Join(spec.Command, " ")))
	p.kv(0, "Args", orNone(strings.Join(spec.Args, " ")))
	p.kv(0, "Restart Policy", orNone(string(spec.RestartPolicy)))
	p.kv(0, "Resources", resources(spec.Resources))
	p.kv(0, "Node Selector", labelList(spec.NodeSelector))
	p.kv(0, "Health Check", healthCheck(spec.HealthCheck))
	ports := describePorts(t)
	p.kv(0, "Ports", ports[0])
	for _, more := range ports[1:] {
		fmt.Fprintf(p.tw, "\t%s\n", more)
	}
	p.describeDNS(t, eps)
	if len(spec.Env) == 0 {
		p.kv(0, "Environment", none)
	} else {
		p.heading(0, "Environment:")
		for _, e := range spec.Env {
			p.kv(1, e.Name, e.Value)
		}
		p.endBlock()
	}
	conditionsBlock(p, now, st.Conditions)
	p.events(events)
	return p.flush()
}

// conditionsBlock writes conditions as a table, or none.
func conditionsBlock(p *page, now time.Time, conds []v1.Condition) {
	if len(conds) == 0 {
		p.kv(0, "Conditions", none)
		return
	}
	p.heading(0, "Conditions:")
	rows := make([][]string, 0, len(conds))
	for _, cond := range conds {
		since := none
		if cond.LastTransitionTime != nil {
			since = humanDuration(now.Sub(*cond.LastTransitionTime))
		}
		rows = append(rows, []string{cond.Type, string(cond.Status), orNone(cond.Reason), since, oneLine(cond.Message)})
	}
	p.table([]string{"Type", "Status", "Reason", "Since", "Message"}, rows)
}

// resources renders a Task's resources, "cpu=500m memory=64Mi".
func resources(r v1.Resources) string {
	var parts []string
	for _, kv := range [][2]string{{v1.ResourceCPU, r.CPU}, {v1.ResourceMemory, r.Memory}, {v1.ResourceDisk, r.Disk}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"="+kv[1])
		}
	}
	if len(parts) == 0 {
		return none
	}
	return strings.Join(parts, " ")
}

// healthCheck renders a health check in a sentence.
func healthCheck(hc *v1.HealthCheck) string {
	if hc == nil {
		return none
	}
	var what string
	switch {
	case hc.HTTP != nil:
		path := hc.HTTP.Path
		if path == "" {
			path = "/"
		}
		what = fmt.Sprintf("http GET %s on port %s", path, hc.HTTP.Port)
	case hc.TCP != nil:
		what = "tcp connect to port " + hc.TCP.Port
	case hc.Exec != nil:
		what = "exec " + strings.Join(hc.Exec.Command, " ")
	default:
		what = "none"
	}
	return fmt.Sprintf("%s every %ds, timeout %ds, unhealthy after %d failures", what, hc.PeriodSeconds, hc.TimeoutSeconds, hc.FailureThreshold)
}

// describePorts renders one line per port: the spec's ports, with the
// host address each is published on once the worker reports it.
func describePorts(t *v1.Task) []string {
	if len(t.Spec.Ports) == 0 {
		return []string{none}
	}
	lines := make([]string, 0, len(t.Spec.Ports))
	for _, sp := range t.Spec.Ports {
		s := fmt.Sprintf("%d/%s", sp.ContainerPort, sp.Protocol.OrDefault())
		if sp.Name != "" {
			s = sp.Name + " " + s
		}
		host := sp.HostPort
		for _, ps := range t.Status.Ports {
			if ps.ContainerPort == sp.ContainerPort && ps.Protocol.OrDefault() == sp.Protocol.OrDefault() && ps.HostPort != 0 {
				host = ps.HostPort
			}
		}
		if host != 0 {
			ip := t.Status.HostIP
			if ip == "" {
				ip = "*"
			}
			s += fmt.Sprintf(" -> %s:%d", ip, host)
		}
		lines = append(lines, s)
	}
	return lines
}

// describeWorker writes the page of wk, with the Tasks it holds.
func describeWorker(w io.Writer, now time.Time, wk *v1.Worker, tasks []v1.Task, events []v1.Event) error {
	p := newPage(w, now)
	st := &wk.Status
	p.kv(0, "Name", wk.Metadata.Name)
	p.kv(0, "Labels", labelList(wk.Metadata.Labels))
	p.kv(0, "UID", orNone(wk.Metadata.UID))
	p.kv(0, "Created", p.when(wk.Metadata.CreationTimestamp))
	p.kv(0, "Address", orNone(wk.Spec.Address))
	p.kv(0, "Status", workerStatus(wk))
	p.kv(0, "Unschedulable", strconv.FormatBool(wk.Spec.Unschedulable))
	p.kv(0, "Last Heartbeat", p.when(st.LastHeartbeatTime))
	conditionsBlock(p, now, st.Conditions)
	p.kv(0, "CPU", fmt.Sprintf("%.0f%% used, load %.2f", st.Stats.CPUPercent, st.Stats.Load1))
	p.kv(0, "Memory", fmt.Sprintf("%s available", humanBytes(st.Stats.MemoryAvailable)))
	p.kv(0, "Disk", fmt.Sprintf("%s free", humanBytes(st.Stats.DiskFree)))
	resourceBlock(p, "Capacity", st.Capacity)
	resourceBlock(p, "Allocated", st.Allocated)
	if len(tasks) == 0 {
		p.kv(0, "Tasks", none)
	} else {
		p.heading(0, fmt.Sprintf("Tasks (%d):", len(tasks)))
		rows := make([][]string, 0, len(tasks))
		pr := printer{now: now}
		for i := range tasks {
			r := pr.taskRow(&tasks[i], false)
			rows = append(rows, []string{r[0], r[1], r[3], r[4]})
		}
		p.table([]string{"Name", "Phase", "Restarts", "Age"}, rows)
	}
	p.events(events)
	return p.flush()
}

// resourceBlock writes a ResourceList as a nested block, cpu, memory and
// disk first.
func resourceBlock(p *page, title string, rl v1.ResourceList) {
	if len(rl) == 0 {
		p.kv(0, title, none)
		return
	}
	p.heading(0, title+":")
	order := []string{v1.ResourceCPU, v1.ResourceMemory, v1.ResourceDisk}
	for _, k := range slices.Sorted(maps.Keys(rl)) {
		if !slices.Contains(order, k) {
			order = append(order, k)
		}
	}
	for _, k := range order {
		if v, ok := rl[k]; ok {
			p.kv(1, k, v)
		}
	}
	p.endBlock()
}
