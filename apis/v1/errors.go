package v1

import "errors"

// ErrNegativeQuantity is wrapped by the error ParseQuantity returns for a
// quantity below zero.
var ErrNegativeQuantity = errors.New("quantity must not be negative")
