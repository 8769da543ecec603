package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"

	v1 "github.com/minkube/minkube/apis/v1"
)

// terminal returns v as a file when it is a terminal.
func terminal(v any) (*os.File, bool) {
	f, ok := v.(*os.File)
	if !ok {
		return nil, false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return f, err == nil
}

// terminalSize returns the size of the terminal f.
func terminalSize(f *os.File) (v1.TerminalSize, bool) {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return v1.TerminalSize{}, false
	}
	return v1.TerminalSize{Width: ws.Col, Height: ws.Row}, true
}

// makeRaw puts the terminal f in raw mode, as ssh and kubectl exec -t do:
// every key goes to the remote terminal as typed (Ctrl-C included), and
// nothing is echoed here. It returns the function that restores the mode.
func makeRaw(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}

// watchResize sends the size of the terminal f each time it changes
// (SIGWINCH) until stop is called; stop returns once the goroutine it
// started has.
func watchResize(f *os.File) (sizes <-chan v1.TerminalSize, stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGWINCH)
	out := make(chan v1.TerminalSize, 1)
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-done:
				return
			case <-sig:
				size, ok := terminalSize(f)
				if !ok {
					continue
				}
				select { // only the latest size matters
				case <-out:
				default:
				}
				out <- size
			}
		}
	}()
	return out, func() {
		signal.Stop(sig)
		close(done)
		<-finished
	}
}
