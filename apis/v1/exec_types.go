package v1

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// ExecProtocol is the Upgrade token of an exec session: POST
// .../tasks/:name/exec (manager) or .../tasks/:uid/exec (worker) with
// "Connection: Upgrade" and "Upgrade: minkube-exec.v1" is answered with
// 101 Switching Protocols, after which the connection carries exec frames
// both ways (WriteExecFrame, ReadExecFrame).
const ExecProtocol = "minkube-exec.v1"

// Limits of an exec request and its frames.
const (
	// MaxExecArgs is the most arguments a command may have.
	MaxExecArgs = 1024
	// MaxExecCommandBytes bounds the command's arguments together.
	MaxExecCommandBytes = 64 << 10
	// MaxExecFrame is the largest frame payload; a larger one ends the
	// session as a protocol error.
	MaxExecFrame = 32 << 10
)

// ExecOptions say what an exec runs and how: the command, and whether it
// gets standard input and a terminal. Query and ParseExecOptions are its
// one wire form, on the manager API and the worker API alike.
type ExecOptions struct {
	// Command is the program and its arguments. The test image has no
	// shell: a command runs as given.
	Command []string
	// Stdin attaches the command's standard input to the client's.
	Stdin bool
	// TTY runs the command on a terminal; its output is then one stream.
	TTY bool
	// Size, with TTY, is the terminal's size at the start; later sizes
	// come as ExecResize frames.
	Size TerminalSize
}

// TerminalSize is a terminal's size in character cells; the body of an
// ExecResize frame.
type TerminalSize struct {
	Width  uint16 `json:"width"`
	Height uint16 `json:"height"`
}

// ExecResult is the body of the ExecExit frame, the last of a session:
// the command's exit code, or why it could not be run or followed.
type ExecResult struct {
	ExitCode int `json:"exitCode"`
	// Error, when set, says the command could not be run to its end (the
	// container stopped, the worker is shutting down); ExitCode is then
	// meaningless.
	Error string `json:"error,omitempty"`
}

// Query renders o as URL query parameters: command (repeated), stdin,
// tty, width and height, each only when set.
func (o ExecOptions) Query() url.Values {
	q := url.Values{}
	for _, a := range o.Command {
		q.Add("command", a)
	}
	if o.Stdin {
		q.Set("stdin", "true")
	}
	if o.TTY {
		q.Set("tty", "true")
	}
	if o.Size.Width > 0 || o.Size.Height > 0 {
		q.Set("width", strconv.Itoa(int(o.Size.Width)))
		q.Set("height", strconv.Itoa(int(o.Size.Height)))
	}
	return q
}

// ParseExecOptions reads the query parameters Query writes. It returns an
// error naming the parameter that is missing, malformed or over its
// limit.
func ParseExecOptions(q url.Values) (ExecOptions, error) {
	o := ExecOptions{Command: q["command"]}
	switch {
	case len(o.Command) == 0 || o.Command[0] == "":
		return o, errors.New("command: give the program to run (command=PROGRAM&command=ARG...)")
	case len(o.Command) > MaxExecArgs:
		return o, fmt.Errorf("command: %d arguments, over the limit of %d", len(o.Command), MaxExecArgs)
	}
	total := 0
	for _, a := range o.Command {
		total += len(a)
	}
	if total > MaxExecCommandBytes {
		return o, fmt.Errorf("command: %d bytes, over the limit of %d", total, MaxExecCommandBytes)
	}
	for _, p := range []struct {
		name string
		v    *bool
	}{{"stdin", &o.Stdin}, {"tty", &o.TTY}} {
		if s := q.Get(p.name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return o, fmt.Errorf("%s %q: must be true or false", p.name, s)
			}
			*p.v = b
		}
	}
	for _, p := range []struct {
		name string
		v    *uint16
	}{{"width", &o.Size.Width}, {"height", &o.Size.Height}} {
		if s := q.Get(p.name); s != "" {
			n, err := strconv.ParseUint(s, 10, 16)
			if err != nil {
				return o, fmt.Errorf("%s %q: must be a number of character cells, 0..65535", p.name, s)
			}
			*p.v = uint16(n)
		}
	}
	return o, nil
}

