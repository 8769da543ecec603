package v1

import "time"

// Kinds of the dashboard's sign-in.
const (
	KindSignInCode = "SignInCode"
	KindSession    = "Session"
)

// SignInCode is the answer of POST /api/v1/dashboard/codes: a code that
// signs a browser in to the dashboard once, before ExpiresAt. Path is
// where to open it on the manager: the code rides in the URL's fragment,
// which browsers never send to a server.
type SignInCode struct {
	TypeMeta  `json:",inline"`
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expiresAt"`
	Path      string    `json:"path"`
}

// SessionRequest is the body of POST /api/v1/dashboard/sessions: a
// sign-in code, or the admin token.
type SessionRequest struct {
	Code  string `json:"code,omitempty"`
	Token string `json:"token,omitempty"`
}

// Session is a read-only token for the dashboard: it reads tasks,
// workers, events, logs and usage, and changes nothing.
type Session struct {
	TypeMeta  `json:",inline"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}
