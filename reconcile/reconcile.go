package reconcile

import (
	"context"
	"errors"
	"time"
)

// Request names the object to reconcile. It carries only a key, never the
// object or the event that caused it: the Reconciler reads the current state
// itself.
type Request struct {
	// Key identifies the object, for example "web" or "worker/worker-2".
	// Its format is the Reconciler's business.
	Key string
}

// String returns the key.
func (r Request) String() string { return r.Key }

// Result tells the Controller what to do with a key that reconciled without
// error.
type Result struct {
	// RequeueAfter, when positive, asks for the key to be looked at again
	// after that long: the only way to poll. Zero (or negative) means done
	// until something enqueues the key again.
	RequeueAfter time.Duration
}

// IsZero reports whether r asks for nothing more.
func (r Result) IsZero() bool { return r.RequeueAfter <= 0 }

// Reconciler converges one object towards its desired state.
type Reconciler interface {
	// Reconcile reads the current state of the object named by req and
	// acts to bring it to the desired state. It must be idempotent: it is
	// called again for the same key whenever anything may have changed,
	// and may be called for a key whose object no longer exists.
	//
	// A nil error with a zero Result means the object has converged. Any
	// error is retried with per-key exponential backoff, except an error
	// wrapped by TerminalError, which drops the key. ctx ends when the
	// Controller is stopping; Reconcile should then return promptly.
	Reconcile(ctx context.Context, req Request) (Result, error)
}

// Func adapts a plain function to the Reconciler interface.
type Func func(ctx context.Context, req Request) (Result, error)

// Reconcile calls f(ctx, req).
func (f Func) Reconcile(ctx context.Context, req Request) (Result, error) {
	return f(ctx, req)
}

var _ Reconciler = Func(nil)

// terminalError wraps an error that retrying cannot fix.
type terminalError struct{ err error }

func (e *terminalError) Error() string {
	if e.err == nil {
		return "terminal error"
	}
	return "terminal error: " + e.err.Error()
}

func (e *terminalError) Unwrap() error { return e.err }

// TerminalError wraps err to say that retrying cannot fix it, for example an
// object whose spec can never be satisfied. A Controller logs such an error
// and drops the key instead of retrying; the key is processed again only
// when something enqueues it. The wrapped error stays reachable through
// errors.Is and errors.As. TerminalError(nil) still returns a terminal error.
func TerminalError(err error) error {
	return &terminalError{err: err}
}

// IsTerminal reports whether err, or any error it wraps, was made by
// TerminalError.
func IsTerminal(err error) bool {
	var te *terminalError
	return errors.As(err, &te)
}
