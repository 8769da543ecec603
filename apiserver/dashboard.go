package apiserver

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/binary"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// The dashboard (docs/observability.md): static files served at /ui/,
// which read the API as a viewer. The browser never holds the admin
// token: it signs in with a one-time code (mkctl dashboard) or a pasted
// token, either sent in a POST body, and gets a read-only session token
// in return, which it keeps in the tab's sessionStorage and sends as a
// bearer token.

//go:embed ui
var uiFiles embed.FS

// Lifetimes of the dashboard's credentials.
const (
	// SignInCodeTTL is how long a sign-in code may be used, once.
	SignInCodeTTL = 2 * time.Minute
	// SessionTTL is how long a dashboard session reads the API.
	SessionTTL = 12 * time.Hour
)

// Prefixes of the dashboard's tokens, which say what they are.
const (
	codePrefix    = "mkc."
	sessionPrefix = "mks."
)

// sessions issues and checks the dashboard's sign-in codes and sessions.
// Both are signed with a key derived from the admin token, so every
// manager of a cluster accepts what any of them issued, and changing the
// admin token ends every session. A code is used once on each manager.
type sessions struct {
	key atomic.Pointer[[]byte] // rekey sets it
	now func() time.Time

	mu   sync.Mutex
	used map[string]time.Time // nonces of codes used, until they expire
}

// newSessions returns sessions that sign nothing until rekey gives them
// the admin token.
func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, used: map[string]time.Time{}}
}

// rekey derives the signing key from the admin token: what was signed
// with the key of another token is no longer valid.
func (s *sessions) rekey(adminToken string) {
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte("minkube dashboard v1"))
	key := mac.Sum(nil)
	s.key.Store(&key)
}

// issue returns a token of the kind prefix (codePrefix or sessionPrefix)
// that expires after ttl.
func (s *sessions) issue(prefix string, ttl time.Duration) (string, time.Time) {
	exp := s.now().Add(ttl).UTC().Truncate(time.Second)
	payload := make([]byte, 8+16)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	_, _ = rand.Read(payload[8:]) // crypto/rand.Read never fails
	enc := base64.RawURLEncoding
	return prefix + enc.EncodeToString(payload) + "." + enc.EncodeToString(s.sign(prefix, payload)), exp
}

func (s *sessions) sign(prefix string, payload []byte) []byte {
	mac := hmac.New(sha256.New, *s.key.Load())
	mac.Write([]byte(prefix))
	mac.Write(payload)
	return mac.Sum(nil)
}

// verify returns the payload's nonce and expiry when tok is a token of the
// kind prefix, signed here and not expired.
func (s *sessions) verify(prefix, tok string) (nonce string, exp time.Time, ok bool) {
	rest, found := strings.CutPrefix(tok, prefix)
	if !found {
		return "", time.Time{}, false
	}
	p, sig, found := strings.Cut(rest, ".")
	if !found {
		return "", time.Time{}, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(sig)
	if err1 != nil || err2 != nil || len(payload) != 24 || !hmac.Equal(mac, s.sign(prefix, payload)) {
		return "", time.Time{}, false
	}
	exp = time.Unix(int64(binary.BigEndian.Uint64(payload)), 0)
	if !s.now().Before(exp) {
		return "", time.Time{}, false
	}
	return p, exp, true
}

// validSession reports whether tok is a live dashboard session.
func (s *sessions) validSession(tok string) bool {
	_, _, ok := s.verify(sessionPrefix, tok)
	return ok
}

// useCode reports whether code is a live sign-in code not used before,
// and marks it used.
func (s *sessions) useCode(code string) bool {
	nonce, exp, ok := s.verify(codePrefix, code)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for n, e := range s.used {
		if !now.Before(e) {
			delete(s.used, n)
		}
	}
	if _, seen := s.used[nonce]; seen {
		return false
	}
	s.used[nonce] = exp
	return true
}

// createSignInCode serves POST /api/v1/dashboard/codes (admin): a code
// that signs a browser in once, within SignInCodeTTL.
func (s *Server) createSignInCode(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	code, exp := s.sessions.issue(codePrefix, SignInCodeTTL)
	writeJSON(w, http.StatusCreated, v1.SignInCode{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindSignInCode},
		Code:     code, ExpiresAt: exp, Path: "/ui/#code=" + code,
	})
	return nil
}

// createSession serves POST /api/v1/dashboard/sessions: a sign-in code,
// or the admin token, in the body is exchanged for a read-only session.
// The request carries no Authorization header: the body is the
// credential, so that it never appears in a URL.
func (s *Server) createSession(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req v1.SessionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	signedIn := (req.Code != "" && s.sessions.useCode(req.Code)) || (req.Token != "" && s.identify(req.Token).kind == kindAdmin)
	// A refused code or token counts against the client's allowance of
	// failures, as a refused bearer token does (authenticate): the body is
	// no way around the throttle.
	if !signedIn {
		if wait := s.throttle.Failed(r); wait > 0 {
			return errThrottled(wait)
		}
	}
	switch {
	case signedIn:
	case req.Code != "":
		return errUnauthorized("this sign-in code is not valid: it expired, was used already, or belongs to another cluster; run mkctl dashboard again")
	default:
		return errUnauthorized("this token does not sign in to the dashboard: give the admin token (mkctl config view --raw shows it), or run mkctl dashboard")
	}
	tok, exp := s.sessions.issue(sessionPrefix, SessionTTL)
	s.log.Info("dashboard session started", "via", map[bool]string{true: "sign-in code", false: "token"}[req.Code != ""], "expires", exp)
	writeJSON(w, http.StatusCreated, v1.Session{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindSession},
		Token:    tok, ExpiresAt: exp,
	})
	return nil
}

// uiHandler serves the dashboard's static files, with headers that keep
// it to its own origin and send no referrer.
func uiHandler() http.Handler {
	sub, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic(err) // the embedded directory is part of the binary
	}
	files := http.StripPrefix("/ui/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}
