package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/spf13/cobra"
)

// defaultTimeout bounds wait, apply --wait, delete --wait and drain.
const defaultTimeout = 60 * time.Second

// waitKind is what --for waits for.
type waitKind int

const (
	waitPhase waitKind = iota + 1
	waitCondition
	waitDelete
)

// condition is a parsed --for.
type condition struct {
	kind   waitKind
	phase  v1.Phase
	typ    string
	status v1.ConditionStatus
}

var (
	phases         = []v1.Phase{v1.PhasePending, v1.PhaseScheduled, v1.PhaseRunning, v1.PhaseSucceeded, v1.PhaseFailed, v1.PhaseUnknown}
	conditionTypes = []string{v1.TaskScheduled, v1.TaskStarted, v1.TaskReady, v1.TaskUpdated}
)

// parseCondition reads --for: phase=P, condition=TYPE[=True|False] or
// delete. Names are matched without regard to case.
func parseCondition(s string) (condition, error) {
	what, arg, _ := strings.Cut(s, "=")
	switch strings.ToLower(what) {
	case "delete":
		if arg != "" {
			break
		}
		return condition{kind: waitDelete}, nil
	case "phase":
		for _, p := range phases {
			if strings.EqualFold(arg, string(p)) {
				return condition{kind: waitPhase, phase: p}, nil
			}
		}
		return condition{}, fmt.Errorf("--for=%s: unknown phase %q; use one of %s", s, arg, orList(phaseNames()))
	case "condition":
		typ, value, hasValue := strings.Cut(arg, "=")
		cd := condition{kind: waitCondition, status: v1.ConditionTrue}
		for _, t := range conditionTypes {
			if strings.EqualFold(typ, t) {
				cd.typ = t
			}
		}
		if cd.typ == "" {
			return condition{}, fmt.Errorf("--for=%s: unknown condition %q; use %s", s, typ, orList(conditionTypes))
		}
		if hasValue {
			switch {
			case strings.EqualFold(value, "true"):
			case strings.EqualFold(value, "false"):
				cd.status = v1.ConditionFalse
			default:
				return condition{}, fmt.Errorf("--for=%s: a condition is True or False, not %q", s, value)
			}
		}
		return cd, nil
	}
	return condition{}, fmt.Errorf("--for=%s: use phase=PHASE, condition=TYPE[=True|False] or delete", s)
}

func phaseNames() []string {
	out := make([]string, len(phases))
	for i, p := range phases {
		out[i] = string(p)
	}
	return out
}

// goal words the condition for messages: "be Running", "have Ready=True".
func (cd condition) goal() string {
	switch cd.kind {
	case waitPhase:
		return "be " + string(cd.phase)
	case waitCondition:
		return fmt.Sprintf("have %s=%s", cd.typ, cd.status)
	}
	return "be deleted"
}

// check says whether t (nil when it is gone; uid is the incarnation the
// wait began with) meets the condition, or, as never, why it never can.
func (cd condition) check(t *v1.Task, uid string) (met bool, never string) {
	gone := t == nil || (uid != "" && t.Metadata.UID != uid)
	if cd.kind == waitDelete {
		return gone, ""
	}
	if gone {
		return false, "was deleted"
	}
	phase := v1.Phase(v1.ShownPhase(t))
	if cd.kind == waitPhase {
		if phase == cd.phase {
			return true, ""
		}
		if t.Status.Phase.Terminal() {
			return false, fmt.Sprintf("is %s and can never %s", t.Status.Phase, cd.goal())
		}
		return false, ""
	}
	c := v1.FindCondition(t.Status.Conditions, cd.typ)
	if c != nil && c.Status == cd.status && !staleCondition(t, c) {
		return true, ""
	}
	if t.Status.Phase.Terminal() {
		return false, fmt.Sprintf("is %s and can never %s", t.Status.Phase, cd.goal())
	}
	return false, ""
}

// staleCondition reports whether c speaks of an older generation than the
// task's spec, as kubectl wait judges: by the condition's
// observedGeneration, else the status's; neither set says nothing.
func staleCondition(t *v1.Task, c *v1.Condition) bool {
	gen := c.ObservedGeneration
	if gen == 0 {
		gen = t.Status.ObservedGeneration
	}
	return gen != 0 && gen < t.Metadata.Generation
}

// state words where t stands with regard to the condition.
func (cd condition) state(t *v1.Task) string {
	if cd.kind == waitCondition && t != nil {
		c := v1.FindCondition(t.Status.Conditions, cd.typ)
		if c == nil {
			return fmt.Sprintf("it has no %s condition yet; %s", cd.typ, taskState(t))
		}
		s := fmt.Sprintf("its %s condition is %s", cd.typ, c.Status)
		if c.Reason != "" || c.Message != "" {
			s += " (" + strings.Trim(c.Reason+": "+oneLine(c.Message), ": ") + ")"
		}
		if staleCondition(t, c) {
			s += fmt.Sprintf(" for generation %d, not the spec's generation %d: the update is not done", max(c.ObservedGeneration, t.Status.ObservedGeneration), t.Metadata.Generation)
		}
		return s + "; " + taskState(t)
	}
	if cd.kind == waitDelete && t != nil && t.Metadata.DeletionTimestamp == nil {
		return taskState(t) + " and no delete was asked for"
	}
	return taskState(t)
}

