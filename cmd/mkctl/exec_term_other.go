//go:build !linux

package main

import (
	"errors"
	"os"

	v1 "github.com/minkube/minkube/apis/v1"
)

// terminal reports no terminal: outside Linux, mkctl exec -t is not
// supported and runs without one.
func terminal(any) (*os.File, bool) { return nil, false }

func terminalSize(*os.File) (v1.TerminalSize, bool) { return v1.TerminalSize{}, false }

func makeRaw(*os.File) (func(), error) {
	return nil, errors.New("raw terminals are supported on Linux only")
}

func watchResize(*os.File) (<-chan v1.TerminalSize, func()) { return nil, func() {} }
