package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// pollInterval is how often get -w lists what the manager cannot watch:
// workers and events.
const pollInterval = time.Second

// phaseDeleted is shown in the PHASE or STATUS column of an object that
// get -w saw go.
const phaseDeleted = "Deleted"

// watchItem is one object as get -w shows it.
type watchItem struct {
	name string
	// row is its table row; volatile lists the columns that change with
	// time alone (AGE) or with every sample (a worker's CPU, MEMORY, DISK
	// and LOAD): a row that differs only there is no change to show.
	row      []string
	volatile []int
	// version changes whenever the object does.
	version string
	obj     any
}

// watchOutput prints what get -w sees: the first list, then an object or
// a row for every change. A row is printed only when it differs from the
// last one printed for the same object (AGE aside); with -o json, yaml or
// name every new version is printed.
type watchOutput struct {
	p     printer
	w     io.Writer
	kind  string
	table streamTable
	last  map[string]string
}

func newWatchOutput(p printer, w io.Writer, kind string) *watchOutput {
	return &watchOutput{p: p, w: w, kind: kind, table: streamTable{w: w}, last: map[string]string{}}
}

func (o *watchOutput) tabular() bool { return o.p.tabular() }

// key is what must change for an item to be printed again: its row, the
// volatile columns aside, or its version when the row has none to leave
// out (an event's LAST SEEN ages; its count and time are what change).
func (o *watchOutput) key(it watchItem) string {
	if !o.tabular() || len(it.volatile) == 0 {
		return it.version
	}
	kept := make([]string, 0, len(it.row))
	for i, cell := range it.row {
		if !slices.Contains(it.volatile, i) {
			kept = append(kept, cell)
		}
	}
	return strings.Join(kept, "\t")
}

// begin prints the first list.
func (o *watchOutput) begin(header []string, items []watchItem) error {
	for _, it := range items {
		o.last[it.name] = o.key(it)
	}
	if o.tabular() {
		rows := make([][]string, 0, len(items))
		for _, it := range items {
			rows = append(rows, it.row)
		}
		return o.table.start(header, rows, o.p.noHeaders)
	}
	for _, it := range items {
		if err := o.object(it); err != nil {
			return err
		}
	}
	return nil
}

// update prints it unless it looks as it did when last printed.
func (o *watchOutput) update(it watchItem) error {
	k := o.key(it)
	if prev, ok := o.last[it.name]; ok && prev == k {
		return nil
	}
	o.last[it.name] = k
	return o.emit(it)
}

// gone prints it, the last state of a deleted object, and forgets it.
func (o *watchOutput) gone(it watchItem) error {
	delete(o.last, it.name)
	return o.emit(it)
}

// emit prints it.
func (o *watchOutput) emit(it watchItem) error {
	if o.tabular() {
		return o.table.row(it.row)
	}
	return o.object(it)
}

// object prints one object in the -o format.
func (o *watchOutput) object(it watchItem) error {
	switch o.p.format {
	case outputName:
		_, err := fmt.Fprintf(o.w, "%s/%s\n", o.kind, it.name)
		return err
	case outputYAML:
		if _, err := io.WriteString(o.w, "---\n"); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
	if o.p.format == outputJSONPath {
		if err := printJSONPath(o.w, o.p.jsonPath, it.obj); err != nil {
			return err
		}
		_, err := io.WriteString(o.w, "\n")
		return err
	}
	return printObject(o.w, o.p.format, it.obj)
}

// at returns the printer with AGE measured from now.
func at(p printer, now time.Time) printer {
	p.now = now
	return p
}

// taskItem shows t in get -w.
func taskItem(p printer, t *v1.Task, gone bool) watchItem {
	setKind(&t.TypeMeta, v1.KindTask)
	row := p.taskRow(t, p.format == outputWide)
	it := watchItem{name: t.Metadata.Name, row: row, version: t.Metadata.ResourceVersion, obj: t}
	if p.format != outputCustom {
		it.volatile = []int{4}
		if gone {
			row[1] = phaseDeleted
		}
	}
	return it
}

// watchTasks prints the Tasks named or selected, then a line per change
// from the watch API, until interrupted.
func (c *cli) watchTasks(ctx context.Context, p printer, names []string, selector string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	wanted := func(string) bool { return true }
	if len(names) > 0 {
		wanted = func(name string) bool { return slices.Contains(names, name) }
	}
	out := newWatchOutput(p, c.out, kindTask)
	onList := func(list *v1.TaskList) error {
		now := time.Now()
		var items []watchItem
		found := map[string]bool{}
		for i := range list.Items {
			t := &list.Items[i]
			if wanted(t.Metadata.Name) {
				items = append(items, taskItem(at(p, now), t, false))
				found[t.Metadata.Name] = true
			}
		}
		for _, name := range names {
			if !found[name] {
				return fmt.Errorf("%s %q not found", kindTask, name)
			}
		}
		return out.begin(p.header(taskHeader(p.format == outputWide)), items)
	}
	onEvent := func(ev v1.WatchEvent[*v1.Task]) error {
		if !wanted(ev.Object.Metadata.Name) {
			return nil
		}
		if ev.Type == v1.Deleted {
			return out.gone(taskItem(at(p, time.Now()), ev.Object, true))
		}
		return out.update(taskItem(at(p, time.Now()), ev.Object, false))
	}
	err = api.StreamTasks(ctx, client.StreamOptions{ListOptions: client.ListOptions{LabelSelector: selector}}, onList, onEvent)
	return interrupted(ctx, err)
}

// interrupted turns the end of ctx (Ctrl-C), the usual end of -w and -f,
// into success.
func interrupted(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return nil
	}
	return err
}

