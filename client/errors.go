package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Sentinel errors. Returned errors wrap them with %w and the context of the
// call; test with errors.Is.
var (
	// ErrInsufficientStorage means a worker refused a Task because it does
	// not have the free disk the Task asks for (HTTP 507). The error also
	// wraps the worker's *v1.Status.
	ErrInsufficientStorage = errors.New("worker has insufficient storage")
	// ErrNotReady means a worker refused a Task because it is not ready to
	// run containers (HTTP 503). The error also wraps the worker's
	// *v1.Status.
	ErrNotReady = errors.New("worker is not ready")
	// ErrResponseTooLarge means a response body exceeded the size the
	// client accepts for it.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrNoCertificates means the CA data given to verify a server with
	// (WithTLS, a config's certificate-authority-data) holds no PEM
	// certificate.
	ErrNoCertificates = errors.New("no PEM certificate")
)

// UnreachableError reports that a request got no HTTP answer: the
// connection was refused, the host did not resolve, the connection broke or
// timed out. Err is the underlying network error.
type UnreachableError struct {
	// Peer is what was called: "the manager" or "the worker".
	Peer string
	// Server is the base URL that was tried.
	Server string
	// Source, when set, says where the address came from ("from
	// ~/.minkube/config"); it is shown in parentheses after the address.
	Source string
	// Err is the network error.
	Err error
}

// Error renders "cannot reach the manager at URL (SOURCE): REASON".
func (e *UnreachableError) Error() string {
	src := ""
	if e.Source != "" {
		src = " (" + e.Source + ")"
	}
	at := ""
	if e.Server != "" {
		at = " at " + e.Server
	}
	return fmt.Sprintf("cannot reach %s%s%s: %s", e.Peer, at, src, describeNetError(e.Err))
}

// Unwrap returns the network error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// NotSent reports whether err says a request never reached the server:
// the connection could not be opened (refused, no route, a name that does
// not resolve) or the server's certificate did not verify, so the server
// cannot have acted on it. After a failure once the connection was open
// (a timeout, a reset) the outcome is unknown, and NotSent is false.
func NotSent(err error) bool {
	var op *net.OpError
	var dnsErr *net.DNSError
	return (errors.As(err, &op) && op.Op == "dial") || errors.As(err, &dnsErr) || Untrusted(err)
}

// describeNetError names a network failure in the words a person uses.
func describeNetError(err error) string {
	var dnsErr *net.DNSError
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to host"
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("cannot resolve host %q", dnsErr.Name)
	case Untrusted(err):
		return "its certificate is not trusted (" + trustError(err) + ")"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timed out"
	}
	// Drop the url.Error's "Get \"http://...\": " prefix: the address is
	// already in the message.
	if u := errors.Unwrap(err); u != nil {
		return u.Error()
	}
	return err.Error()
}

// trustError is the innermost words of a certificate verification error.
func trustError(err error) string {
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) && cv.Err != nil {
		return cv.Err.Error()
	}
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err.Error()
		}
		err = u
	}
}

// ReasonOf returns the Reason of the *v1.Status in err's chain, or "" when
// err carries none.
func ReasonOf(err error) v1.StatusReason {
	var st *v1.Status
	if errors.As(err, &st) {
		return st.Reason
	}
	return ""
}

// codeOf returns the Code of the *v1.Status in err's chain, or 0.
func codeOf(err error) int {
	var st *v1.Status
	if errors.As(err, &st) {
		return st.Code
	}
	return 0
}

// IsNotFound reports whether err is a NotFound (404) answer.
func IsNotFound(err error) bool {
	return ReasonOf(err) == v1.StatusReasonNotFound || codeOf(err) == http.StatusNotFound
}

// IsAlreadyExists reports whether err is an AlreadyExists answer to a create.
func IsAlreadyExists(err error) bool {
	return ReasonOf(err) == v1.StatusReasonAlreadyExists
}

// IsConflict reports whether err is a Conflict answer: a compare-and-swap
// write carried a stale resourceVersion.
func IsConflict(err error) bool {
	return ReasonOf(err) == v1.StatusReasonConflict
}

// IsGone reports whether err is a 410 Gone answer: the resourceVersion a
// watch asked for is no longer kept, and the caller must list again.
func IsGone(err error) bool {
	return ReasonOf(err) == v1.StatusReasonGone || codeOf(err) == http.StatusGone
}

// IsUnauthorized reports whether err is a 401 answer: the token is missing
// or wrong.
func IsUnauthorized(err error) bool {
	return ReasonOf(err) == v1.StatusReasonUnauthorized || codeOf(err) == http.StatusUnauthorized
}

// reasonForCode returns the Status reason that goes with an HTTP code.
func reasonForCode(code int) v1.StatusReason {
	switch code {
	case http.StatusBadRequest:
		return v1.StatusReasonBadRequest
	case http.StatusUnauthorized:
		return v1.StatusReasonUnauthorized
	case http.StatusForbidden:
		return v1.StatusReasonForbidden
	case http.StatusNotFound:
		return v1.StatusReasonNotFound
	case http.StatusConflict:
		return v1.StatusReasonConflict
	case http.StatusGone:
		return v1.StatusReasonGone
	case http.StatusRequestEntityTooLarge:
		return v1.StatusReasonRequestEntityTooLarge
	case http.StatusUnprocessableEntity:
		return v1.StatusReasonInvalid
	case http.StatusInsufficientStorage:
		return v1.StatusReasonInsufficientStorage
	case http.StatusServiceUnavailable:
		return v1.StatusReasonServiceUnavailable
	}
	if code >= 500 {
		return v1.StatusReasonInternalError
	}
	return v1.StatusReasonBadRequest
}
