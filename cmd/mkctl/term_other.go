//go:build !linux

package main

import "io"

// isTerminal reports whether w is a terminal. Outside Linux mkctl does not
// check and prints progress as plain lines.
func isTerminal(io.Writer) bool { return false }

// terminalWidth returns 0: unknown.
func terminalWidth(io.Writer) int { return 0 }
