package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// completionTimeout bounds the manager calls a completion makes: a shell
// waiting on a Tab must not hang when the manager is away.
const completionTimeout = 3 * time.Second

// addCompletions teaches cobra's shell completion (mkctl completion
// bash|zsh|fish|powershell) what each command takes: resource types, the
// names of Tasks and workers (asked of the manager), and flag values.
func (c *cli) addCompletions(root *cobra.Command) {
	kinds := func(allowed ...string) []string { return plurals(allowed) }
	for _, cmd := range root.Commands() {
		switch cmd.Name() {
		case "get":
			cmd.ValidArgsFunction = c.completeTypedNames(kinds(kindTask, kindWorker, kindEvent))
		case "describe":
			cmd.ValidArgsFunction = c.completeTypedNames(kinds(kindTask, kindWorker))
		case "delete", "edit":
			cmd.ValidArgsFunction = c.completeTypedNames(kinds(kindTask))
		case "logs", "exec":
			cmd.ValidArgsFunction = c.completeNames(kindTask, true)
		case "wait":
			cmd.ValidArgsFunction = c.completeSlashNames(kindTask)
		case "cordon", "uncordon", "drain":
			cmd.ValidArgsFunction = c.completeNames(kindWorker, false)
		case "label":
			cmd.ValidArgsFunction = c.completeTypedNames(kinds(kindWorker))
		case "explain":
			cmd.ValidArgsFunction = completeExplain
		}
		values := map[string][]string{
			"output":  outputFormats,
			"dry-run": {dryRunNone, dryRunServer},
			"for": {"phase=Running", "phase=Succeeded", "phase=Failed", "condition=Ready", "condition=Scheduled",
				"condition=Started", "delete"},
		}
		for flag, vals := range values {
			if cmd.Flags().Lookup(flag) != nil {
				_ = cmd.RegisterFlagCompletionFunc(flag, fixed(vals...))
			}
		}
		if cmd.Flags().Lookup("task") != nil {
			_ = cmd.RegisterFlagCompletionFunc("task", c.completeNames(kindTask, false))
		}
		if cmd.Flags().Lookup("filename") != nil {
			_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
		}
	}
	_ = root.RegisterFlagCompletionFunc("context", completeContexts)
}

// fixed completes one of the values given; after a value that ends in
// "=" (jsonpath=) no space is added, for the template to follow.
func fixed(vals ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		d := cobra.ShellCompDirectiveNoFileComp
		for _, v := range vals {
			if strings.HasSuffix(v, "=") {
				d |= cobra.ShellCompDirectiveNoSpace
			}
		}
		return vals, d
	}
}

// completeExplain completes TYPE.FIELD.PATH one step at a time from the
// API's documentation: a kind, then the fields of what the path so far
// leads to.
func completeExplain(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	dir, _, found := strings.Cut(toComplete, ".")
	if !found {
		return []string{kindTask, kindWorker, kindEvent}, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
	}
	prefix := toComplete[:strings.LastIndexByte(toComplete, '.')]
	parts := strings.Split(prefix, ".")
	kind, err := normalizeKind("", dir, []string{kindTask, kindWorker, kindEvent})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	e, err := v1.Explain(kind, parts[1:])
	if err != nil || e.Type == nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	out := make([]string, 0, len(e.Type.Fields))
	for _, f := range e.Type.Fields {
		if p := prefix + "." + f.Name; strings.HasPrefix(p, toComplete) {
			out = append(out, p)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeTypedNames completes "TYPE NAME...": a type first, then the
// names of that type not given yet.
func (c *cli) completeTypedNames(types []string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) == 0 {
			return types, cobra.ShellCompDirectiveNoFileComp
		}
		kind, err := normalizeKind("", args[0], []string{kindTask, kindWorker, kindEvent})
		if err != nil || kind == kindEvent {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.names(cmd.Context(), kind, args[1:], "")
	}
}

// completeNames completes names of kind; single stops after one.
func (c *cli) completeNames(kind string, single bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if single && len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return c.names(cmd.Context(), kind, args, "")
	}
}

// completeSlashNames completes KIND/NAME arguments.
func (c *cli) completeSlashNames(kind string) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		return c.names(cmd.Context(), kind, args, kind+"/")
	}
}

// names asks the manager for the names of kind, leaving out those given.
func (c *cli) names(ctx context.Context, kind string, given []string, prefix string) ([]string, cobra.ShellCompDirective) {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, completionTimeout)
	defer cancel()
	api, err := c.client()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var names []string
	switch kind {
	case kindTask:
		var list *v1.TaskList
		if list, err = api.ListTasks(ctx, client.ListOptions{}); err == nil {
			for _, t := range list.Items {
				names = append(names, t.Metadata.Name)
			}
		}
	case kindWorker:
		var list *v1.WorkerList
		if list, err = api.ListWorkers(ctx); err == nil {
			for _, w := range list.Items {
				names = append(names, w.Metadata.Name)
			}
		}
	}
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if !slices.Contains(given, n) && !slices.Contains(given, prefix+n) {
			out = append(out, prefix+n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
