package scheduler

import "errors"

// Errors a WorkerAPI returns for a refused push; others mean the worker
// could not be reached or failed.
var (
	// ErrInsufficientStorage means the worker has less free disk than the
	// task asks for (HTTP 507).
	ErrInsufficientStorage = errors.New("insufficient disk on the worker")
	// ErrWorkerNotReady means the worker is up but cannot take tasks yet
	// (HTTP 503).
	ErrWorkerNotReady = errors.New("worker not ready")
)
