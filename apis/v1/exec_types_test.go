package v1

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestExecOptionsQuery(t *testing.T) {
	for _, o := range []ExecOptions{
		{Command: []string{"/testapp", "exit", "--code", "3"}},
		{Command: []string{"/bin/sh"}, Stdin: true, TTY: true, Size: TerminalSize{Width: 120, Height: 40}},
		{Command: []string{"cat", "a b", "&x=y"}, Stdin: true},
	} {
		got, err := ParseExecOptions(o.Query())
		if err != nil || !reflect.DeepEqual(got, o) {
			t.Errorf("ParseExecOptions(%s) = %+v, %v; want %+v", o.Query().Encode(), got, err, o)
		}
	}
}

func TestParseExecOptions(t *testing.T) {
	tooMany := url.Values{"command": make([]string, MaxExecArgs+1)}
	tooMany["command"][0] = "x"
	tests := []struct {
		query string
		q     url.Values
		want  string
	}{
		{query: "", want: "command: give the program to run"},
		{query: "command=", want: "command: give the program to run"},
		{q: tooMany, want: "command: 1025 arguments, over the limit of 1024"},
		{query: "command=x&command=" + strings.Repeat("a", MaxExecCommandBytes), want: "command: 65537 bytes, over the limit of 65536"},
		{query: "command=x&stdin=maybe", want: `stdin "maybe": must be true or false`},
		{query: "command=x&tty=2", want: `tty "2": must be true or false`},
		{query: "command=x&width=-1", want: `width "-1": must be a number of character cells`},
		{query: "command=x&height=70000", want: `height "70000": must be a number of character cells`},
	}
	for _, tt := range tests {
		q := tt.q
		if q == nil {
			var err error
			if q, err = url.ParseQuery(tt.query); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ParseExecOptions(q); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("ParseExecOptions(%.60s) = %v, want an error starting %q", tt.query, err, tt.want)
		}
	}
}

func TestExecFrames(t *testing.T) {
	var b bytes.Buffer
	var mu sync.Mutex
	big := bytes.Repeat([]byte("x"), MaxExecFrame+10)
	out := ExecFrameWriter{W: &b, Channel: ExecStdout, Mu: &mu}
	if n, err := out.Write(big); n != len(big) || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	if err := WriteExecFrame(&b, ExecStdin, nil); err != nil {
		t.Fatal(err)
	}
	if err := WriteExecFrame(&b, ExecExit, []byte(`{"exitCode":3}`)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxExecFrame)
	var got []string
	var stdout []byte
	for {
		ch, p, err := ReadExecFrame(&b, buf)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ch == ExecStdout {
			stdout = append(stdout, p...)
		}
		got = append(got, string(rune('0'+ch))+":"+string(p[:min(len(p), 14)]))
	}
	if !bytes.Equal(stdout, big) || len(got) != 4 || got[2] != "0:" || got[3] != `4:{"exitCode":3}` {
		t.Errorf("frames = %q (stdout %d bytes)", got, len(stdout))
	}

	if err := WriteExecFrame(io.Discard, ExecStdout, big); err == nil {
		t.Error("WriteExecFrame of a frame over the limit succeeded")
	}
	var h [5]byte
	h[0] = byte(ExecStdin)
	binary.BigEndian.PutUint32(h[1:], MaxExecFrame+1)
	if _, _, err := ReadExecFrame(bytes.NewReader(h[:]), buf); err == nil || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("ReadExecFrame of a frame over the limit = %v", err)
	}
	binary.BigEndian.PutUint32(h[1:], 10)
	if _, _, err := ReadExecFrame(bytes.NewReader(append(h[:], "abc"...)), buf); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("ReadExecFrame of a cut frame = %v, want io.ErrUnexpectedEOF", err)
	}
}
