package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// scriptedManager answers lists, watches and readiness checks from
// scripts, one entry per request, and records the watch queries.
type scriptedManager struct {
	mu      sync.Mutex
	lists   []http.HandlerFunc
	watches []http.HandlerFunc
	readyz  []int
	queries []string
}

func (m *scriptedManager) next(script *[]http.HandlerFunc) http.HandlerFunc {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(*script) == 0 {
		// Out of script: hold the watch open until the client goes.
		return func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }
	}
	h := (*script)[0]
	*script = (*script)[1:]
	return h
}

func (m *scriptedManager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/readyz":
		m.mu.Lock()
		code := http.StatusOK
		if len(m.readyz) > 0 {
			code, m.readyz = m.readyz[0], m.readyz[1:]
		}
		m.mu.Unlock()
		w.WriteHeader(code)
	case r.URL.Query().Get("watch") == "true":
		m.mu.Lock()
		m.queries = append(m.queries, r.URL.Query().Get("resourceVersion"))
		m.mu.Unlock()
		m.next(&m.watches)(w, r)
	default:
		m.next(&m.lists)(w, r)
	}
}

func (m *scriptedManager) watchQueries() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.queries...)
}

// listOf answers with a TaskList at rv of the named tasks, each at rv.
func listOf(rv string, names ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		list := v1.TaskList{Metadata: v1.ListMeta{ResourceVersion: rv}, Items: []v1.Task{}}
		for _, n := range names {
			list.Items = append(list.Items, v1.Task{Metadata: v1.ObjectMeta{Name: n, UID: "uid-" + n, ResourceVersion: rv}})
		}
		writeJSON(w, http.StatusOK, list)
	}
}

// broken answers with headers and then cuts the connection.
func broken(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func statusAnswer(code int, reason v1.StatusReason) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, code, v1.Status{TypeMeta: v1.TypeMeta{Kind: v1.KindStatus}, Status: "Failure", Reason: reason, Code: code, Message: string(reason)})
	}
}

// seenEvents collects what StreamTasks delivers as "TYPE name@rv".
type seenEvents struct {
	list   []string
	events []string
	stopAt int
}

func (s *seenEvents) onList(l *v1.TaskList) error {
	for _, t := range l.Items {
		s.list = append(s.list, t.Metadata.Name+"@"+t.Metadata.ResourceVersion)
	}
	return nil
}

func (s *seenEvents) onEvent(ev v1.WatchEvent[*v1.Task]) error {
	s.events = append(s.events, fmt.Sprintf("%s %s@%s", ev.Type, ev.Object.Metadata.Name, ev.Object.Metadata.ResourceVersion))
	if len(s.events) == s.stopAt {
		return ErrStopStream
	}
	return nil
}

func mustStream(t *testing.T, m *scriptedManager, stopAt int) (*seenEvents, error) {
	t.Helper()
	srv := mustServer(t, m.ServeHTTP)
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	seen := &seenEvents{stopAt: stopAt}
	err := c.StreamTasks(ctx, StreamOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}, seen.onList, seen.onEvent)
	return seen, err
}

func TestStreamTasks_Resumes(t *testing.T) {
	m := &scriptedManager{
		lists: []http.HandlerFunc{listOf("5", "a")},
		watches: []http.HandlerFunc{
			watchLines(taskLine("MODIFIED", "a", "6")), // then the server ends the stream
			broken,
			statusAnswer(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable),
			watchLines(`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}`),
			watchLines(taskLine("ADDED", "b", "8"), taskLine("DELETED", "a", "9")),
		},
	}
	seen, err := mustStream(t, m, 3)
	if err != nil {
		t.Fatalf("StreamTasks = %v, want nil after ErrStopStream", err)
	}
	if got := strings.Join(seen.list, ","); got != "a@5" {
		t.Errorf("list = %s, want a@5", got)
	}
	if got, want := strings.Join(seen.events, ","), "MODIFIED a@6,ADDED b@8,DELETED a@9"; got != want {
		t.Errorf("events = %s, want %s", got, want)
	}
	// Every watch resumes where the last one left off, never from scratch.
	if got, want := strings.Join(m.watchQueries(), ","), "5,6,6,6,7"; got != want {
		t.Errorf("watches from %s, want %s", got, want)
	}
}

func TestStreamTasks_GoneRelists(t *testing.T) {
	tests := []struct {
		name string
		// gone is the first watch: it ends with 410 Gone.
		gone        http.HandlerFunc
		wantEvents  []string
		wantWatches string
	}{
		{
			name: "ERROR event in the stream",
			gone: watchLines(taskLine("MODIFIED", "keep", "6"), `{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Gone","message":"too old"}}`),
			wantEvents: []string{
				"MODIFIED keep@6",
				// The list after 410: a changed, b was replaced, c is new, keep is gone.
				"MODIFIED a@12", "DELETED b@5", "ADDED b@15", "ADDED c@18", "DELETED keep@6",
				// And the watch goes on from the new list.
				"ADDED d@21",
			},
			wantWatches: "5,20",
		},
		{
			name: "410 answer to the watch",
			gone: statusAnswer(http.StatusGone, v1.StatusReasonGone),
			wantEvents: []string{
				"MODIFIED a@12", "DELETED b@5", "ADDED b@15", "ADDED c@18", "DELETED keep@5",
				"ADDED d@21",
			},
			wantWatches: "5,20",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &scriptedManager{
				lists: []http.HandlerFunc{listOf("5", "a", "b", "keep"), func(w http.ResponseWriter, r *http.Request) {
					list := v1.TaskList{Metadata: v1.ListMeta{ResourceVersion: "20"}, Items: []v1.Task{
						{Metadata: v1.ObjectMeta{Name: "a", UID: "uid-a", ResourceVersion: "12"}},
						{Metadata: v1.ObjectMeta{Name: "b", UID: "new-uid", ResourceVersion: "15"}},
						{Metadata: v1.ObjectMeta{Name: "c", UID: "uid-c", ResourceVersion: "18"}},
					}}
					writeJSON(w, http.StatusOK, list)
				}},
				watches: []http.HandlerFunc{tt.gone, watchLines(taskLine("ADDED", "d", "21"))},
				// The manager is still starting when the stream asks to list again.
				readyz: []int{http.StatusServiceUnavailable, http.StatusServiceUnavailable},
			}
			seen, err := mustStream(t, m, len(tt.wantEvents))
			if err != nil {
				t.Fatalf("StreamTasks = %v", err)
			}
			if got := strings.Join(seen.events, ","); got != strings.Join(tt.wantEvents, ",") {
				t.Errorf("events =\n%s\nwant\n%s", got, strings.Join(tt.wantEvents, ","))
			}
			if got := strings.Join(m.watchQueries(), ","); got != tt.wantWatches {
				t.Errorf("watches from %s, want %s", got, tt.wantWatches)
			}
		})
	}
}

