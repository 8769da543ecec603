package reconcile

import "errors"

// Sentinel errors of this package. They are wrapped with %w and the name of
// the controller or the key they concern; test with errors.Is.
var (
	// ErrAlreadyStarted means Start was called on a Controller that has
	// already been started. A Controller runs once; build a new one to run
	// again.
	ErrAlreadyStarted = errors.New("controller already started")
	// ErrNilReconciler means the Controller was built by New with a nil
	// Reconciler; Start returns it instead of running.
	ErrNilReconciler = errors.New("reconciler is nil")
	// ErrPanic marks the error a Controller makes of a panic in Reconcile.
	// The key is retried with backoff like any other non-terminal error.
	ErrPanic = errors.New("reconciler panicked")
)
