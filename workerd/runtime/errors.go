package runtime

import "errors"

// Sentinel errors of every Runtime.
var (
	// ErrNotFound means the container does not exist.
	ErrNotFound = errors.New("container not found")
	// ErrImagePull means the image is not present and could not be pulled.
	ErrImagePull = errors.New("image pull failed")
	// ErrNotOwned means a network of the wanted name exists without the
	// labels of its owner: it is someone else's.
	ErrNotOwned = errors.New("network belongs to someone else")
	// ErrNotRunning means the container exists but is not running.
	ErrNotRunning = errors.New("container is not running")
)
