package runtime

import "io"

// TerminalSize is the size of a terminal in character cells.
type TerminalSize struct {
	Width, Height uint16
}

// ExecOptions are the command and streams of an interactive exec.
type ExecOptions struct {
	// Cmd is the program and its arguments.
	Cmd []string
	// Stdin, when not nil, is copied to the command's standard input; its
	// end (EOF) closes the command's standard input. ExecStream closes it
	// when it returns, which ends a Read in progress on an io.Pipe.
	Stdin io.ReadCloser
	// Stdout and Stderr receive the command's output as it comes. With
	// TTY a terminal has one output, and everything goes to Stdout.
	Stdout, Stderr io.Writer
	// TTY runs the command on a terminal.
	TTY bool
	// Size is the terminal's size at the start (TTY only); zero for the
	// engine's default.
	Size TerminalSize
	// Resize delivers later sizes of the terminal (TTY only); nil for
	// none.
	Resize <-chan TerminalSize
}
