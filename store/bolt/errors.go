package bolt

import "errors"

// Errors returned by Open besides the store package's sentinels. Test with
// errors.Is.
var (
	// ErrLocked means another process holds the database file open; Open
	// gave up after waiting a second for its lock.
	ErrLocked = errors.New("database file is locked by another process")

	// ErrCorrupt means the file holds data this package did not write or
	// cannot read: a record that does not decode or a format version
	// that is not one.
	ErrCorrupt = errors.New("database file is corrupt")

	// ErrNewerFormat means a newer version of this package wrote the
	// file, in a format this one does not read.
	ErrNewerFormat = errors.New("database file was written by a newer minkube")
)
