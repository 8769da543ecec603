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
	// ErrUnavailable means the store could not serve the request now: a
	// distributed backend has lost its quorum or cannot be reached. The
	// request may be retried later; a write that returned it may or may
	// not have been committed.
	ErrUnavailable = errors.New("store unavailable")
	// ErrFenced means a fenced write was refused because the writer no
	// longer holds the lease it was fenced by: another manager leads now.
	// Nothing was written.
	ErrFenced = errors.New("write refused: this manager no longer leads")
	// ErrNotEmpty means Migrate found keys in its target store.
	ErrNotEmpty = errors.New("target store is not empty")
)
