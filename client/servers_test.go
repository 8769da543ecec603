package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// managerStub answers like a manager and counts the calls it got.
type managerStub struct {
	*httptest.Server
	calls atomic.Int64
}

func newManagerStub(t *testing.T, code int) *managerStub {
	t.Helper()
	m := &managerStub{}
	m.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		if code != http.StatusOK && code != http.StatusCreated {
			_ = json.NewEncoder(w).Encode(v1.Status{TypeMeta: v1.TypeMeta{Kind: v1.KindStatus}, Code: code, Reason: v1.StatusReasonServiceUnavailable, Message: "etcd has lost quorum"})
			return
		}
		_ = json.NewEncoder(w).Encode(v1.ManagerList{Items: []v1.Manager{{Name: r.Host}}})
	}))
	t.Cleanup(m.Close)
	return m
}

// refusedURL is an address where nothing listens.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// frozenURL accepts connections and never answers, like a manager under
// SIGSTOP.
func frozenURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return "http://" + l.Addr().String()
}

// brokenURL accepts each request and drops the connection without an
// answer, as a manager that dies mid-request does.
func brokenURL(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var calls atomic.Int64
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(s.Close)
	return s.URL, &calls
}

func TestFailover_toNextServer(t *testing.T) {
	good := newManagerStub(t, http.StatusOK)
	unavailable := newManagerStub(t, http.StatusServiceUnavailable)
	broken, _ := brokenURL(t)
	tests := []struct {
		name  string
		first string
	}{
		{"connection refused", refusedURL(t)},
		{"no answer", frozenURL(t)},
		{"connection dropped", broken},
		{"503", unavailable.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			servers, err := client.NewServers(tt.first, good.URL)
			if err != nil {
				t.Fatal(err)
			}
			c, err := client.NewWithServers(servers, "tok", client.WithAttemptTimeout(200*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			before := good.calls.Load()
			if _, err := c.ListManagers(t.Context()); err != nil {
				t.Fatalf("ListManagers with %s first: %v", tt.name, err)
			}
			if c.Server() != good.URL || servers.Current() != good.URL {
				t.Errorf("Server() = %s after failing over; want %s", c.Server(), good.URL)
			}
			// The next call goes to the server that answered, first.
			if _, err := c.ListManagers(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := good.calls.Load() - before; got != 2 {
				t.Errorf("the answering server got %d calls, want 2", got)
			}
		})
	}
}

// TestFailover_postSentOnce checks that a create that may have reached a
// manager which then died is not sent to another one.
func TestFailover_postSentOnce(t *testing.T) {
	good := newManagerStub(t, http.StatusCreated)
	broken, brokenCalls := brokenURL(t)
	c, err := client.New(broken+","+good.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	task := &v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "nginx"}}
	if _, err := c.CreateTask(t.Context(), task); err == nil {
		t.Fatal("CreateTask through a connection that dropped succeeded; want the error")
	}
	if brokenCalls.Load() != 1 || good.calls.Load() != 0 {
		t.Errorf("calls: dropped %d, other manager %d; want the POST sent once, to the first", brokenCalls.Load(), good.calls.Load())
	}
	// A refused connection never sent it: then the next server gets it.
	c, err = client.New(refusedURL(t)+","+good.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateTask(t.Context(), task); err != nil {
		t.Fatalf("CreateTask with the first server refusing connections: %v", err)
	}
}

// TestFailover_applyIsIdempotent checks that a batch apply, a POST that
// may be made twice, goes to the next manager when the first dropped the
// connection, as a PUT would.
func TestFailover_applyIsIdempotent(t *testing.T) {
	broken, brokenCalls := brokenURL(t)
	var goodCalls atomic.Int64
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		goodCalls.Add(1)
		var list struct{ Items []v1.Task }
		_ = json.NewDecoder(r.Body).Decode(&list)
		out := v1.ApplyResultList{}
		for _, task := range list.Items {
			out.Items = append(out.Items, v1.ApplyResultItem{Result: "created", Task: &task})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(good.Close)
	c, err := client.New(broken+","+good.URL, "tok")
	if err != nil {
		t.Fatal(err)
	}
	tasks := []*v1.Task{{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "nginx"}}}
	var got []client.ApplyItem
	if err := c.ApplyTasks(t.Context(), tasks, client.ApplyOptions{}, func(_ int, it client.ApplyItem) { got = append(got, it) }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Err != nil || got[0].Result != client.Created {
		t.Errorf("outcome %+v, want created by the second manager", got)
	}
	if brokenCalls.Load() != 1 || goodCalls.Load() != 1 {
		t.Errorf("calls: dropped %d, other manager %d; want one each", brokenCalls.Load(), goodCalls.Load())
	}
}

func TestFailover_allDown(t *testing.T) {
	a, b := refusedURL(t), refusedURL(t)
	c, err := client.New(a+","+b, "tok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListManagers(t.Context())
	var ue *client.UnreachableError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), a) || !strings.Contains(err.Error(), b) {
		t.Errorf("error = %v; want an UnreachableError naming both servers", err)
	}
}

func TestServers_Set(t *testing.T) {
	s, err := client.NewServers("http://127.0.0.1:1,http://127.0.0.1:2")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]string{"http://127.0.0.1:3", "http://127.0.0.1:1", "http://127.0.0.1:3", "127.0.0.1:4"}); err != nil {
		t.Fatal(err)
	}
	if got, want := s.List(), []string{"http://127.0.0.1:3", "http://127.0.0.1:1", "https://127.0.0.1:4"}; !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q", got, want)
	}
	for _, bad := range [][]string{nil, {""}, {"ftp://x"}} {
		if err := s.Set(bad); err == nil {
			t.Errorf("Set(%q) = nil, want an error", bad)
		}
	}
	if got := s.List(); len(got) != 3 {
		t.Errorf("a refused Set changed the list to %q", got)
	}
}

