package store

import "context"

// KeyValue is one stored value and the revision of its last write.
type KeyValue struct {
	Key   string
	Value []byte
	// Revision is the store revision at which this key was last written
	// (etcd's ModRevision). It is never 0 for a stored key.
	Revision int64
}

// EventType says whether a key was written or deleted.
type EventType int

// Event types.
const (
	EventPut EventType = iota + 1
	EventDelete
)

// Event is one change seen by a watch.
type Event struct {
	Type EventType
	// KV is the key after a put, or the key's last value before a delete
	// (KV.Revision is then the revision of the delete).
	KV KeyValue
	// Created is true when a put created the key.
	Created bool
}

// Store is a revisioned key/value store: every write moves one store-wide
// revision, and every key remembers the revision of its last write. It is
// the one interface the manager's state lives behind; bolt and etcd
// implement it, and storetest holds the suite both must pass.
//
// Keys are plain strings such as "/tasks/web"; prefixes group kinds.
// Besides the errors each method names, every method returns the
// context's error (wrapped) when ctx has ended, and ErrClosed after Close.
// Errors wrap the sentinels of errors.go with the key.
type Store interface {
	// Get returns the key's value. It returns ErrNotFound when the key
	// does not exist.
	Get(ctx context.Context, key string) (KeyValue, error)

	// List returns every key with the prefix, in key order, and the store
	// revision the list was read at (from which a Watch resumes).
	List(ctx context.Context, prefix string) ([]KeyValue, int64, error)

	// Create stores a new key and returns the revision of the write. It
	// returns ErrExists when the key exists. Neither Create nor Update
	// keeps value, or a slice of it, past its return: the caller may
	// reuse its buffer (the Resources do).
	Create(ctx context.Context, key string, value []byte) (int64, error)

	// Update replaces the value of an existing key and returns the revision
	// of the write. When rev is not 0 the write is a compare-and-swap: it
	// returns ErrConflict unless the key's revision is rev. It returns
	// ErrNotFound when the key does not exist.
	Update(ctx context.Context, key string, value []byte, rev int64) (int64, error)

	// Delete removes the key. When rev is not 0 it returns ErrConflict
	// unless the key's revision is rev. It returns ErrNotFound when the key
	// does not exist.
	Delete(ctx context.Context, key string, rev int64) error

	// Watch streams every change to keys with the prefix that happened
	// after revision rev, in revision order, starting with those already
	// past (rev 0 means from now on). The channel closes when ctx ends, the
	// store closes, or the watcher falls too far behind; the caller then
	// lists again and watches from the list's revision. It returns
	// ErrCompacted when changes after rev are no longer kept.
	Watch(ctx context.Context, prefix string, rev int64) (<-chan Event, error)

	// Revision returns the store's current revision.
	Revision(ctx context.Context) (int64, error)

	// Close releases the store. Watches end: their channels close. Writes
	// that were accepted before Close complete. Calling Close again does
	// nothing and returns nil.
	Close() error
}
