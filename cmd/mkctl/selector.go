package main

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// parseSelector checks a -l value with the Kubernetes selector parser, so
// that a mistake is reported before anything is sent. It returns the
// selector in its canonical form ("" for none) and the parsed selector for
// matching on the client side.
func parseSelector(s string) (string, labels.Selector, error) {
	if strings.TrimSpace(s) == "" {
		return "", labels.Everything(), nil
	}
	sel, err := labels.Parse(s)
	if err != nil {
		return "", nil, fmt.Errorf("bad label selector (-l) %q: %w", s, err)
	}
	return sel.String(), sel, nil
}
