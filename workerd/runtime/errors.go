package runtime

import "errors"

// Sentinel errors of every Runtime.
var (
	// ErrNotFound means the container does not exist.
	ErrNotFound = errors.New("container not found")
	// ErrImagePull means the image is not present and could not be pulled.
	ErrImagePull = errors.New("image pull failed")
)
