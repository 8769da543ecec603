package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// mustManagersAPI serves GET /api/v1/managers with list.
func mustManagersAPI(t *testing.T, list v1.ManagerList) string {
	t.Helper()
	s := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/managers" || r.Header.Get("Authorization") != "Bearer "+goodToken {
			http.Error(w, "no", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	}))
	t.Cleanup(s.Close)
	return s.URL
}

func TestGetManagers(t *testing.T) {
	started := time.Now().Add(-3 * time.Hour)
	url := mustManagersAPI(t, v1.ManagerList{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindManagerList},
		Items: []v1.Manager{
			{Name: "m1", Address: "http://127.0.0.1:7070", Ready: true, StartTime: &started},
			{Name: "m2", Address: "http://127.0.0.1:7080", Leader: true, Ready: true, StartTime: &started},
			{Name: "m3", Address: "http://127.0.0.1:7090", StartTime: &started},
		},
	})
	e := mustEnv(t, "MINKUBE_SERVER="+url, "MINKUBE_TOKEN="+goodToken)
	got := fields(e.mustSucceed(t, "get", "managers"))
	want := [][]string{
		{"NAME", "ADDRESS", "LEADER", "READY", "AGE"},
		{"m1", "http://127.0.0.1:7070", "false", "true", "3h"},
		{"m2", "http://127.0.0.1:7080", "true", "true", "3h"},
		{"m3", "http://127.0.0.1:7090", "false", "false", "3h"},
	}
	if len(got) != len(want) {
		t.Fatalf("table = %q, want %q", got, want)
	}
	for i := range want {
		if strings.Join(got[i], "|") != strings.Join(want[i], "|") {
			t.Errorf("row %d = %q, want %q", i, got[i], want[i])
		}
	}

	var list v1.ManagerList
	if err := json.Unmarshal([]byte(e.mustSucceed(t, "get", "managers", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if list.Kind != v1.KindManagerList || len(list.Items) != 3 || !list.Items[1].Leader {
		t.Errorf("-o json = %+v; want the ManagerList with m2 leading", list)
	}
	var one v1.Manager
	if err := json.Unmarshal([]byte(e.mustSucceed(t, "get", "manager", "m2", "-o", "json")), &one); err != nil || one.Name != "m2" {
		t.Errorf("get manager m2 -o json = %+v, %v", one, err)
	}
	if res := e.mustFail(t, "get", "manager", "m9"); !strings.Contains(res.stderr, `manager "m9" not found`) {
		t.Errorf("get manager m9: stderr %q; want it not found", res.stderr)
	}
}

// TestGetManagers_failover checks that mkctl given several servers tries
// the next when one refuses connections.
func TestGetManagers_failover(t *testing.T) {
	url := mustManagersAPI(t, v1.ManagerList{Items: []v1.Manager{{Name: "m2", Leader: true, Ready: true}}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + l.Addr().String()
	l.Close()
	e := mustEnv(t, "MINKUBE_SERVER="+down+","+url, "MINKUBE_TOKEN="+goodToken)
	if out := e.mustSucceed(t, "get", "managers", "-o", "name"); out != "manager/m2\n" {
		t.Errorf("get managers through %s then %s = %q", down, url, out)
	}
}
