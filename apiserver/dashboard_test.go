package apiserver_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki/pkitest"
)

// mustSession exchanges body for a dashboard session token.
func (e *apiEnv) mustSession(t *testing.T, body v1.SessionRequest) string {
	t.Helper()
	var s v1.Session
	r := e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", body)
	if r.Code != http.StatusCreated {
		t.Fatalf("POST /api/v1/dashboard/sessions = %d %s", r.Code, r.Body)
	}
	mustDecode(t, r, &s)
	return s.Token
}

func TestDashboard_SignIn(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	e := mustAPIEnvWith(t, apiserver.Options{Now: clock, MetricsToken: apiMetricsToken, Pprof: true})
	e.mustStoredTask(t, "web", nil, v1.TaskStatus{})

	var code v1.SignInCode
	mustDecode(t, e.do(t, http.MethodPost, "/api/v1/dashboard/codes", apiAdminToken, nil), &code)
	if code.Path != "/ui/#code="+code.Code || strings.Contains(code.Path, apiAdminToken) {
		t.Fatalf("sign-in path %q: want /ui/#code=CODE, and never the admin token", code.Path)
	}
	session := e.mustSession(t, v1.SessionRequest{Code: code.Code})
	if session == apiAdminToken || !strings.HasPrefix(session, "mks.") {
		t.Fatalf("session token %q: want a token of its own", session)
	}
	st := mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", v1.SessionRequest{Code: code.Code}),
		http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	if !strings.Contains(st.Message, "used already") {
		t.Errorf("a code used twice: %q, want it to say why", st.Message)
	}

	// The session reads, and nothing else.
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/api/v1/tasks", http.StatusOK},
		{http.MethodGet, "/api/v1/tasks/web", http.StatusOK},
		{http.MethodGet, "/api/v1/workers", http.StatusOK},
		{http.MethodGet, "/api/v1/events?task=web", http.StatusOK},
		{http.MethodGet, "/api/v1/usage/workers", http.StatusOK},
		{http.MethodDelete, "/api/v1/tasks/web", http.StatusForbidden},
		{http.MethodPost, "/api/v1/dashboard/codes", http.StatusForbidden},
		{http.MethodGet, "/debug/pprof/", http.StatusForbidden},
		{http.MethodGet, "/metrics", http.StatusForbidden},
	} {
		if r := e.do(t, tc.method, tc.path, session, nil); r.Code != tc.want {
			t.Errorf("%s %s with a session = %d %s, want %d", tc.method, tc.path, r.Code, r.Body, tc.want)
		}
	}
	// The metrics token and the join token are no sessions.
	for _, tok := range []string{apiMetricsToken, apiJoinToken} {
		if r := e.do(t, http.MethodGet, "/api/v1/tasks", tok, nil); r.Code != http.StatusForbidden {
			t.Errorf("GET /api/v1/tasks with %q = %d, want 403", tok, r.Code)
		}
	}

	// The admin token in a body signs in too; another token does not.
	if s := e.mustSession(t, v1.SessionRequest{Token: apiAdminToken}); s == apiAdminToken {
		t.Fatal("the admin token came back as the session")
	}
	for _, body := range []v1.SessionRequest{{Token: apiJoinToken}, {Token: apiMetricsToken}, {Code: "mkc.forged.code"}, {}} {
		mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", body), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	}

	// Codes and sessions expire.
	mustDecode(t, e.do(t, http.MethodPost, "/api/v1/dashboard/codes", apiAdminToken, nil), &code)
	now = now.Add(apiserver.SignInCodeTTL + time.Second)
	mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", v1.SessionRequest{Code: code.Code}), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	now = now.Add(apiserver.SessionTTL)
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks", session, nil), http.StatusUnauthorized, v1.StatusReasonUnauthorized)

	// Another cluster (another admin token) takes none of these.
	fresh := e.mustSession(t, v1.SessionRequest{Token: apiAdminToken})
	otherSrv, err := apiserver.New(apiserver.Options{State: e.st, AdminToken: "another-admin", JoinToken: apiJoinToken, Signer: pkitest.CA()})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tasks", nil)
	req.Header.Set("Authorization", "Bearer "+fresh)
	rec := httptest.NewRecorder()
	otherSrv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("a session of one cluster on another = %d, want 401", rec.Code)
	}
}

func TestDashboard_StaticFiles(t *testing.T) {
	e := mustAPIEnv(t)
	for path, want := range map[string]string{"/ui/": "<title>Minkube</title>", "/ui/app.js": "watchTasks", "/ui/style.css": "@media (max-width: 640px)"} {
		r := e.do(t, http.MethodGet, path, "", nil)
		if r.Code != http.StatusOK || !strings.Contains(string(r.Body), want) {
			t.Errorf("GET %s = %d, want 200 with %q", path, r.Code, want)
		}
		if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || r.Header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("GET %s: CSP %q, Referrer-Policy %q", path, csp, r.Header.Get("Referrer-Policy"))
		}
	}
	if r := e.do(t, http.MethodGet, "/ui/no-such-file", "", nil); r.Code != http.StatusNotFound {
		t.Errorf("GET /ui/no-such-file = %d, want 404", r.Code)
	}
}
