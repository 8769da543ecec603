package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// fileOptions are the -f and -R flags of apply and delete.
type fileOptions struct {
	files     []string
	recursive bool
}

func (o *fileOptions) addFlags(cmd *cobra.Command, verb string) {
	cmd.Flags().StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, directory of *.yaml/*.yml files, or - for standard input, whose Tasks to "+verb+" (repeatable)")
	cmd.Flags().BoolVarP(&o.recursive, "recursive", "R", false, "read directories given with -f recursively")
}

// read reads every document of the -f paths. Any problem in any document
// returns a v1.DocumentErrors holding them all, and no documents.
func (o *fileOptions) read(c *cli) ([]v1.Document, error) {
	docs, err := v1.ReadManifests(o.files, o.recursive, c.in)
	if err == nil && !o.recursive {
		o.warnSkipped(c)
	}
	return docs, err
}

// warnSkipped says on stderr when a directory given with -f has manifests
// in subdirectories that were left out for want of -R: the manager's
// manifests directory reads them, so the two would differ.
func (o *fileOptions) warnSkipped(c *cli) {
	for _, p := range o.files {
		if p == "-" {
			continue
		}
		direct, err := v1.ManifestFiles(p, false)
		if err != nil {
			continue
		}
		all, err := v1.ManifestFiles(p, true)
		if err != nil || len(all) == len(direct) {
			continue
		}
		fmt.Fprintf(c.errOut, "warning: %s: %d manifest files in subdirectories were not read; use -R (--recursive) to read them too\n", p, len(all)-len(direct))
	}
}

// Values of --dry-run.
const (
	dryRunNone   = "none"
	dryRunServer = "server"
)

func (c *cli) newApplyCommand() *cobra.Command {
	var (
		files   fileOptions
		dryRun  string
		force   bool
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "apply -f FILE|DIR|- [-R] [--dry-run=server] [--wait [--timeout 60s]]",
		Short: "Create or update Tasks from manifest files",
		Long: `Apply reads every document of every manifest first. If any document is
invalid it applies none of them and prints every problem as
"error: FILE: document N (Task "NAME"): FIELD: MESSAGE". Otherwise it sends
the Tasks to the manager, up to 250 a request, and prints "task/NAME
created", "configured" or "unchanged" for each, in the order of the
documents. An error that makes
further requests pointless (the manager unreachable, the token refused)
stops the applies not yet sent; those done are still reported.

A manifest file may hold up to 64 MiB, each of its documents up to 1 MiB
(what the manager accepts in one request). YAML aliases are expanded
only within a budget in proportion to a document's size: a small document
that would expand to millions of values is refused, not expanded.

A Task that came from the manager's manifests directory (annotation
minkube.io/source) stays in the directory's care: applying the same
content again is "unchanged", and a change is refused, since the
directory would set it back; change the file instead, or use
--force-conflicts to take the Task out of the directory's care.

--dry-run=server has the manager validate each Task and say what it would
do, storing nothing; for a Task it would change, the fields that would
change follow, one per line.

--wait then follows the applied Tasks until every service (restartPolicy
Always) is Running and every job (OnFailure or Never) has Succeeded, showing the count as it goes ("2/3 Running") on one line on a
terminal and as plain lines otherwise. It exits 1 when a Task fails or the
timeout passes first (--timeout 0: no limit).`,
		Example: `  mkctl apply -f web.yaml
  mkctl apply -f manifests/ -R
  cat web.yaml | mkctl apply -f -
  mkctl apply -f web.yaml --dry-run=server
  mkctl apply -f manifests/ --wait --timeout 2m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(files.files) == 0 {
				return usageErrorf(cmd.CommandPath(), "must specify -f FILE, DIR or - (standard input)")
			}
			var dry bool
			switch dryRun {
			case dryRunNone:
			case dryRunServer:
				dry = true
			default:
				return usageErrorf(cmd.CommandPath(), "--dry-run must be %q or %q, not %q", dryRunNone, dryRunServer, dryRun)
			}
			if dry && wait {
				return usageErrorf(cmd.CommandPath(), "--wait cannot be used with --dry-run: nothing is applied to wait for")
			}
			if timeout < 0 {
				return usageErrorf(cmd.CommandPath(), "--timeout must not be negative")
			}
			applied, err := c.apply(cmd.Context(), &files, client.ApplyOptions{DryRun: dry, Force: force})
			if err != nil || !wait {
				return err
			}
			return c.waitRunning(cmd.Context(), applied, timeout)
		},
	}
	files.addFlags(cmd, "apply")
	cmd.Flags().StringVar(&dryRun, "dry-run", dryRunNone, `"server" has the manager validate each Task and report what it would change, storing nothing`)
	cmd.Flags().BoolVar(&force, "force-conflicts", false, "apply Tasks the manifests directory manages even when that changes them, taking them out of the directory's care")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait until every applied Task is Running, or for a job (restartPolicy OnFailure or Never) has Succeeded")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "with --wait: how long to wait; 0 means no limit")
	return cmd
}

// applyConcurrency is how many applies are in flight at once: enough for
// the manager to commit many creates in one store write (group commit) and
// for a file of 10,000 Tasks to take seconds (32 applied 10,000 Tasks
// 15-20% faster than 16 on two cores), few enough to leave it room for
// other clients.
const applyConcurrency = 32

// applyOutcome is what applying one document came to.
type applyOutcome struct {
	out    *v1.Task
	result client.ApplyResult
	// before is, with --dry-run=server, the Task as it was; nil when new.
	before *v1.Task
	err    error
	// cut says the apply was not sent, or failed, because the run was
	// cut short (the manager unreachable, the token refused, an
	// interrupt): that is reported once, not for each document.
	cut bool
}

// apply applies every document, or none when any is invalid, and returns
// the Tasks as stored. The Tasks go to the manager in batches
// (client.ApplyTasks); a dry run, or a manager that takes no batches, has
// them applied one a request, applyConcurrency at a time. The lines are
// printed in document order as the applies complete. An error that
// makes further requests pointless (fatal) stops the applies not yet sent
// and is returned once; the documents applied meanwhile are still
// reported.
func (c *cli) apply(ctx context.Context, files *fileOptions, opts client.ApplyOptions) ([]*v1.Task, error) {
	docs, err := files.read(c)
	if err != nil {
		return nil, err
	}
	api, err := c.client()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var (
		stopOnce sync.Once
		stopErr  error
	)
	stop := func(err error) {
		stopOnce.Do(func() { stopErr = err; cancel() })
	}
	outcomes := make([]applyOutcome, len(docs))
	done := make([]chan struct{}, len(docs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	// settle records what applying document i came to; each document is
	// settled once.
	settle := func(i int, o applyOutcome) {
		switch {
		case o.cut:
		case o.err != nil && fatal(ctx, o.err):
			stop(o.err)
			o.cut = true
		}
		outcomes[i] = o
		close(done[i])
	}
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }() // on an early return, nothing more is sent
	wg.Go(func() {
		if !opts.DryRun {
			tasks := make([]*v1.Task, len(docs))
			for i := range docs {
				tasks[i] = &docs[i].Task
			}
			settled := 0
			err := api.ApplyTasks(ctx, tasks, opts, func(i int, it client.ApplyItem) {
				settle(i, applyOutcome{out: it.Task, result: it.Result, err: it.Err})
				settled = i + 1
			})
			if !errors.Is(err, client.ErrNoBatchApply) {
				if err != nil {
					stop(err)
				}
				for i := settled; i < len(docs); i++ {
					settle(i, applyOutcome{cut: true})
				}
				return
			}
		}
		// One document a request, applyConcurrency at a time: a dry run,
		// which shows each Task as it was, or a manager that takes no
		// batches.
		var (
			next int64 = -1
			one  sync.WaitGroup
		)
		for range min(applyConcurrency, len(docs)) {
			one.Go(func() {
				for {
					i := int(atomic.AddInt64(&next, 1))
					if i >= len(docs) {
						return
					}
					if ctx.Err() != nil {
						settle(i, applyOutcome{cut: true})
						continue
					}
					settle(i, applyDocument(ctx, api, &docs[i].Task, opts))
				}
			})
		}
		one.Wait()
	})

	suffix := ""
	if opts.DryRun {
		suffix = " (server dry run)"
	}
	out := bufio.NewWriter(c.out)
	var applied []*v1.Task
	failed := false
	for i, d := range docs {
		select {
		case <-done[i]:
		default:
			_ = out.Flush() // show what is done while the next is under way
			<-done[i]
		}
		o := &outcomes[i]
		switch {
		case o.cut:
		case o.err != nil:
			_ = out.Flush()
			c.printDocumentError(d, o.err)
			failed = true
		default:
			fmt.Fprintf(out, "task/%s %s%s\n", d.Task.Metadata.Name, o.result, suffix)
			if opts.DryRun && o.result == client.Configured && o.before != nil {
				for _, ch := range taskChanges(o.before, o.out) {
					fmt.Fprintf(out, "  %s\n", ch)
				}
			}
			applied = append(applied, o.out)
		}
	}
	if err := out.Flush(); err != nil {
		return nil, fmt.Errorf("write output: %w", err)
	}
	wg.Wait()
	if stopErr != nil {
		return nil, stopErr
	}
	if ctx.Err() != nil { // interrupted between two applies
		return nil, context.Cause(ctx)
	}
	if failed {
		return nil, errReported
	}
	return applied, nil
}

// applyDocument applies one Task; with a dry run it first gets the Task
// as it is, to show what would change.
func applyDocument(ctx context.Context, api *client.Client, t *v1.Task, opts client.ApplyOptions) applyOutcome {
	var o applyOutcome
	if opts.DryRun {
		before, err := api.GetTask(ctx, t.Metadata.Name)
		if err != nil && !client.IsNotFound(err) {
			o.err = err
			return o
		}
		o.before = before
	}
	o.out, o.result, o.err = api.ApplyTask(ctx, t, opts)
	return o
}

// printDocumentError prints the manager's refusal of one document in the
// same form as a local one: a line per invalid field when the manager lists
// them.
func (c *cli) printDocumentError(d v1.Document, err error) {
	de := v1.DocumentError{File: d.File, Index: d.Index, Name: d.Task.Metadata.Name}
	if file, ok := managedRefusal(err); ok {
		de.Message = managedMessage(d.Task.Metadata.Name, file, "apply")
		c.printError(de)
		return
	}
	var st *v1.Status
	if errors.As(err, &st) && st.Details != nil && len(st.Details.Causes) > 0 {
		for _, cause := range st.Details.Causes {
			de.Field, de.Message = cause.Field, cause.Message
			c.printError(de)
		}
		return
	}
	de.Message = err.Error()
	c.printError(de)
}

// managedMessage says that a change to the Task name, which the manifests
// directory manages from file, was refused, and how verb (apply, edit)
// can take it out of the directory's care.
func managedMessage(name, file, verb string) string {
	return fmt.Sprintf("task %q is managed by the manifests directory (file %s), which would set it back; change that file, or %s with --force-conflicts to take the task out of the directory's care", name, file, verb)
}

// isJob reports whether t runs to completion rather than for good: its
// restart policy lets it end.
func isJob(t *v1.Task) bool {
	return t.Spec.RestartPolicy != v1.RestartAlways && t.Spec.RestartPolicy != ""
}

// managedRefusal reports whether err is the manager refusing to change a
// Task the manifests directory manages, and names the file.
func managedRefusal(err error) (file string, ok bool) {
	var st *v1.Status
	if !errors.As(err, &st) || st.Reason != v1.StatusReasonConflict || st.Details == nil {
		return "", false
	}
	for _, cause := range st.Details.Causes {
		if cause.Field == v1.FieldAnnotationSource {
			return cause.Message, true
		}
	}
	return "", false
}

// waitRunning follows the applied Tasks until each service (restartPolicy
// Always) is Running with its latest spec and each job (OnFailure, Never)
// has Succeeded, showing the count as it goes. A Failed Task, one deleted
// meanwhile and the timeout are errors.
func (c *cli) waitRunning(ctx context.Context, applied []*v1.Task, timeout time.Duration) error {
	if len(applied) == 0 {
		return nil
	}
	prog := &progress{out: c.out, tty: isTerminal(c.out), width: terminalWidth(c.out)}
	settled := map[string]bool{} // Tasks that failed or went, reported once
	failed := false
	var waiting []string
	check := func(state map[string]*v1.Task) (bool, error) {
		running, succeeded, failures := 0, 0, 0
		waiting = waiting[:0]
		for _, want := range applied {
			name := want.Metadata.Name
			t := state[name]
			var bad string // why the Task will not run
			switch {
			case t == nil || t.Metadata.UID != want.Metadata.UID:
				bad = "was deleted before it ran"
			case t.Status.Phase == v1.PhaseFailed:
				bad = "Failed: " + orNone(taskWhy(t))
			}
			switch {
			case bad != "":
				failures++
				if !settled[name] {
					settled[name] = true
					failed = true
					prog.report(c, fmt.Errorf("task/%s %s", name, bad))
				}
			case t.Status.Phase == v1.PhaseSucceeded:
				succeeded++
			case t.Status.Phase == v1.PhaseRunning && t.Metadata.DeletionTimestamp == nil &&
				t.Status.ObservedGeneration >= want.Metadata.Generation:
				running++
				if isJob(want) {
					// A job has done its work only once it has
					// Succeeded: it may still fail.
					waiting = append(waiting, name)
				}
			default:
				waiting = append(waiting, name)
			}
		}
		line := fmt.Sprintf("%d/%d Running", running, len(applied))
		if succeeded > 0 {
			line += fmt.Sprintf(", %d Succeeded", succeeded)
		}
		if failures > 0 {
			line += fmt.Sprintf(", %d Failed", failures)
		}
		if prog.tty && len(waiting) > 0 {
			t := state[waiting[0]]
			detail := v1.ShownPhase(t)
			if why := taskWhy(t); why != "" {
				detail += ", " + why
			}
			line += fmt.Sprintf(" (waiting for %s: %s)", waiting[0], detail)
		}
		prog.show(line)
		return len(waiting) == 0, nil
	}
	state, err := c.followTasks(ctx, timeout, check)
	prog.end()
	if errors.Is(err, errTimedOut) {
		for _, name := range waiting {
			goal := "Running"
			for _, a := range applied {
				if a.Metadata.Name == name && isJob(a) {
					goal = "Succeeded"
				}
			}
			c.printError(fmt.Errorf("timed out after %s waiting for task/%s to be %s: %s", timeout, name, goal, taskState(state[name])))
		}
		return errReported
	}
	if err != nil {
		return err
	}
	if failed {
		return errReported
	}
	return nil
}
