package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		stdin      string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "exit code", args: []string{"exit", "--code", "3", "--after", "0s"}, wantCode: 3, wantStdout: "exiting with code 3"},
		{name: "exit zero", args: []string{"exit"}, wantCode: 0, wantStdout: "exiting with code 0"},
		{name: "crash", args: []string{"crash"}, wantCode: 1, wantStderr: "crashing on start"},
		{name: "cat", args: []string{"cat"}, stdin: "one\ntwo", wantStdout: "one\ntwo"},
		{name: "tty answers lines", args: []string{"tty"}, stdin: "hello\r\nsize\nexit 7\nnot read\n", wantCode: 7,
			wantStdout: "tty: false\ngot: hello\nsize: not a terminal\n"},
		{name: "tty ends with stdin", args: []string{"tty"}, stdin: "exit x\n", wantStdout: "bad exit code"},
		{name: "unknown command", args: []string{"nope"}, wantCode: 2, wantStderr: `unknown command "nope"`},
		{name: "bad flag", args: []string{"exit", "--code", "x"}, wantCode: 2, wantStderr: "invalid value"},
		{name: "bad log interval", args: []string{"log", "--every", "0s"}, wantCode: 2, wantStderr: "must be positive"},
		{name: "negative fill", args: []string{"fill-disk", "--mib", "-1", "--path", "/nonexistent/x"}, wantCode: 1, wantStderr: "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(tt.stdin), &stdout, &stderr)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.wantStdout) {
				t.Errorf("stdout = %q, want it to contain %q", stdout.String(), tt.wantStdout)
			}
			if !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("stderr = %q, want it to contain %q", stderr.String(), tt.wantStderr)
			}
		})
	}
}

func TestHandler(t *testing.T) {
	t.Setenv("MESSAGE", "hi there")
	past := time.Now().Add(-time.Second)
	tests := []struct {
		name     string
		failAt   time.Time
		path     string
		wantCode int
		wantBody string
	}{
		{name: "hello", path: "/", wantCode: 200, wantBody: "hello from box: hi there"},
		{name: "healthy", path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "healthy until failAt", failAt: time.Now().Add(time.Hour), path: "/healthz", wantCode: 200, wantBody: "ok"},
		{name: "unhealthy after failAt", failAt: past, path: "/healthz", wantCode: 500, wantBody: "unhealthy"},
		{name: "env", path: "/env", wantCode: 200, wantBody: "MESSAGE=hi there"},
		{name: "not found", path: "/nope", wantCode: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			rec := httptest.NewRecorder()
			newHandler("box", tt.failAt, &log).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if rec.Code != tt.wantCode {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantCode)
			}
			if !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Errorf("body = %q, want it to contain %q", rec.Body.String(), tt.wantBody)
			}
			if wantLog := fmt.Sprintf("GET %s %d ", tt.path, tt.wantCode); !strings.HasPrefix(log.String(), wantLog) {
				t.Errorf("request log = %q, want a line starting %q", log.String(), wantLog)
			}
		})
	}
}

func TestFill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "fill")
	if err := fill(path, 2); err != nil {
		t.Fatalf("fill: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != 2<<20 {
		t.Errorf("size = %d, want %d", fi.Size(), 2<<20)
	}
}
