package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// exitCodeError carries the exit code of a command run by exec, which
// becomes mkctl's own.
type exitCodeError struct{ code int }

func (e *exitCodeError) Error() string {
	return fmt.Sprintf("command terminated with exit code %d", e.code)
}

func (c *cli) newExecCommand() *cobra.Command {
	var stdin, tty bool
	cmd := &cobra.Command{
		Use:   "exec TASK [-i] [-t] -- COMMAND [ARGS...]",
		Short: "Run a command in a Task's container",
		Long: `Exec runs a command in the running container of a Task, through the
manager and the worker that runs it, and exits with the command's exit
code (printing "command terminated with exit code N" when it is not 0).

The command runs as given: there is no shell unless the command names one.
-i (--stdin) sends mkctl's standard input to the command; without it the
command's standard input is empty. -t (--tty) runs the command on a
terminal, the size of yours, and puts your terminal in raw mode so that
every key (Ctrl-C included) goes to the command; use -it for a shell. With
-i, -t needs standard input to be a terminal, and is dropped with a
warning when it is not.

Interrupting mkctl (without -t) ends the session; the container's engine
cannot stop an exec, so a command that ignores the end of its input may
go on running in the container.`,
		Example: `  mkctl exec web -- /app version
  mkctl exec web -i -- /app import < data.json
  mkctl exec -it web -- /bin/sh`,
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.CommandPath()
			dash := cmd.ArgsLenAtDash()
			switch {
			case dash < 0:
				return usageErrorf(path, "give the command after --: mkctl exec TASK -- COMMAND [ARGS...]")
			case dash != 1:
				return usageErrorf(path, "exec takes one Task before --, got %d arguments", dash)
			case len(args) == 1:
				return usageErrorf(path, "give the command to run after --")
			}
			name := args[0]
			if strings.Contains(name, "/") {
				_, names, err := parseResourceArgs(path, args[:1], kindTask)
				if err != nil {
					return err
				}
				name = names[0]
			}
			return c.exec(cmd.Context(), name, v1.ExecOptions{Command: args[1:], Stdin: stdin, TTY: tty})
		},
	}
	cmd.Flags().BoolVarP(&stdin, "stdin", "i", false, "send standard input to the command")
	cmd.Flags().BoolVarP(&tty, "tty", "t", false, "run the command on a terminal, with yours in raw mode")
	return cmd
}

// exec runs the command and returns an *exitCodeError when it exits with
// a code other than 0.
func (c *cli) exec(ctx context.Context, name string, opts v1.ExecOptions) error {
	inTerm, inIsTerm := terminal(c.in)
	outTerm, outIsTerm := terminal(c.out)
	if opts.TTY && opts.Stdin && !inIsTerm {
		fmt.Fprintln(c.errOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
		opts.TTY = false
	}
	term := inTerm
	if !inIsTerm {
		term = outTerm
	}
	hasTerm := inIsTerm || outIsTerm
	if opts.TTY && hasTerm {
		opts.Size, _ = terminalSize(term)
	}
	api, err := c.client()
	if err != nil {
		return err
	}
	conn, err := api.ExecTask(ctx, name, opts)
	if err != nil {
		return notFound(kindTask, name, err)
	}
	streams := client.ExecStreams{Stdout: c.out, Stderr: c.errOut}
	if opts.Stdin {
		streams.Stdin = c.in
	}
	if opts.TTY && hasTerm {
		sizes, stop := watchResize(term)
		defer stop()
		streams.Resize = sizes
	}
	if opts.TTY && inIsTerm {
		restore, err := makeRaw(inTerm)
		if err != nil {
			conn.Close()
			return fmt.Errorf("put the terminal in raw mode: %w", err)
		}
		defer restore()
	}
	code, err := client.StreamExec(ctx, conn, streams)
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, client.ErrExecBroken):
		return fmt.Errorf("exec in task %q: %w", name, err)
	case err != nil:
		return err
	case code != 0:
		return &exitCodeError{code: code}
	}
	return nil
}
