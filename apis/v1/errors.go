package v1

import "errors"

// ErrNegativeQuantity is wrapped by the error ParseQuantity returns for a
// quantity below zero.
var ErrNegativeQuantity = errors.New("quantity must not be negative")

// Errors of Explain.
var (
	// ErrUnknownKind means Explain was asked about a kind it does not
	// document.
	ErrUnknownKind = errors.New("unknown kind")
	// ErrUnknownField means a path named a field its object does not have.
	ErrUnknownField = errors.New("unknown field")
)
