package apiserver_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/discovery"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store/statetest"
)

// TestServer_Endpoints serves the services as the DNS zone builds them
// from the caches: all of them, one, or a task's.
func TestServer_Endpoints(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := statetest.New(t, logger)
	z, err := discovery.NewZone("minkube.", 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	src := discovery.NewCacheSource(st.TaskCache, st.WorkerCache, nil)
	srv, err := apiserver.New(apiserver.Options{State: st, AdminToken: apiAdminToken, JoinToken: apiJoinToken, Signer: pkitest.CA(), Logger: logger,
		Endpoints: func(service, task string) v1.EndpointsList { return z.Endpoints(src, service, task) }})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	statetest.Run(t, st)
	e := &apiEnv{st: st, url: hs.URL}

	running := v1.TaskStatus{Phase: v1.PhaseRunning, Worker: "w1", HostIP: "10.0.0.1",
		Conditions: []v1.Condition{{Type: v1.TaskReady, Status: v1.ConditionTrue}}}
	e.mustStoredTask(t, "web", map[string]string{"service": "shop"}, running)
	e.mustStoredTask(t, "web2", map[string]string{"service": "shop"}, v1.TaskStatus{Phase: v1.PhasePending})
	e.mustStoredTask(t, "db", map[string]string{"service": "data"}, running)
	e.mustStoredTask(t, "alone", nil, running)

	for _, tc := range []struct {
		query    string
		services []string
		members  int
	}{
		{"", []string{"data", "shop"}, 3},
		{"?service=shop", []string{"shop"}, 2},
		{"?task=db", []string{"data"}, 1},
		{"?task=alone", nil, 0},
	} {
		var list v1.EndpointsList
		mustDecode(t, e.do(t, http.MethodGet, "/api/v1/endpoints"+tc.query, apiAdminToken, nil), &list)
		var names []string
		members := 0
		for _, ep := range list.Items {
			names = append(names, ep.Metadata.Name)
			members += len(ep.Members)
		}
		if list.Kind != v1.KindEndpointsList || list.Domain != "minkube." || list.Metadata.ResourceVersion == "" ||
			len(names) != len(tc.services) || members != tc.members {
			t.Errorf("GET /api/v1/endpoints%s = %+v; want services %v with %d members", tc.query, list, tc.services, tc.members)
		}
		for i := range names {
			if names[i] != tc.services[i] {
				t.Errorf("GET /api/v1/endpoints%s: services %v, want %v", tc.query, names, tc.services)
			}
		}
	}
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/endpoints", "", nil), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
}
