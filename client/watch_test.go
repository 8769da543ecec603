package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// watchLines answers a watch with lines and ends the stream.
func watchLines(lines ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for _, l := range lines {
			_, _ = fmt.Fprintln(w, l)
		}
	}
}

func taskLine(typ, name, rv string) string {
	return fmt.Sprintf(`{"type":%q,"object":{"kind":"Task","metadata":{"name":%q,"resourceVersion":%q},"spec":{"image":"nginx"}}}`, typ, name, rv)
}

func mustWatch(t *testing.T, srv *fakeServer, rv string, opts ListOptions) *Watcher[*v1.Task] {
	t.Helper()
	c := mustClient(t, srv.URL)
	w, err := c.WatchTasks(t.Context(), rv, opts)
	if err != nil {
		t.Fatalf("WatchTasks: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func TestWatchTasks_Events(t *testing.T) {
	srv := mustServer(t, watchLines(
		taskLine("ADDED", "a", "11"),
		"",
		taskLine("MODIFIED", "a", "12"),
		`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"15"}}}`,
		taskLine("DELETED", "a", "16"),
	))
	w := mustWatch(t, srv, "10", ListOptions{LabelSelector: "app=web"})
	if q := srv.last(t).RawQuery; q != "labelSelector=app%3Dweb&resourceVersion=10&watch=true" {
		t.Errorf("query = %q", q)
	}
	if rv := w.ResourceVersion(); rv != "10" {
		t.Errorf("ResourceVersion before any event = %q, want 10", rv)
	}
	want := []struct {
		typ  v1.WatchEventType
		name string
		rv   string
	}{
		{v1.Added, "a", "11"},
		{v1.Modified, "a", "12"},
		{v1.Bookmark, "", "15"},
		{v1.Deleted, "a", "16"},
	}
	for i, tt := range want {
		ev, err := w.Next()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if ev.Type != tt.typ || ev.Object.Metadata.Name != tt.name || ev.Object.Metadata.ResourceVersion != tt.rv {
			t.Errorf("event %d = %s %s@%s, want %s %s@%s", i, ev.Type, ev.Object.Metadata.Name, ev.Object.Metadata.ResourceVersion, tt.typ, tt.name, tt.rv)
		}
		if got := w.ResourceVersion(); got != tt.rv {
			t.Errorf("ResourceVersion after event %d = %q, want %q", i, got, tt.rv)
		}
	}
	for range 2 {
		if _, err := w.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("Next at the end = %v, want io.EOF", err)
		}
	}
}

func TestWatchTasks_Errors(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantGone bool
		wantErr  string
	}{
		{
			name:     "ERROR event 410",
			handler:  watchLines(taskLine("ADDED", "a", "3"), `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Gone","message":"too old resource version: 3"}}`),
			wantGone: true, wantErr: "too old resource version: 3",
		},
		{
			name:     "ERROR event with code only",
			handler:  watchLines(taskLine("ADDED", "a", "3"), `{"type":"ERROR","object":{"code":410}}`),
			wantGone: true, wantErr: "ended with Gone",
		},
		{
			name:    "ERROR event 500",
			handler: watchLines(taskLine("ADDED", "a", "3"), `{"type":"ERROR","object":{"code":500,"reason":"InternalError","message":"store broke"}}`),
			wantErr: "store broke",
		},
		{
			name:    "garbage line",
			handler: watchLines(taskLine("ADDED", "a", "3"), `{not json`),
			wantErr: "decode event",
		},
		{
			name:    "unknown type",
			handler: watchLines(taskLine("ADDED", "a", "3"), `{"type":"RENAMED","object":{}}`),
			wantErr: `unknown event type "RENAMED"`,
		},
		{
			name:    "no object",
			handler: watchLines(taskLine("ADDED", "a", "3"), `{"type":"MODIFIED","object":null}`),
			wantErr: "MODIFIED event without an object",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, tt.handler)
			w := mustWatch(t, srv, "1", ListOptions{})
			if _, err := w.Next(); err != nil {
				t.Fatalf("first event: %v", err)
			}
			_, err := w.Next()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Next error = %v, want one containing %q", err, tt.wantErr)
			}
			if IsGone(err) != tt.wantGone {
				t.Errorf("IsGone(%v) = %v, want %v", err, IsGone(err), tt.wantGone)
			}
			if _, again := w.Next(); again != err {
				t.Errorf("Next after the error = %v, want the same error %v", again, err)
			}
		})
	}
}

func TestWatchTasks_GoneAtStart(t *testing.T) {
	srv := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusGone, v1.StatusReasonGone, "resourceVersion 1 is compacted")
	})
	c := mustClient(t, srv.URL)
	_, err := c.WatchTasks(t.Context(), "1", ListOptions{})
	if !IsGone(err) {
		t.Fatalf("WatchTasks error = %v, want Gone", err)
	}
}

// blockingWatch sends one event and then holds the stream open.
func blockingWatch(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintln(w, taskLine("ADDED", "a", "2"))
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

func TestWatcher_Close(t *testing.T) {
	srv := mustServer(t, blockingWatch)
	w := mustWatch(t, srv, "", ListOptions{})
	if _, err := w.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := w.Next()
		errc <- err
	}()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Next after Close = %v, want io.EOF", err)
		}
	case <-t.Context().Done():
		t.Fatal("Next did not return after Close")
	}
}

func TestWatcher_ContextCanceled(t *testing.T) {
	srv := mustServer(t, blockingWatch)
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	w, err := c.WatchTasks(ctx, "", ListOptions{})
	if err != nil {
		t.Fatalf("WatchTasks: %v", err)
	}
	defer func() { _ = w.Close() }()
	if _, err := w.Next(); err != nil {
		t.Fatalf("first event: %v", err)
	}
	cancel()
	if _, err := w.Next(); !errors.Is(err, context.Canceled) {
		t.Errorf("Next after cancel = %v, want context.Canceled", err)
	}
}

func TestWatcher_ValueType(t *testing.T) {
	srv := mustServer(t, watchLines(taskLine("ADDED", "a", "21")))
	c := mustClient(t, srv.URL)
	resp, err := c.r.send(t.Context(), request{method: http.MethodGet, path: "/api/v1/tasks"})
	if err != nil {
		t.Fatal(err)
	}
	w := newWatcher[v1.Task](t.Context(), resp.Body, "20", c.r)
	t.Cleanup(func() { _ = w.Close() })
	ev, err := w.Next()
	if err != nil || ev.Object.Metadata.Name != "a" || w.ResourceVersion() != "21" {
		t.Errorf("Next = %+v, %v with resourceVersion %q; want a at 21", ev, err, w.ResourceVersion())
	}
}
