package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// newRootCommand returns the mkctl command with every subcommand.
func (c *cli) newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "mkctl",
		Short: "mkctl controls a Minkube cluster",
		Long: `mkctl controls a Minkube cluster: it applies Task manifests to the
manager, lists, watches, describes and deletes Tasks, follows their logs and
events, waits for them, and cordons and drains workers.

The manager is found through --server, $MINKUBE_SERVER, or the cluster of
the context (--context, $MINKUBE_CONTEXT, or the current context of the
config file, $MINKUBE_CONFIG or ~/.minkube/config), or else
https://127.0.0.1:7070; the token through --token, --token-file,
$MINKUBE_TOKEN, $MINKUBE_TOKEN_FILE or that cluster's token (--token shows
in ps: prefer the others); the CA that verifies the manager through
--certificate-authority, $MINKUBE_CERTIFICATE_AUTHORITY or that cluster's
certificate-authority-data. A manager adds its cluster, CA and token to the
config file when it starts; mkctl config get-contexts lists them.`,
		SilenceUsage:               true,
		SilenceErrors:              true,
		SuggestionsMinimumDistance: 2,
		// Args and RunE make an unknown command an error of ours, reported
		// on one line with a suggestion, instead of cobra's.
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += fmt.Sprintf("; did you mean %q?", s[0])
			}
			return usageErrorf(cmd.CommandPath(), "%s", msg)
		},
	}
	root.SetIn(c.in)
	root.SetOut(c.out)
	root.SetErr(c.errOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{commandPath: cmd.CommandPath(), err: err}
	})
	// mkctl completion bash|zsh|fish|powershell, listed in --help.
	root.CompletionOptions.HiddenDefaultCmd = false

	flags := root.PersistentFlags()
	flags.StringVar(&c.serverFlag, "server", "", "address of the manager (default from $MINKUBE_SERVER, the context in ~/.minkube/config, or https://127.0.0.1:7070)")
	flags.StringVar(&c.tokenFlag, "token", "", "bearer token for the manager (default from $MINKUBE_TOKEN or the context in ~/.minkube/config); visible in ps: prefer --token-file or $MINKUBE_TOKEN")
	flags.StringVar(&c.tokenFileFlag, "token-file", "", "file holding the bearer token (default $MINKUBE_TOKEN_FILE)")
	flags.StringVar(&c.caFlag, "certificate-authority", "", "PEM file of the CA that verifies the manager (default $MINKUBE_CERTIFICATE_AUTHORITY or the context's certificate-authority-data)")
	flags.StringVar(&c.contextFlag, "context", "", "context of the config file to use (default from $MINKUBE_CONTEXT or the file's current-context)")

	root.AddCommand(
		c.newApplyCommand(),
		c.newGetCommand(),
		c.newDescribeCommand(),
		c.newDeleteCommand(),
		c.newLogsCommand(),
		c.newExecCommand(),
		c.newWaitCommand(),
		c.newCordonCommand(),
		c.newUncordonCommand(),
		c.newDrainCommand(),
		c.newLabelCommand(),
		c.newEditCommand(),
		c.newExplainCommand(),
		c.newTopCommand(),
		c.newDashboardCommand(),
		c.newConfigCommand(),
		c.newVersionCommand(),
	)
	c.addCompletions(root)
	return root
}

// noArgs refuses positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf(cmd.CommandPath(), "unexpected arguments: %s", strings.Join(args, " "))
	}
	return nil
}

// Resource kinds the commands work on.
const (
	kindTask   = "task"
	kindWorker = "worker"
	kindEvent  = "event"
)

// parseResourceArgs reads "TYPE NAME..." or "TYPE/NAME..." (as printed by
// -o name) into a kind and names. allowed lists the kinds the command
// handles.
func parseResourceArgs(commandPath string, args []string, allowed ...string) (kind string, names []string, err error) {
	if len(args) == 0 {
		return "", nil, usageErrorf(commandPath, "you must specify the type of resource: %s", orList(plurals(allowed)))
	}
	if strings.Contains(args[0], "/") {
		for _, a := range args {
			k, name, ok := strings.Cut(a, "/")
			if !ok || name == "" {
				return "", nil, usageErrorf(commandPath, "%q: arguments in TYPE/NAME form cannot be mixed with others", a)
			}
			k, err := normalizeKind(commandPath, k, allowed)
			if err != nil {
				return "", nil, err
			}
			if kind != "" && k != kind {
				return "", nil, usageErrorf(commandPath, "%q: all arguments must be of one type (%s)", a, kind)
			}
			kind = k
			names = append(names, name)
		}
		return kind, names, nil
	}
	kind, err = normalizeKind(commandPath, args[0], allowed)
	if err != nil {
		return "", nil, err
	}
	return kind, args[1:], nil
}

// shortNames are the abbreviations of the kinds, as kubectl has po and no.
var shortNames = map[string]string{"t": kindTask, "w": kindWorker, "ev": kindEvent}

func normalizeKind(commandPath, s string, allowed []string) (string, error) {
	k := strings.TrimSuffix(strings.ToLower(s), "s")
	if full, ok := shortNames[strings.ToLower(s)]; ok {
		k = full
	}
	for _, a := range allowed {
		if k == a {
			return k, nil
		}
	}
	return "", usageErrorf(commandPath, "unknown resource type %q: use %s", s, orList(plurals(allowed)))
}

func plurals(kinds []string) []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k + "s"
	}
	return out
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
