package workerd_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/workerd"
)

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

// urlManagers answers as the manager at each URL would: down URLs are
// unreachable, others answer with their URL (in the task list's version)
// or with the error set for them.
type urlManagers struct {
	mu     sync.Mutex
	down   map[string]bool
	errs   map[string]error
	called []string
}

func (u *urlManagers) dial(url string) (workerd.Manager, error) {
	if strings.Contains(url, "bad") {
		return nil, errors.New("bad URL " + url)
	}
	return &urlManager{url: url, all: u}, nil
}

func (u *urlManagers) calls() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.called)
}

type urlManager struct {
	url string
	all *urlManagers
}

func (m *urlManager) answer() error {
	m.all.mu.Lock()
	defer m.all.mu.Unlock()
	m.all.called = append(m.all.called, m.url)
	if m.all.down[m.url] {
		return &client.UnreachableError{Peer: "the manager", Server: m.url, Err: syscall.ECONNREFUSED}
	}
	return m.all.errs[m.url]
}

func (m *urlManager) RegisterWorker(context.Context, string, v1.RegisterRequest) (*v1.RegisterResponse, error) {
	if err := m.answer(); err != nil {
		return nil, err
	}
	return &v1.RegisterResponse{Token: m.url}, nil
}

func (m *urlManager) ReportStatus(context.Context, string, *v1.StatusReport) (*v1.StatusReply, error) {
	return &v1.StatusReply{}, m.answer()
}

func (m *urlManager) WorkerTasks(context.Context, string) (*v1.TaskList, error) {
	if err := m.answer(); err != nil {
		return nil, err
	}
	return &v1.TaskList{Metadata: v1.ListMeta{ResourceVersion: m.url}}, nil
}

func TestFailoverManager(t *testing.T) {
	unavailable := &v1.Status{Code: 503, Reason: v1.StatusReasonServiceUnavailable, Message: "not ready"}
	unauthorized := &v1.Status{Code: 401, Reason: v1.StatusReasonUnauthorized, Message: "bad token"}
	cases := []struct {
		name      string
		lists     [][]string
		down      []string
		errs      map[string]error
		refreshEr error
		wantURL   string   // who answered; "" for an error
		wantErr   error    // matched with errors.Is, when wantURL is ""
		wantCalls []string // the URLs called, in order
		refreshes int
	}{
		{name: "the first answers", lists: [][]string{{"m1", "m2"}}, wantURL: "m1", wantCalls: []string{"m1"}},
		{name: "an unreachable manager is passed over", lists: [][]string{{"m1", "m2"}}, down: []string{"m1"}, wantURL: "m2", wantCalls: []string{"m1", "m2"}},
		{name: "a 503 is passed over", lists: [][]string{{"m1", "m2"}}, errs: map[string]error{"m1": unavailable}, wantURL: "m2", wantCalls: []string{"m1", "m2"}},
		{name: "another error is the cluster's answer", lists: [][]string{{"m1", "m2"}}, errs: map[string]error{"m1": unauthorized}, wantErr: unauthorized, wantCalls: []string{"m1"}},
		{name: "a client that cannot be made is passed over", lists: [][]string{{"bad", "m2"}}, wantURL: "m2", wantCalls: []string{"m2"}},
		{name: "all down: resolve again and try the new ones", lists: [][]string{{"m1"}, {"m1", "m3"}}, down: []string{"m1"}, wantURL: "m3", wantCalls: []string{"m1", "m3"}, refreshes: 1},
		{name: "nothing resolved yet: resolve first", lists: [][]string{nil, {"m1"}}, wantURL: "m1", wantCalls: []string{"m1"}, refreshes: 1},
		{name: "all down after resolving again", lists: [][]string{{"m1"}, {"m1", "m2"}}, down: []string{"m1", "m2"}, wantErr: syscall.ECONNREFUSED, wantCalls: []string{"m1", "m2"}, refreshes: 1},
		{name: "nothing resolves", lists: [][]string{nil}, refreshEr: errors.New("NXDOMAIN"), wantErr: nil, wantCalls: nil, refreshes: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eps := &fakeEndpoints{lists: tc.lists, err: tc.refreshEr}
			ms := &urlManagers{down: map[string]bool{}, errs: tc.errs}
			for _, u := range tc.down {
				ms.down[u] = true
			}
			f := workerd.NewFailoverManager(eps, ms.dial)
			list, err := f.WorkerTasks(t.Context(), "w1")
			switch {
			case tc.wantURL != "":
				if err != nil || list.Metadata.ResourceVersion != tc.wantURL || f.Current() != tc.wantURL {
					t.Errorf("WorkerTasks = %v, %v (current %q); want the answer of %s", list, err, f.Current(), tc.wantURL)
				}
			case err == nil:
				t.Errorf("WorkerTasks answered %v, want an error", list)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Errorf("WorkerTasks error %v, want %v", err, tc.wantErr)
			}
			if got := ms.calls(); !slices.Equal(got, tc.wantCalls) {
				t.Errorf("called %v, want %v", got, tc.wantCalls)
			}
			if eps.refreshes != tc.refreshes {
				t.Errorf("%d refreshes, want %d", eps.refreshes, tc.refreshes)
			}
		})
	}
}

// TestFailoverManager_StaysWithTheOneThatAnswered: after a failover, calls
// go to the manager that answered first, even when it is listed second.
func TestFailoverManager_StaysWithTheOneThatAnswered(t *testing.T) {
	eps := &fakeEndpoints{lists: [][]string{{"m1", "m2"}}}
	ms := &urlManagers{down: map[string]bool{"m1": true}}
	f := workerd.NewFailoverManager(eps, ms.dial)
	if _, err := f.ReportStatus(t.Context(), "w1", &v1.StatusReport{}); err != nil {
		t.Fatal(err)
	}
	ms.mu.Lock()
	ms.down["m1"] = false
	ms.mu.Unlock()
	if resp, err := f.RegisterWorker(t.Context(), "join", v1.RegisterRequest{}); err != nil || resp.Token != "m2" {
		t.Fatalf("RegisterWorker = %v, %v; want m2's answer", resp, err)
	}
	if got := ms.calls(); !slices.Equal(got, []string{"m1", "m2", "m2"}) {
		t.Errorf("called %v, want m1, m2, then m2 again", got)
	}
}
