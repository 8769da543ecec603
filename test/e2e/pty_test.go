package e2e

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// ptyProc is a process whose standard streams and controlling terminal
// are a pseudo-terminal the test holds the other end of, as a person's
// terminal would be.
type ptyProc struct {
	cmd    *exec.Cmd
	master *os.File
	lines  chan string
	done   chan struct{}
}

// startOnPTY starts cmd on a new pseudo-terminal of rows x cols; the
// test's end kills it if it still runs.
func startOnPTY(t testing.TB, cmd *exec.Cmd, rows, cols uint16) *ptyProc {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil { // unlockpt
		t.Fatalf("unlock the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN) // ptsname
	if err != nil {
		t.Fatalf("name the pty: %v", err)
	}
	slave, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("open the pty's terminal: %v", err)
	}
	defer slave.Close()
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("size the pty: %v", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	// A session of its own, with the pty as its controlling terminal: the
	// kernel sends it SIGWINCH when the size changes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", cmd.Args, err)
	}
	p := &ptyProc{cmd: cmd, master: master, lines: make(chan string, 1024), done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(master) // ends with EIO once the process has gone
		for sc.Scan() {
			p.lines <- strings.TrimRight(sc.Text(), "\r")
		}
		close(p.lines)
	}()
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		master.Close()
	})
	return p
}

// resize changes the terminal's size.
func (p *ptyProc) resize(t testing.TB, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(p.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("resize the pty: %v", err)
	}
}

// typeLine sends text and a carriage return, as the Enter key does.
func (p *ptyProc) typeLine(t testing.TB, text string) {
	t.Helper()
	if _, err := p.master.WriteString(text + "\r"); err != nil {
		t.Fatalf("type %q: %v", text, err)
	}
}

// await reads lines until one is want, typing ask (when not "") every
// half second meanwhile.
func (p *ptyProc) await(t testing.TB, want, ask string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var seen []string
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("the terminal closed before %q; saw %q", want, seen)
			}
			if l == want {
				return
			}
			seen = append(seen, l)
		case <-tick.C:
			if ask != "" {
				p.typeLine(t, ask)
			}
		case <-deadline:
			t.Fatalf("no line %q on the terminal; saw %q", want, seen)
		}
	}
}

// exit waits for the process to end and returns its exit code and the
// lines it printed meanwhile.
func (p *ptyProc) exit(t testing.TB) (int, []string) {
	t.Helper()
	var rest []string
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%v did not exit", p.cmd.Args)
	}
	for l := range p.lines {
		rest = append(rest, l)
	}
	return p.cmd.ProcessState.ExitCode(), rest
}