func (c *cli) newWaitCommand() *cobra.Command {
	var (
		forFlag string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "wait task/NAME... --for=phase=PHASE|condition=TYPE[=True|False]|delete [--timeout 60s]",
		Short: "Wait until Tasks reach a phase or condition, or are deleted",
		Long: `Wait follows the Tasks named through the manager's watch API until each
meets the condition, printing "task/NAME condition met" (or "deleted") as it
does, and exits 0 once all have. It exits 1 with a message when the timeout
passes first, or at once when a Task reaches a phase that can never meet the
condition (a Failed task never becomes Running). --timeout 0 checks once.`,
		Example: `  mkctl wait task/web --for=phase=Running
  mkctl wait task/web --for=condition=Ready --timeout 2m
  mkctl wait task/job --for=phase=Succeeded
  mkctl wait task/web --for=delete`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			if len(args) == 0 {
				return usageErrorf(path, "name the Tasks to wait for: task/NAME...")
			}
			_, names, err := parseResourceArgs(path, args, kindTask)
			if err != nil {
				return err
			}
			if len(names) == 0 {
				return usageErrorf(path, "name the Tasks to wait for: task/NAME...")
			}
			if forFlag == "" {
				return usageErrorf(path, "--for is required: phase=PHASE, condition=TYPE[=True|False] or delete")
			}
			cd, err := parseCondition(forFlag)
			if err != nil {
				return &usageError{commandPath: path, err: err}
			}
			if timeout < 0 {
				return usageErrorf(path, "--timeout must not be negative")
			}
			// A Task named twice is waited for, and reported, once.
			seen := map[string]bool{}
			names = slices.DeleteFunc(names, func(n string) bool {
				dup := seen[n]
				seen[n] = true
				return dup
			})
			return c.wait(cmd.Context(), names, cd, timeout)
		},
	}
	cmd.Flags().StringVar(&forFlag, "for", "", "the condition: phase=PHASE, condition=TYPE[=True|False] or delete")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultTimeout, "how long to wait; 0 checks once")
	return cmd
}

// wait follows the Tasks until each meets cd, can never meet it, or the
// timeout passes.
func (c *cli) wait(ctx context.Context, names []string, cd condition, timeout time.Duration) error {
	pending := slices.Clone(names)
	uids := map[string]string{}
	first := true
	failed := false
	check := func(state map[string]*v1.Task) (bool, error) {
		if first {
			first = false
			for _, name := range names {
				t := state[name]
				if t == nil && cd.kind != waitDelete {
					c.printError(fmt.Errorf("%s %q not found", kindTask, name))
					failed = true
					pending = slices.DeleteFunc(pending, func(n string) bool { return n == name })
					continue
				}
				if t != nil {
					uids[name] = t.Metadata.UID
				}
			}
		}
		pending = slices.DeleteFunc(pending, func(name string) bool {
			met, never := cd.check(state[name], uids[name])
			switch {
			case met && cd.kind == waitDelete:
				fmt.Fprintf(c.out, "task/%s deleted\n", name)
			case met:
				fmt.Fprintf(c.out, "task/%s condition met\n", name)
			case never != "":
				t := state[name]
				msg := fmt.Sprintf("task/%s %s", name, never)
				if t != nil && t.Metadata.UID == uids[name] {
					if why := taskWhy(t); why != "" {
						msg += " (" + why + ")"
					}
				}
				c.printError(errors.New(msg))
				failed = true
			default:
				return false
			}
			return true
		})
		return len(pending) == 0, nil
	}
	var state map[string]*v1.Task
	var err error
	if timeout == 0 {
		state, err = c.checkOnce(ctx, check)
	} else {
		state, err = c.followTasks(ctx, timeout, check)
	}
	if errors.Is(err, errTimedOut) || (timeout == 0 && err == nil && len(pending) > 0) {
		for _, name := range pending {
			t := state[name]
			if t != nil && uids[name] != "" && t.Metadata.UID != uids[name] {
				t = nil
			}
			if timeout == 0 {
				c.printError(fmt.Errorf("task/%s has yet to %s: %s", name, cd.goal(), cd.state(t)))
				continue
			}
			c.printError(fmt.Errorf("timed out after %s waiting for task/%s to %s: %s", timeout, name, cd.goal(), cd.state(t)))
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

// checkOnce lists the Tasks and calls check once.
func (c *cli) checkOnce(ctx context.Context, check func(map[string]*v1.Task) (bool, error)) (map[string]*v1.Task, error) {
	state := map[string]*v1.Task{}
	api, err := c.client()
	if err != nil {
		return state, err
	}
	list, err := api.ListTasks(ctx, client.ListOptions{})
	if err != nil {
		return state, err
	}
	for i := range list.Items {
		state[list.Items[i].Metadata.Name] = &list.Items[i]
	}
	_, err = check(state)
	return state, err
}
