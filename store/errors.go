package store

import "errors"

// Sentinel errors returned by every Store. Backends wrap them with %w and
// the key; test with errors.Is.
var (
	// ErrNotFound means the key does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists means Create found the key already there.
	ErrExists = errors.New("already exists")
	// ErrConflict means a compare-and-swap saw another revision: the
	// caller read stale state and should read again and retry.
	ErrConflict = errors.New("conflict: the object has been modified")
	// ErrCompacted means a Watch asked for changes older than the store keeps.
	ErrCompacted = errors.New("revision compacted")
	// ErrClosed means the store was closed.
	ErrClosed = errors.New("store closed")
)
