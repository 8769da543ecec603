package pki

import "errors"

// Sentinel errors; returned errors wrap them with the details.
var (
	// ErrNoPEM means a file or field holds no PEM block of the kind
	// looked for.
	ErrNoPEM = errors.New("no PEM data")
	// ErrKeyMismatch means a private key is not the key of the
	// certificate it goes with.
	ErrKeyMismatch = errors.New("the key does not match the certificate")
	// ErrNotCA means a certificate meant to sign others is not a CA.
	ErrNotCA = errors.New("not a CA certificate")
	// ErrPinMismatch means the server presented no CA certificate whose
	// hash is the pinned one.
	ErrPinMismatch = errors.New("the server's certificate chain has no CA with the pinned hash")
	// ErrJoinToken means a join token is malformed.
	ErrJoinToken = errors.New("malformed join token")
)
