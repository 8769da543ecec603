package apiserver_test

import (
	"bufio"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/apiserver"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/store/statetest"
)

func mustParseCert(t *testing.T, data string) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCertificates([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

// syncBuffer is a log a test reads while the server writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func mustAPIEnvLogged(t *testing.T, opts apiserver.Options) (*apiEnv, *syncBuffer) {
	t.Helper()
	log := &syncBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(log, nil))
	return mustAPIEnvWith(t, opts), log
}

func (e *apiEnv) heartbeat(t *testing.T, name, token string) apiResponse {
	t.Helper()
	return e.do(t, http.MethodPut, "/api/v1/workers/"+name+"/status", token, v1.StatusReport{Full: true})
}

// TestRegister_Identity: a name in use goes only to the worker that holds
// its token (or to an admin); an impostor with the join token is refused,
// logged and recorded, and the worker it tried to replace is untouched.
func TestRegister_Identity(t *testing.T) {
	e, log := mustAPIEnvLogged(t, apiserver.Options{})
	w1 := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	w2 := e.mustRegister(t, registerRequest("w2"), http.StatusCreated)

	impostor := registerRequest("w1")
	impostor.Address = "10.9.9.9:7071"
	st := mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/workers", apiJoinToken, impostor), http.StatusForbidden, v1.StatusReasonForbidden)
	if !strings.Contains(st.Message, "worker w1 is registered already") {
		t.Errorf("refusal = %q", st.Message)
	}
	mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/workers", w2.Token, impostor), http.StatusForbidden, v1.StatusReasonForbidden)
	if got := e.mustGetWorker(t, "w1"); got.Spec.Address != "127.0.0.1:7071" || got.Metadata.UID != w1.Worker.Metadata.UID {
		t.Errorf("w1 after the impostors = %+v, want it untouched", got.Spec)
	}
	if r := e.heartbeat(t, "w1", w1.Token); r.Code != http.StatusOK {
		t.Errorf("w1's own token after the impostors: %d %s", r.Code, r.Body)
	}
	if !strings.Contains(log.String(), "registration refused") || !strings.Contains(log.String(), "10.9.9.9:7071") {
		t.Errorf("the refusal is not logged with the impostor's address:\n%s", log)
	}
	waitFor(t, "a RegistrationRefused event about w1", func() bool {
		for _, ev := range statetest.Events(t, e.st, v1.KindWorker, "w1") {
			if ev.Reason == apiserver.ReasonRegistrationRefused {
				return true
			}
		}
		return false
	})

	// The worker itself, with its token, and an admin may register it
	// again.
	again := e.mustRegisterWith(t, w1.Token, registerRequest("w1"), http.StatusOK)
	if again.Worker.Metadata.UID != w1.Worker.Metadata.UID {
		t.Errorf("re-registration changed the uid")
	}
	e.mustRegisterWith(t, apiAdminToken, registerRequest("w1"), http.StatusOK)
}

