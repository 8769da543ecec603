package docker_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
	"github.com/minkube/minkube/workerd/runtime/docker"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRuntime_ExecStream(t *testing.T) {
	t.Parallel()
	r := mustRuntime(t, docker.Options{})
	id := mustCreate(t, r, runtime.ContainerSpec{})
	mustStart(t, r, id)

	tests := []struct {
		name                 string
		cmd                  []string
		stdin                string // "" attaches no stdin
		wantCode             int
		wantStdout, wantErrs string
	}{
		{name: "stdin to stdout", cmd: []string{"/testapp", "cat"}, stdin: "hello\nworld\n", wantStdout: "hello\nworld\n"},
		{name: "stderr apart, exit code", cmd: []string{"/testapp", "crash"}, wantCode: 1, wantErrs: "crashing on start\n"},
		{name: "exit code", cmd: []string{"/testapp", "exit", "--code", "3"}, wantCode: 3, wantStdout: "exiting with code 3 after 0s\n"},
		{name: "no such binary", cmd: []string{"/bin/sh"}, wantCode: 126},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			opts := runtime.ExecOptions{Cmd: tt.cmd, Stdout: &stdout, Stderr: &stderr}
			if tt.stdin != "" {
				opts.Stdin = io.NopCloser(strings.NewReader(tt.stdin))
			}
			code, err := r.ExecStream(t.Context(), id, opts)
			if err != nil {
				t.Fatalf("ExecStream(%v): %v", tt.cmd, err)
			}
			if code != tt.wantCode || (tt.wantCode != 126 && (stdout.String() != tt.wantStdout || stderr.String() != tt.wantErrs)) {
				t.Errorf("ExecStream(%v) = %d, stdout %q, stderr %q; want %d, %q, %q", tt.cmd, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantStdout, tt.wantErrs)
			}
		})
	}

	t.Run("exits while stdin is open", func(t *testing.T) {
		pr, pw := io.Pipe()
		defer pw.Close()
		var out syncBuffer
		code, err := r.ExecStream(t.Context(), id, runtime.ExecOptions{
			Cmd: []string{"/testapp", "exit", "--code", "5"}, Stdin: pr, Stdout: &out, Stderr: &out})
		if err != nil || code != 5 {
			t.Fatalf("ExecStream = %d, %v; want 5", code, err)
		}
		// ExecStream closed stdin: a writer learns that the command is gone.
		if _, err := pw.Write([]byte("late\n")); !errors.Is(err, io.ErrClosedPipe) {
			t.Errorf("write to stdin after the exit = %v, want io.ErrClosedPipe", err)
		}
	})

	t.Run("terminal, sized and resized", func(t *testing.T) {
		inR, inW := io.Pipe()
		outR, outW := io.Pipe()
		resize := make(chan runtime.TerminalSize, 1)
		type result struct {
			code int
			err  error
		}
		done := make(chan result, 1)
		go func() {
			code, err := r.ExecStream(t.Context(), id, runtime.ExecOptions{Cmd: []string{"/testapp", "tty"}, TTY: true,
				Stdin: inR, Stdout: outW, Stderr: outW, Size: runtime.TerminalSize{Width: 100, Height: 40}, Resize: resize})
			outW.Close()
			done <- result{code, err}
		}()
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(outR)
			for sc.Scan() {
				lines <- strings.TrimRight(sc.Text(), "\r")
			}
			close(lines)
		}()
		// await reads lines until one is want; ask, when not nil, is
		// written to stdin again every half second meanwhile.
		await := func(want, ask string) {
			t.Helper()
			deadline := time.After(20 * time.Second)
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			var seen []string
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("the output ended before %q; saw %q", want, seen)
					}
					if l == want {
						return
					}
					seen = append(seen, l)
				case <-tick.C:
					if ask != "" {
						_, _ = io.WriteString(inW, ask)
					}
				case <-deadline:
					t.Fatalf("no line %q; saw %q", want, seen)
				}
			}
		}
		await("tty: true", "")
		_, _ = io.WriteString(inW, "size\n")
		// The size given at the start is in force before any output.
		await("size: 40x100", "")
		resize <- runtime.TerminalSize{Width: 120, Height: 50}
		await("size: 50x120", "size\n")
		_, _ = io.WriteString(inW, "exit 7\n")
		select {
		case res := <-done:
			if res.err != nil || res.code != 7 {
				t.Errorf("ExecStream on a terminal = %d, %v; want 7", res.code, res.err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("ExecStream did not return after the command exited")
		}
	})

	t.Run("bounded by ctx", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		var out syncBuffer
		_, err := r.ExecStream(ctx, id, runtime.ExecOptions{Cmd: []string{"/testapp", "exit", "--after", "1m"}, Stdout: &out, Stderr: &out})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("ExecStream past its deadline = %v, want context.DeadlineExceeded", err)
		}
	})

	t.Run("not running, not found", func(t *testing.T) {
		stopped := mustCreate(t, r, runtime.ContainerSpec{})
		var out syncBuffer
		opts := runtime.ExecOptions{Cmd: []string{"/testapp", "exit"}, Stdout: &out, Stderr: &out}
		if _, err := r.ExecStream(t.Context(), stopped, opts); !errors.Is(err, runtime.ErrNotRunning) {
			t.Errorf("ExecStream in a created container = %v, want ErrNotRunning", err)
		}
		if _, err := r.ExecStream(t.Context(), "minkube-test-nope-"+randSuffix(t), opts); !errors.Is(err, runtime.ErrNotFound) {
			t.Errorf("ExecStream in no container = %v, want ErrNotFound", err)
		}
	})
}