// workerItem shows w in get -w.
func workerItem(p printer, w *v1.Worker, gone bool) watchItem {
	setKind(&w.TypeMeta, v1.KindWorker)
	row := p.workerRow(w, p.format == outputWide)
	it := watchItem{name: w.Metadata.Name, row: row, version: w.Metadata.ResourceVersion, obj: w}
	if p.format == outputCustom {
		return it
	}
	if gone {
		row[1] = phaseDeleted
	}
	// CPU, MEMORY, DISK, AGE and, with -o wide, LOAD move with every
	// heartbeat's sample: a line is printed when the status, address,
	// task count or labels change.
	it.volatile = []int{4, 5, 6, 7, 8}
	return it
}

// watchWorkers prints the workers named or selected, then a line for
// every change it sees polling the manager, until interrupted.
func (c *cli) watchWorkers(ctx context.Context, p printer, names []string, sel labels.Selector) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	list := func(ctx context.Context) ([]v1.Worker, error) {
		l, err := api.ListWorkers(ctx)
		if err != nil {
			return nil, err
		}
		items := matchingWorkers(l.Items, sel)
		if len(names) > 0 {
			items = slices.DeleteFunc(items, func(w v1.Worker) bool { return !slices.Contains(names, w.Metadata.Name) })
		}
		return items, nil
	}
	first, err := list(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		if !slices.ContainsFunc(first, func(w v1.Worker) bool { return w.Metadata.Name == name }) {
			return fmt.Errorf("%s %q not found", kindWorker, name)
		}
	}
	out := newWatchOutput(p, c.out, kindWorker)
	items := func(workers []v1.Worker) []watchItem {
		now := time.Now()
		var out []watchItem
		for i := range workers {
			out = append(out, workerItem(at(p, now), &workers[i], false))
		}
		return out
	}
	seen := map[string]*v1.Worker{}
	remember := func(workers []v1.Worker) {
		clear(seen)
		for i := range workers {
			seen[workers[i].Metadata.Name] = &workers[i]
		}
	}
	if err := out.begin(p.header(workerHeader(p.format == outputWide)), items(first)); err != nil {
		return err
	}
	remember(first)
	return c.poll(ctx, func(ctx context.Context) error {
		cur, err := list(ctx)
		if err != nil {
			return pollFailure(err)
		}
		for _, it := range items(cur) {
			if err := out.update(it); err != nil {
				return err
			}
		}
		for _, name := range slices.Sorted(maps.Keys(seen)) {
			if !slices.ContainsFunc(cur, func(w v1.Worker) bool { return w.Metadata.Name == name }) {
				if err := out.gone(workerItem(at(p, time.Now()), seen[name], true)); err != nil {
					return err
				}
			}
		}
		remember(cur)
		return nil
	})
}

// eventItem shows e in get -w.
func eventItem(p printer, e *v1.Event) watchItem {
	setKind(&e.TypeMeta, v1.KindEvent)
	// LAST SEEN is the age column; the count and time of the last
	// occurrence are what change.
	version := strconv.Itoa(int(e.Count)) + "@" + e.LastTimestamp.String()
	return watchItem{name: e.Metadata.Name, row: p.eventRow(e, p.format == outputWide), version: version, obj: e}
}

// watchEvents prints the events, then every new or repeated one it sees
// polling the manager, until interrupted.
func (c *cli) watchEvents(ctx context.Context, p printer, task string) error {
	api, err := c.client()
	if err != nil {
		return err
	}
	first, err := api.ListEvents(ctx, task)
	if err != nil {
		return err
	}
	out := newWatchOutput(p, c.out, kindEvent)
	now := time.Now()
	var items []watchItem
	for i := range first.Items {
		items = append(items, eventItem(at(p, now), &first.Items[i]))
	}
	if err := out.begin(p.header(eventHeader(p.format == outputWide)), items); err != nil {
		return err
	}
	return c.poll(ctx, func(ctx context.Context) error {
		cur, err := api.ListEvents(ctx, task)
		if err != nil {
			return pollFailure(err)
		}
		now := time.Now()
		for i := range cur.Items {
			if err := out.update(eventItem(at(p, now), &cur.Items[i])); err != nil {
				return err
			}
		}
		return nil
	})
}

// poll calls step every pollInterval until ctx ends (success: the user
// interrupted) or step fails.
func (c *cli) poll(ctx context.Context, step func(context.Context) error) error {
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := step(ctx); err != nil {
			return interrupted(ctx, err)
		}
	}
}

// pollFailure says whether a failed list ends get -w, by the rule that
// ends get tasks -w: an answer asking again cannot change does (a refused
// token, a forbidden list); the manager being away or restarting does
// not, and the next poll tries again.
func pollFailure(err error) error {
	if client.Permanent(err) {
		return err
	}
	return nil
}
