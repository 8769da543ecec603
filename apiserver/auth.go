package apiserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/store"
)

// role is who a route is for, besides the admin, whose token every route
// takes; a route may be for several (roleWorker|roleRead).
type role uint8

const (
	// roleAdmin routes are for the admin token only.
	roleAdmin role = 1 << iota
	// roleJoin is registration: the join token, or a worker's own token
	// when it registers again (the handler checks the name).
	roleJoin
	// roleWorker routes act on the worker named in the path, and take
	// that worker's token.
	roleWorker
	// roleMetrics is GET /metrics: the metrics token may read it.
	roleMetrics
	// roleRead routes only read: a dashboard session may use them.
	roleRead
)

// kind is what a bearer token turned out to be.
type kind int

const (
	kindNone kind = iota
	kindAdmin
	kindJoin
	kindWorker
	kindMetrics // the read-only metrics token
	kindSession // a dashboard session (dashboard.go)
)

// caller is who sent a request, as its bearer token says.
type caller struct {
	kind kind
	// worker is the worker whose token it is (kindWorker).
	worker string
	// revoked is true for the token of a worker that was deleted.
	revoked bool
}

type callerKey struct{}

// callerOf returns who sent r, as handle authenticated it.
func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// tokens are the admin and join tokens; they are replaced whole when
// rotated (SetTokens).
type tokens struct{ admin, join string }

// SetTokens replaces the admin and join tokens at once: requests from
// then on must carry the new ones. Workers keep their own tokens; the
// dashboard's sessions, signed with a key derived from the admin token,
// end when the admin token changes (the same token derives the same key).
func (s *Server) SetTokens(admin, join string) {
	s.tokens.Store(&tokens{admin: admin, join: join})
	s.sessions.rekey(admin)
}

// identify says whose token a request carries.
func (s *Server) identify(token string) caller {
	t := s.tokens.Load()
	switch {
	case token == "":
		return caller{}
	case equalToken(token, t.admin):
		return caller{kind: kindAdmin}
	case equalToken(token, t.join):
		return caller{kind: kindJoin}
	case s.metricsToken != "" && equalToken(token, s.metricsToken):
		return caller{kind: kindMetrics}
	case s.sessions.validSession(token):
		return caller{kind: kindSession}
	}
	// Looking the hash up is safe: its timing tells nothing of a token
	// that hashes to it.
	for _, cred := range s.st.CredentialCache.ByIndex(store.IndexTokenHash, hashToken(token)) {
		return caller{kind: kindWorker, worker: cred.Metadata.Name, revoked: cred.Revoked()}
	}
	return caller{}
}

// authenticate decides whether r's caller may use a route for who, where
// name is the worker the path names. It is the one place that says which
// token may do what:
//   - the admin token may do everything;
//   - the join token may only register;
//   - the metrics token may only read /metrics, and a dashboard session
//     may only use the routes that read;
//   - a worker's token may register that worker again, and act on that
//     worker's routes; the token of a worker that was deleted may do
//     nothing, and is told so when it registers.
//
// An unknown token counts against its client's allowance of failures
// (serve.Throttle); past it the answer is 429.
func (s *Server) authenticate(r *http.Request, who role, name string) (caller, error) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	c := s.identify(token)
	switch {
	case c.kind == kindNone:
		if wait := s.throttle.Failed(r); wait > 0 {
			return c, errThrottled(wait)
		}
		if !ok || token == "" {
			return c, errUnauthorized("missing bearer token: send Authorization: Bearer TOKEN")
		}
		return c, errUnauthorized("invalid bearer token")
	case c.kind == kindAdmin:
		return c, nil
	case c.kind == kindWorker && c.revoked && who&roleJoin != 0:
		return c, errWorkerDeleted(c.worker)
	case c.kind == kindWorker && c.revoked:
		// Unauthorized, so the worker registers again and is told why.
		return c, errUnauthorized("worker %s was deleted; its token no longer works", c.worker)
	case who&roleJoin != 0 && (c.kind == kindJoin || c.kind == kindWorker):
		return c, nil
	case who&roleWorker != 0 && c.kind == kindWorker && c.worker == name:
		return c, nil
	case who&roleWorker != 0 && c.kind == kindWorker:
		return c, errForbidden("this token belongs to another worker than %q", name)
	case who&roleMetrics != 0 && c.kind == kindMetrics, who&roleRead != 0 && c.kind == kindSession:
		return c, nil
	}
	return c, errForbidden("this token may not %s %s", r.Method, r.URL.Path)
}

// errWorkerDeleted answers a deleted worker that registers: its
// credential was revoked for good. The cause tells the worker to stop
// what it runs.
func errWorkerDeleted(name string) error {
	e := newStatus(http.StatusForbidden, v1.StatusReasonForbidden,
		"worker %s was deleted (mkctl delete worker); it does not come back by itself: to join again as a new worker, remove its credential file (DATA-DIR/worker-%s.credential) and restart it", name, name)
	e.status.Details = &v1.StatusDetails{Kind: v1.KindWorker, Name: name,
		Causes: []v1.StatusCause{{Reason: v1.CauseWorkerDeleted, Field: "metadata.name", Message: "the worker was deleted"}}}
	return e
}

// errThrottled answers a client that failed to authenticate too often.
func errThrottled(wait time.Duration) error {
	after := serve.RetryAfter(wait)
	e := newStatus(http.StatusTooManyRequests, v1.StatusReasonTooManyRequests,
		"too many requests with a wrong token from this address; retry in %ss", after)
	e.retryAfter = after
	return e
}

func equalToken(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