func TestStreamTasks_Errors(t *testing.T) {
	callbackErr := errors.New("callback failed")
	tests := []struct {
		name    string
		m       *scriptedManager
		onEvent func(v1.WatchEvent[*v1.Task]) error
		check   func(error) bool
	}{
		{
			name:  "first list refused",
			m:     &scriptedManager{lists: []http.HandlerFunc{statusAnswer(http.StatusUnauthorized, v1.StatusReasonUnauthorized)}},
			check: IsUnauthorized,
		},
		{
			name: "token refused later",
			m: &scriptedManager{lists: []http.HandlerFunc{listOf("5")}, watches: []http.HandlerFunc{
				broken, statusAnswer(http.StatusUnauthorized, v1.StatusReasonUnauthorized),
			}},
			check: IsUnauthorized,
		},
		{
			name: "bad request",
			m: &scriptedManager{lists: []http.HandlerFunc{listOf("5")}, watches: []http.HandlerFunc{
				statusAnswer(http.StatusBadRequest, v1.StatusReasonBadRequest),
			}},
			check: func(err error) bool { return ReasonOf(err) == v1.StatusReasonBadRequest },
		},
		{
			name:    "callback error",
			m:       &scriptedManager{lists: []http.HandlerFunc{listOf("5")}, watches: []http.HandlerFunc{watchLines(taskLine("ADDED", "a", "6"))}},
			onEvent: func(v1.WatchEvent[*v1.Task]) error { return callbackErr },
			check:   func(err error) bool { return errors.Is(err, callbackErr) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mustServer(t, tt.m.ServeHTTP)
			c := mustClient(t, srv.URL)
			onEvent := tt.onEvent
			if onEvent == nil {
				onEvent = func(v1.WatchEvent[*v1.Task]) error { return nil }
			}
			err := c.StreamTasks(t.Context(), StreamOptions{MinBackoff: time.Millisecond}, func(*v1.TaskList) error { return nil }, onEvent)
			if err == nil || !tt.check(err) {
				t.Errorf("StreamTasks = %v", err)
			}
		})
	}
}

func TestStreamTasks_Unreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := mustClient(t, addr)
	err = c.StreamTasks(t.Context(), StreamOptions{}, func(*v1.TaskList) error { return nil }, func(v1.WatchEvent[*v1.Task]) error { return nil })
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.Server != "https://"+addr {
		t.Errorf("StreamTasks = %v, want an UnreachableError naming %s", err, addr)
	}
}

func TestStreamTasks_ContextEnds(t *testing.T) {
	m := &scriptedManager{lists: []http.HandlerFunc{listOf("5", "a")}}
	srv := mustServer(t, m.ServeHTTP)
	c := mustClient(t, srv.URL)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- c.StreamTasks(ctx, StreamOptions{}, func(*v1.TaskList) error { return nil }, func(v1.WatchEvent[*v1.Task]) error { return nil })
	}()
	// The script is empty, so the watch stays open until ctx ends.
	waitForWatch := time.Now().Add(10 * time.Second)
	for len(m.watchQueries()) == 0 && time.Now().Before(waitForWatch) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("StreamTasks = %v, want context.Canceled", err)
	}
}

func TestStreamTasks_StopInList(t *testing.T) {
	m := &scriptedManager{lists: []http.HandlerFunc{listOf("5", "a")}}
	srv := mustServer(t, m.ServeHTTP)
	c := mustClient(t, srv.URL)
	err := c.StreamTasks(t.Context(), StreamOptions{}, func(*v1.TaskList) error { return ErrStopStream }, func(v1.WatchEvent[*v1.Task]) error { return nil })
	if err != nil || len(m.watchQueries()) != 0 {
		t.Errorf("StreamTasks = %v after %d watches, want nil and no watch", err, len(m.watchQueries()))
	}
}

func TestStreamTasks_EmptyStore(t *testing.T) {
	// An empty store lists at revision 0: the watch starts from now, and
	// the Task created meanwhile comes as ADDED.
	m := &scriptedManager{
		lists:   []http.HandlerFunc{listOf("0")},
		watches: []http.HandlerFunc{watchLines(taskLine("ADDED", "a", "3"))},
	}
	seen, err := mustStream(t, m, 1)
	if err != nil || strings.Join(seen.events, ",") != "ADDED a@3" {
		t.Fatalf("StreamTasks = %v, events %v", err, seen.events)
	}
	if q := m.watchQueries(); len(q) != 1 || q[0] != "" {
		t.Errorf("watched from %q, want no resourceVersion", q)
	}
}