// fakeEndpoints lists URLs; Refresh moves to the next list.
type fakeEndpoints struct {
	mu        sync.Mutex
	lists     [][]string // current, then what each Refresh returns
	refreshes int
	err       error
}

func (e *fakeEndpoints) Endpoints() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lists[0]
}

func (e *fakeEndpoints) Refresh(context.Context) ([]string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.refreshes++
	if len(e.lists) > 1 {
		e.lists = e.lists[1:]
	}
	return e.lists[0], e.err
}

// TestFailover_Endpoints: a list looked up (a dns+srv:// name) is tried
// as a given one is, and looked up again when no server of it answers.
func TestFailover_Endpoints(t *testing.T) {
	stubs := map[string]*managerStub{
		"good":         newManagerStub(t, http.StatusOK),
		"good2":        newManagerStub(t, http.StatusOK),
		"unavailable":  newManagerStub(t, http.StatusServiceUnavailable),
		"unauthorized": newManagerStub(t, http.StatusUnauthorized),
	}
	refused := refusedURL(t)
	url := func(name string) string {
		if name == "refused" {
			return refused
		}
		return stubs[name].URL
	}
	urls := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, url(n))
		}
		return out
	}
	cases := []struct {
		name       string
		lists      [][]string
		learned    []string
		refreshErr error
		want       string // the stub that answers; "" for an error
		wantCode   int    // the error's status, 0 for an UnreachableError
		refreshes  int
	}{
		{name: "the first answers", lists: [][]string{{"good", "good2"}}, want: "good"},
		{name: "an unreachable manager is passed over", lists: [][]string{{"refused", "good"}}, want: "good"},
		{name: "a 503 is passed over", lists: [][]string{{"unavailable", "good"}}, want: "good"},
		{name: "another error is the cluster's answer", lists: [][]string{{"unauthorized", "good"}}, wantCode: http.StatusUnauthorized},
		{name: "all down: look up again and try the new ones", lists: [][]string{{"refused"}, {"refused", "good"}}, want: "good", refreshes: 1},
		{name: "nothing looked up yet: look up first", lists: [][]string{nil, {"good"}}, want: "good", refreshes: 1},
		{name: "all down after looking up again", lists: [][]string{{"refused"}, {"refused", "unavailable"}}, wantCode: http.StatusServiceUnavailable, refreshes: 1},
		{name: "nothing resolves", lists: [][]string{nil}, refreshErr: errors.New("NXDOMAIN"), refreshes: 1},
		{name: "what the managers said comes first", lists: [][]string{{"good"}}, learned: []string{"good2"}, want: "good2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var lists [][]string
			for _, l := range tc.lists {
				lists = append(lists, urls(l...))
			}
			eps := &fakeEndpoints{lists: lists, err: tc.refreshErr}
			servers := client.NewServersFrom(eps)
			if err := servers.Learn(urls(tc.learned...)); err != nil {
				t.Fatal(err)
			}
			before := map[string]int64{}
			for n, s := range stubs {
				before[n] = s.calls.Load()
			}
			c, err := client.NewWithServers(servers, "tok", client.WithAttemptTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListManagers(t.Context())
			var ue *client.UnreachableError
			var st *v1.Status
			switch {
			case tc.want != "":
				if err != nil || c.Server() != url(tc.want) {
					t.Errorf("ListManagers: %v, answered by %s; want %s", err, c.Server(), tc.want)
				}
			case tc.wantCode != 0:
				if !errors.As(err, &st) || st.Code != tc.wantCode {
					t.Errorf("ListManagers: %v, want a %d", err, tc.wantCode)
				}
			case !errors.As(err, &ue):
				t.Errorf("ListManagers: %v, want an UnreachableError", err)
			}
			if tc.refreshErr != nil && (err == nil || !strings.Contains(err.Error(), tc.refreshErr.Error())) {
				t.Errorf("error %v does not say why the lookup failed", err)
			}
			if eps.refreshes != tc.refreshes {
				t.Errorf("%d lookups, want %d", eps.refreshes, tc.refreshes)
			}
			for n, s := range stubs {
				if calls := s.calls.Load() - before[n]; calls > 1 {
					t.Errorf("%s called %d times, want at most once", n, calls)
				}
			}
		})
	}
}

// TestFailover_StaysWithTheOneThatAnswered: after a failover, calls go to
// the manager that answered, even when it is listed second.
func TestFailover_StaysWithTheOneThatAnswered(t *testing.T) {
	first, second := newManagerStub(t, http.StatusServiceUnavailable), newManagerStub(t, http.StatusOK)
	servers, err := client.NewServers(first.URL, second.URL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := client.NewWithServers(servers, "tok")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.ListManagers(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if n1, n2 := first.calls.Load(), second.calls.Load(); n1 != 1 || n2 != 3 {
		t.Errorf("calls: first %d, second %d; want 1 and 3", n1, n2)
	}
	if got := servers.Current(); got != second.URL {
		t.Errorf("Current() = %s, want %s", got, second.URL)
	}
}
