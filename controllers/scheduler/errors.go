package scheduler

import "errors"

// Errors a WorkerAPI returns for a push the worker did not take. Any other
// error leaves it unknown whether the worker took the task (a timeout, a
// connection broken after the request went out).
var (
	// ErrInsufficientStorage means the worker has less free disk than the
	// task asks for (HTTP 507).
	ErrInsufficientStorage = errors.New("insufficient disk on the worker")
	// ErrWorkerNotReady means the worker is up but cannot take tasks yet
	// (HTTP 503).
	ErrWorkerNotReady = errors.New("worker not ready")
	// ErrPushRejected means the worker answered the push with another
	// error status (4xx): it did not take the task.
	ErrPushRejected = errors.New("worker rejected the push")
	// ErrNotDelivered means the push never reached the worker: there is
	// no way to reach it (no credentials) or the connection could not be
	// opened.
	ErrNotDelivered = errors.New("push not delivered to the worker")
)

// refusal says why a push's error means the worker did not take the task,
// or "" when err is nil or leaves that unknown.
func refusal(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInsufficientStorage):
		return reasonDisk
	case errors.Is(err, ErrWorkerNotReady):
		return reasonNotReady
	case errors.Is(err, ErrPushRejected):
		return "rejected"
	case errors.Is(err, ErrNotDelivered):
		return "unreachable"
	}
	return ""
}
