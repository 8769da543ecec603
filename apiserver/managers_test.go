package apiserver_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/store"
)

// fakeManagers is a Managers whose list the test sets.
type fakeManagers struct {
	mu   sync.Mutex
	list []v1.Manager
}

func (f *fakeManagers) Managers(context.Context) ([]v1.Manager, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.list), nil
}

func TestManagers_List(t *testing.T) {
	ms := &fakeManagers{list: []v1.Manager{
		{Name: "m1", Address: "http://127.0.0.1:1", Ready: true},
		{Name: "m2", Address: "http://127.0.0.1:2", Ready: true, Leader: true},
	}}
	e := mustAPIEnvWith(t, apiserver.Options{Managers: ms})
	r := e.do(t, http.MethodGet, "/api/v1/managers", apiAdminToken, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /api/v1/managers = %d %s", r.Code, r.Body)
	}
	var list v1.ManagerList
	mustDecode(t, r, &list)
	if list.Kind != v1.KindManagerList || list.APIVersion != v1.APIVersion || len(list.Items) != 2 || !list.Items[1].Leader || list.Items[0].Leader {
		t.Errorf("list = %+v; want a ManagerList of m1 and m2, m2 leading", list)
	}
	if r := e.do(t, http.MethodGet, "/api/v1/managers", "", nil); r.Code != http.StatusUnauthorized {
		t.Errorf("GET /api/v1/managers without a token = %d, want 401", r.Code)
	}
}

func TestManagers_SoleManagerByDefault(t *testing.T) {
	e := mustAPIEnv(t)
	var list v1.ManagerList
	mustDecode(t, e.do(t, http.MethodGet, "/api/v1/managers", apiAdminToken, nil), &list)
	if len(list.Items) != 1 || !list.Items[0].Leader || !list.Items[0].Ready {
		t.Errorf("list = %+v; want the one manager, leading and ready", list.Items)
	}
}

// TestManagers_RepliesCarryFailoverList checks that registration and
// heartbeat replies tell the worker which managers it may fail over to:
// the ready ones.
func TestManagers_RepliesCarryFailoverList(t *testing.T) {
	ms := &fakeManagers{list: []v1.Manager{
		{Name: "m1", Address: "http://127.0.0.1:1", Ready: true},
		{Name: "m2", Address: "http://127.0.0.1:2", Ready: false},
		{Name: "m3", Address: "http://127.0.0.1:3", Ready: true},
	}}
	e := mustAPIEnvWith(t, apiserver.Options{Managers: ms})
	reg := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	want := []string{"http://127.0.0.1:1", "http://127.0.0.1:3"}
	if !slices.Equal(reg.Managers, want) {
		t.Errorf("register reply managers = %q, want %q", reg.Managers, want)
	}
	ms.mu.Lock()
	ms.list = ms.list[2:]
	ms.mu.Unlock()
	r := e.do(t, http.MethodPut, "/api/v1/workers/w1/status", reg.Token, v1.StatusReport{Full: true})
	var reply v1.StatusReply
	mustDecode(t, r, &reply)
	if !slices.Equal(reply.Managers, []string{"http://127.0.0.1:3"}) {
		t.Errorf("heartbeat reply managers = %q, want only m3", reply.Managers)
	}
}

// TestManagers_UnhealthyStoreRefuses checks that while the store says it
// cannot serve (etcd lost quorum), every request answers 503 with the
// store's reason instead of reading a cache that may be stale.
func TestManagers_UnhealthyStoreRefuses(t *testing.T) {
	var mu sync.Mutex
	var health error
	e := mustAPIEnvWith(t, apiserver.Options{Health: func() error { mu.Lock(); defer mu.Unlock(); return health }})
	e.mustStoredTask(t, "web", nil, v1.TaskStatus{Phase: v1.PhasePending})
	if r := e.do(t, http.MethodGet, "/api/v1/tasks/web", apiAdminToken, nil); r.Code != http.StatusOK {
		t.Fatalf("GET while healthy = %d", r.Code)
	}
	mu.Lock()
	health = fmt.Errorf("etcd quorum probe: %w: etcd has lost quorum (no leader)", store.ErrUnavailable)
	mu.Unlock()
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/api/v1/tasks/web"},
		{http.MethodGet, "/api/v1/tasks"},
		{http.MethodDelete, "/api/v1/tasks/web"},
	} {
		r := e.do(t, req.method, req.path, apiAdminToken, nil)
		if r.Code != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), "quorum") || !strings.Contains(string(r.Body), "stale") {
			t.Errorf("%s %s without quorum = %d %s; want 503 saying quorum is lost and reads may be stale", req.method, req.path, r.Code, r.Body)
		}
	}
	if r := e.do(t, http.MethodGet, "/readyz", "", nil); r.Code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz without quorum = %d, want 503", r.Code)
	}
	if task, err := e.st.Tasks.Get(t.Context(), "web"); err != nil || task.Metadata.DeletionTimestamp != nil {
		t.Errorf("the refused delete changed the task: %v, %v", task, err)
	}
}

// fakeMembers records the members it is asked to add.
type fakeMembers struct{ added []v1.JoinRequest }

func (f *fakeMembers) AddMember(_ context.Context, name, peerURL string) (string, error) {
	f.added = append(f.added, v1.JoinRequest{Name: name, PeerURL: peerURL})
	return "m1=http://127.0.0.1:1,m4=" + peerURL, nil
}

func TestManagers_Join(t *testing.T) {
	members := &fakeMembers{}
	e := mustAPIEnvWith(t, apiserver.Options{Members: members})
	r := e.do(t, http.MethodPost, "/api/v1/managers", apiAdminToken, v1.JoinRequest{Name: "m4", PeerURL: "http://127.0.0.1:4"})
	var out v1.JoinResponse
	mustDecode(t, r, &out)
	if r.Code != http.StatusOK || out.InitialCluster != "m1=http://127.0.0.1:1,m4=http://127.0.0.1:4" || len(members.added) != 1 {
		t.Errorf("join = %d %+v (added %+v); want the initial cluster with m4", r.Code, out, members.added)
	}
	r = e.do(t, http.MethodPost, "/api/v1/managers", apiAdminToken, v1.JoinRequest{Name: "Bad_Name", PeerURL: "10.0.0.4"})
	if r.Code != http.StatusUnprocessableEntity || !strings.Contains(string(r.Body), "peerURL") || !strings.Contains(string(r.Body), `"name"`) {
		t.Errorf("invalid join = %d %s; want 422 naming name and peerURL", r.Code, r.Body)
	}
	if r := e.do(t, http.MethodPost, "/api/v1/managers", apiJoinToken, v1.JoinRequest{Name: "m5", PeerURL: "http://127.0.0.1:5"}); r.Code != http.StatusForbidden {
		t.Errorf("join with the worker join token = %d; want 403: only admins add managers", r.Code)
	}
	if len(members.added) != 1 {
		t.Errorf("members added %+v; want only the valid, admin join", members.added)
	}

	alone := mustAPIEnv(t)
	r = alone.do(t, http.MethodPost, "/api/v1/managers", apiAdminToken, v1.JoinRequest{Name: "m4", PeerURL: "http://127.0.0.1:4"})
	if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "--store etcd") {
		t.Errorf("join on a lone bolt manager = %d %s; want 400 saying it needs --store etcd", r.Code, r.Body)
	}
}
