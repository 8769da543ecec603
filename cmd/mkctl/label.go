package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (c *cli) newLabelCommand() *cobra.Command {
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "label worker NAME KEY=VALUE... KEY-... [--overwrite]",
		Short: "Set or remove labels of a worker",
		Long: `Label sets (KEY=VALUE) or removes (KEY-) labels of a worker on the manager.
Changing a label that has a value needs --overwrite. Tasks waiting for a
worker whose labels match their nodeSelector are placed at once; Tasks
already running stay where they are.

Labels set or removed here are kept when the worker restarts: a
registration applies only what changed in the worker's --labels since its
last one, so a key set here changes again only if --labels changes it.`,
		Example: `  mkctl label worker w1 disk=ssd
  mkctl label worker w1 disk=nvme --overwrite
  mkctl label worker w1 disk-`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			if len(args) == 0 {
				return usageErrorf(path, "label takes worker NAME and at least one KEY=VALUE or KEY-")
			}
			_, names, err := parseResourceArgs(path, args[:1], kindWorker)
			if err != nil {
				return err
			}
			rest := args[1:]
			if len(names) == 0 && len(rest) > 0 {
				names, rest = rest[:1], rest[1:]
			}
			if len(names) == 0 || len(rest) == 0 {
				return usageErrorf(path, "label takes worker NAME and at least one KEY=VALUE or KEY-")
			}
			changes := map[string]*string{}
			for _, a := range rest {
				switch k, v, ok := strings.Cut(a, "="); {
				case ok && k != "":
					changes[k] = &v
				case !ok && strings.HasSuffix(a, "-") && len(a) > 1:
					changes[strings.TrimSuffix(a, "-")] = nil
				default:
					return usageErrorf(path, "%q is not KEY=VALUE or KEY-", a)
				}
			}
			api, err := c.client()
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			w, err := api.GetWorker(ctx, names[0])
			if err != nil {
				return notFound(kindWorker, names[0], err)
			}
			for k, v := range changes {
				if old, ok := w.Metadata.Labels[k]; ok && v != nil && old != *v && !overwrite {
					return fmt.Errorf("worker/%s already has label %s=%s; use --overwrite to change it", names[0], k, old)
				}
			}
			if _, err := api.LabelWorker(ctx, names[0], changes); err != nil {
				return notFound(kindWorker, names[0], err)
			}
			fmt.Fprintf(c.out, "worker/%s labeled\n", names[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "change labels that already have another value")
	return cmd
}
