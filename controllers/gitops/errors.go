package gitops

import "errors"

// Errors a pass meets while applying; they are recorded as events and
// logged, and wrapped with the Task and the files concerned.
var (
	// ErrNotOwned means a file declares a Task that exists without the
	// minkube.io/source annotation (it was made with mkctl): the directory
	// sync does not take it over.
	ErrNotOwned = errors.New("exists and is not managed by the manifests directory")
	// ErrOwnedElsewhere means a file declares a Task that another file of
	// the directory owns and still declares (or cannot be read just now).
	ErrOwnedElsewhere = errors.New("is owned by another manifest file")
)