// ExecChannel is the first byte of an exec frame: which stream the
// payload belongs to.
type ExecChannel byte

// Exec channels. Frames of ExecStdin and ExecResize go from the client to
// the worker; the others from the worker to the client, ExecExit last.
const (
	// ExecStdin carries standard input; an empty payload closes it.
	ExecStdin ExecChannel = 0
	// ExecStdout carries standard output (all output, with a TTY).
	ExecStdout ExecChannel = 1
	// ExecStderr carries standard error.
	ExecStderr ExecChannel = 2
	// ExecResize carries a TerminalSize as JSON.
	ExecResize ExecChannel = 3
	// ExecExit carries the ExecResult as JSON; nothing follows it.
	ExecExit ExecChannel = 4
)

// execHeader is a frame's size before its payload: the channel, then the
// payload's length as a 32-bit big-endian number.
const execHeader = 5

// WriteExecFrame writes one frame of payload on ch; payload must not be
// longer than MaxExecFrame.
func WriteExecFrame(w io.Writer, ch ExecChannel, payload []byte) error {
	if len(payload) > MaxExecFrame {
		return fmt.Errorf("exec frame of %d bytes, over the limit of %d", len(payload), MaxExecFrame)
	}
	buf := make([]byte, execHeader+len(payload))
	buf[0] = byte(ch)
	binary.BigEndian.PutUint32(buf[1:execHeader], uint32(len(payload)))
	copy(buf[execHeader:], payload)
	_, err := w.Write(buf)
	return err
}

// ReadExecFrame reads one frame into buf (which must hold MaxExecFrame
// bytes) and returns its channel and payload, a slice of buf. A frame
// over MaxExecFrame is an error; io.EOF means the stream ended between
// frames, io.ErrUnexpectedEOF in one.
func ReadExecFrame(r io.Reader, buf []byte) (ExecChannel, []byte, error) {
	var h [execHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[1:])
	if n > MaxExecFrame || int(n) > len(buf) {
		return 0, nil, fmt.Errorf("exec frame of %d bytes, over the limit of %d", n, MaxExecFrame)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return ExecChannel(h[0]), buf[:n], nil
}

// ExecFrameWriter is an io.Writer whose writes go out as frames of one
// channel, cut at MaxExecFrame; writers of several channels share Mu so
// that their frames do not interleave.
type ExecFrameWriter struct {
	W       io.Writer
	Channel ExecChannel
	Mu      *sync.Mutex
}

// Write sends p as one or more frames.
func (f ExecFrameWriter) Write(p []byte) (int, error) {
	f.Mu.Lock()
	defer f.Mu.Unlock()
	written := 0
	for len(p) > 0 {
		n := min(len(p), MaxExecFrame)
		if err := WriteExecFrame(f.W, f.Channel, p[:n]); err != nil {
			return written, err
		}
		written += n
		p = p[n:]
	}
	return written, nil
}

// ExecUpgradeRequested reports whether a request's headers ask to switch
// the connection to ExecProtocol.
func ExecUpgradeRequested(h http.Header) bool {
	connUpgrade := false
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			connUpgrade = connUpgrade || strings.EqualFold(strings.TrimSpace(tok), "upgrade")
		}
	}
	return connUpgrade && strings.EqualFold(h.Get("Upgrade"), ExecProtocol)
}

// SwitchToExec answers an exec request with 101 Switching Protocols and
// returns the connection, taken from the HTTP server, and the reader of
// what the client sent after the request. The caller closes conn.
func SwitchToExec(w http.ResponseWriter) (conn net.Conn, in *bufio.Reader, err error) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, nil, fmt.Errorf("switch to %s: %w", ExecProtocol, err)
	}
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", ExecProtocol)
	if err := rw.Flush(); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("switch to %s: %w", ExecProtocol, err)
	}
	return conn, rw.Reader, nil
}