// TestDeleteWorker: a deleted worker is forgotten for good: its token
// stops working at once, a registration with it is told the worker was
// deleted, and the name is free for a new worker.
func TestDeleteWorker(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	w2 := e.mustRegister(t, registerRequest("w2"), http.StatusCreated)

	mustStatusError(t, e.do(t, http.MethodDelete, "/api/v1/workers/w1", w1.Token, nil), http.StatusForbidden, v1.StatusReasonForbidden)
	mustStatusError(t, e.do(t, http.MethodDelete, "/api/v1/workers/nope", apiAdminToken, nil), http.StatusNotFound, v1.StatusReasonNotFound)
	r := e.do(t, http.MethodDelete, "/api/v1/workers/w1", apiAdminToken, nil)
	if r.Code != http.StatusOK {
		t.Fatalf("DELETE w1 = %d %s", r.Code, r.Body)
	}
	var deleted v1.Worker
	mustDecode(t, r, &deleted)
	if deleted.Metadata.Name != "w1" {
		t.Errorf("DELETE answered %+v, want w1", deleted.Metadata)
	}
	waitFor(t, "w1 gone from the list", func() bool {
		_, ok := e.st.WorkerCache.Get("w1")
		return !ok
	})
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/workers/w1", apiAdminToken, nil), http.StatusNotFound, v1.StatusReasonNotFound)
	mustStatusError(t, e.heartbeat(t, "w1", w1.Token), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	st := mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/workers", w1.Token, registerRequest("w1")), http.StatusForbidden, v1.StatusReasonForbidden)
	if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Reason != v1.CauseWorkerDeleted {
		t.Errorf("registration of the deleted worker = %+v, want the cause %s", st, v1.CauseWorkerDeleted)
	}
	if r := e.heartbeat(t, "w2", w2.Token); r.Code != http.StatusOK {
		t.Errorf("w2 after w1 was deleted: %d %s", r.Code, r.Body)
	}

	// The name is free for a new worker; the old token stays refused.
	fresh := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	if fresh.Worker.Metadata.UID == w1.Worker.Metadata.UID {
		t.Errorf("the new w1 has the deleted one's uid")
	}
	mustStatusError(t, e.heartbeat(t, "w1", w1.Token), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	if r := e.heartbeat(t, "w1", fresh.Token); r.Code != http.StatusOK {
		t.Errorf("the new w1's token: %d %s", r.Code, r.Body)
	}
}

// TestAuth_WorkerToken: a worker's token reads and writes its own Worker
// and nothing else (Kubernetes' NodeRestriction).
func TestAuth_WorkerToken(t *testing.T) {
	e := mustAPIEnv(t)
	w1 := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	e.mustRegister(t, registerRequest("w2"), http.StatusCreated)
	tests := []struct {
		method, path string
		body         any
		code         int
	}{
		{http.MethodGet, "/api/v1/workers/w1", nil, http.StatusOK},
		{http.MethodGet, "/api/v1/workers/w1/tasks", nil, http.StatusOK},
		{http.MethodPut, "/api/v1/workers/w1/status", v1.StatusReport{Full: true}, http.StatusOK},
		{http.MethodGet, "/api/v1/workers/w2", nil, http.StatusForbidden},
		{http.MethodGet, "/api/v1/workers/w2/tasks", nil, http.StatusForbidden},
		{http.MethodPut, "/api/v1/workers/w2/status", v1.StatusReport{Full: true}, http.StatusForbidden},
		{http.MethodGet, "/api/v1/workers", nil, http.StatusForbidden},
		{http.MethodGet, "/api/v1/tasks", nil, http.StatusForbidden},
		{http.MethodPut, "/api/v1/tasks/x", `{"metadata":{"name":"x"},"spec":{"image":"a"}}`, http.StatusForbidden},
		{http.MethodPatch, "/api/v1/workers/w1", `{"metadata":{"labels":{"a":"b"}}}`, http.StatusForbidden},
		{http.MethodPost, "/api/v1/workers/w1/uncordon", nil, http.StatusForbidden},
		{http.MethodDelete, "/api/v1/workers/w2", nil, http.StatusForbidden},
		{http.MethodGet, "/api/v1/events", nil, http.StatusForbidden},
	}
	for _, tt := range tests {
		if r := e.do(t, tt.method, tt.path, w1.Token, tt.body); r.Code != tt.code {
			t.Errorf("%s %s with w1's token = %d, want %d; body %s", tt.method, tt.path, r.Code, tt.code, r.Body)
		}
	}
}

// TestAuth_Throttle: a client that keeps failing to authenticate is
// answered 429 with the time to wait; a good token from the same address
// keeps working.
func TestAuth_Throttle(t *testing.T) {
	e := mustAPIEnv(t)
	for i := range 10 {
		r := e.do(t, http.MethodGet, "/api/v1/tasks", fmt.Sprint("guess-", i), nil)
		if r.Code != http.StatusUnauthorized || !r.Close {
			t.Fatalf("guess %d = %d (close %v), want 401 and the connection closed", i, r.Code, r.Close)
		}
	}
	r := e.do(t, http.MethodGet, "/api/v1/tasks", "guess-10", nil)
	mustStatusError(t, r, http.StatusTooManyRequests, v1.StatusReasonTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Errorf("no Retry-After on 429")
	}
	if r := e.do(t, http.MethodGet, "/api/v1/tasks", apiAdminToken, nil); r.Code != http.StatusOK {
		t.Errorf("the admin token from the throttled address = %d, want 200", r.Code)
	}
}

// TestAuth_ThrottleSignIn: guesses of the admin token or of a sign-in code
// in the dashboard's sign-in body count as failed authentications too.
func TestAuth_ThrottleSignIn(t *testing.T) {
	e := mustAPIEnv(t)
	for i := range 10 {
		body := v1.SessionRequest{Token: fmt.Sprint("guess-", i)}
		if i%2 == 1 {
			body = v1.SessionRequest{Code: fmt.Sprint("mkc.guess.", i)}
		}
		mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", body), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	}
	r := e.do(t, http.MethodPost, "/api/v1/dashboard/sessions", "", v1.SessionRequest{Token: "guess-10"})
	mustStatusError(t, r, http.StatusTooManyRequests, v1.StatusReasonTooManyRequests)
	if r := e.do(t, http.MethodGet, "/api/v1/tasks", "another-guess", nil); r.Code != http.StatusTooManyRequests {
		t.Errorf("a bearer guess after the sign-in guesses = %d, want 429 (one allowance per client)", r.Code)
	}
	e.mustSession(t, v1.SessionRequest{Token: apiAdminToken}) // the admin token still signs in
}

// TestAuth_BeforeBody: a request without a valid token is answered before
// its body is read: one whose body never comes is refused at once and its
// connection closed.
func TestAuth_BeforeBody(t *testing.T) {
	e := mustAPIEnv(t)
	u, err := url.Parse(e.url)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The headers only: the 1000 bytes of body never come.
	fmt.Fprintf(conn, "PUT /api/v1/tasks/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 1000\r\n\r\n")
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer while the body was held back: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
		t.Errorf("answer %d (close %v), want 401 and the connection closed", resp.StatusCode, resp.Close)
	}
}

// TestSetTokens: rotated tokens take effect at once; workers' own tokens
// are untouched.
func TestSetTokens(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	e := mustAPIEnvWith(t, apiserver.Options{Logger: logger})
	w1 := e.mustRegister(t, registerRequest("w1"), http.StatusCreated)
	e.srv.SetTokens("new-admin", "new-join")
	mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/tasks", apiAdminToken, nil), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	if r := e.do(t, http.MethodGet, "/api/v1/tasks", "new-admin", nil); r.Code != http.StatusOK {
		t.Errorf("the new admin token = %d", r.Code)
	}
	mustStatusError(t, e.do(t, http.MethodPost, "/api/v1/workers", apiJoinToken, registerRequest("w2")), http.StatusUnauthorized, v1.StatusReasonUnauthorized)
	e.mustRegisterWith(t, "new-join", registerRequest("w2"), http.StatusCreated)
	if r := e.heartbeat(t, "w1", w1.Token); r.Code != http.StatusOK {
		t.Errorf("w1's own token after the rotation = %d", r.Code)
	}
}

// TestServer_InternalErrorHidden: a 500 answer carries an id, not the
// error; the log has both.
func TestServer_InternalErrorHidden(t *testing.T) {
	e, log := mustAPIEnvLogged(t, apiserver.Options{Endpoints: func(string, string) v1.EndpointsList {
		panic("the secret internals")
	}})
	st := mustStatusError(t, e.do(t, http.MethodGet, "/api/v1/endpoints", apiAdminToken, nil), http.StatusInternalServerError, v1.StatusReasonInternalError)
	if strings.Contains(st.Message, "secret") {
		t.Errorf("500 answer %q carries the error", st.Message)
	}
	id := st.Message[strings.LastIndex(st.Message, " ")+1:]
	if !strings.Contains(st.Message, "id ") || !strings.Contains(log.String(), "id="+id) || !strings.Contains(log.String(), "the secret internals") {
		t.Errorf("answer %q; log:\n%s\nwant the id in both and the error in the log", st.Message, log)
	}
}

func (e *apiEnv) mustGetWorker(t *testing.T, name string) *v1.Worker {
	t.Helper()
	w, err := e.st.Workers.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(apiWaitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
