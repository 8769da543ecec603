package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// errTimedOut is the cause of a context that a --timeout ended.
var errTimedOut = errors.New("timed out")

// followTasks follows every Task through the manager's watch API, resuming
// across broken connections and manager restarts, and calls check with the
// current Tasks by name after the first list and after every change, until
// check reports done or fails. With a positive timeout it gives up after
// that long with an error wrapping errTimedOut. It returns the last state
// it saw, for the caller to say what was still missing.
func (c *cli) followTasks(ctx context.Context, timeout time.Duration, check func(state map[string]*v1.Task) (bool, error)) (map[string]*v1.Task, error) {
	state := map[string]*v1.Task{}
	api, err := c.client()
	if err != nil {
		return state, err
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errTimedOut)
		defer cancel()
	}
	step := func() error {
		done, err := check(state)
		if err != nil {
			return err
		}
		if done {
			return client.ErrStopStream
		}
		return nil
	}
	onList := func(list *v1.TaskList) error {
		for i := range list.Items {
			state[list.Items[i].Metadata.Name] = &list.Items[i]
		}
		return step()
	}
	onEvent := func(ev v1.WatchEvent[*v1.Task]) error {
		if ev.Type == v1.Deleted {
			delete(state, ev.Object.Metadata.Name)
		} else {
			state[ev.Object.Metadata.Name] = ev.Object
		}
		return step()
	}
	err = api.StreamTasks(ctx, client.StreamOptions{}, onList, onEvent)
	if err != nil && errors.Is(context.Cause(ctx), errTimedOut) {
		return state, fmt.Errorf("%w after %s", errTimedOut, timeout)
	}
	return state, err
}

// taskState says in a few words where a Task stands, for messages: "it is
// Pending (Unschedulable: no worker is ready)".
func taskState(t *v1.Task) string {
	if t == nil {
		return "it does not exist"
	}
	s := "it is " + v1.ShownPhase(t)
	if t.Status.Worker != "" && !t.Status.Phase.Terminal() {
		s += " on worker " + t.Status.Worker
	}
	if why := taskWhy(t); why != "" {
		s += " (" + why + ")"
	}
	return s
}

// taskWhy is the reason and message of a Task's status, with the exit code
// of a finished one.
func taskWhy(t *v1.Task) string {
	var parts []string
	if t.Status.Reason != "" {
		parts = append(parts, t.Status.Reason)
	}
	if t.Status.Message != "" {
		parts = append(parts, oneLine(t.Status.Message))
	}
	why := strings.Join(parts, ": ")
	if t.Status.ExitCode != nil && t.Status.Phase.Terminal() {
		code := fmt.Sprintf("exit code %d", *t.Status.ExitCode)
		if why == "" {
			return code
		}
		return code + "; " + why
	}
	return why
}

// progress shows how a wait goes: on a terminal one line, rewritten in
// place; otherwise a plain line each time it changes.
type progress struct {
	out io.Writer
	tty bool
	// width is the terminal's, when known: a longer line is cut so that it
	// does not wrap, which would defeat rewriting it.
	width int
	shown string // the line on screen (tty) or last printed
}

// show sets the progress line.
func (p *progress) show(line string) {
	if r := []rune(line); p.tty && p.width > 4 && len(r) >= p.width {
		line = string(r[:p.width-4]) + "..."
	}
	if line == p.shown {
		return
	}
	p.shown = line
	if p.tty {
		fmt.Fprintf(p.out, "\r\x1b[K%s", line)
		return
	}
	fmt.Fprintln(p.out, line)
}

// report prints an error line without garbling the progress line.
func (p *progress) report(c *cli, err error) {
	if p.tty && p.shown != "" {
		fmt.Fprint(p.out, "\r\x1b[K")
	}
	c.printError(err)
	if p.tty && p.shown != "" {
		fmt.Fprint(p.out, p.shown)
	}
}

// end leaves the progress line as the last line of output.
func (p *progress) end() {
	if p.tty && p.shown != "" {
		fmt.Fprintln(p.out)
	}
	p.shown = ""
}
