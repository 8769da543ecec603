package store

import (
	"context"
	"errors"
	"fmt"
)

// ClusterIDKey is where the cluster's id is kept. It is written once, by
// the first manager to start on an empty store, and read by every manager
// after: managers that share a store share the id.
const ClusterIDKey = "/cluster/id"

// EnsureClusterID returns the cluster's id, generating and storing a new
// one (a random UUID) when the store has none. Managers racing on an empty
// store all return the id the first of them created.
func EnsureClusterID(ctx context.Context, s Store) (string, error) {
	kv, err := s.Get(ctx, ClusterIDKey)
	if err == nil {
		return string(kv.Value), nil
	}
	if !errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("read the cluster id: %w", err)
	}
	id := NewUID()
	if _, err := s.Create(ctx, ClusterIDKey, []byte(id)); err != nil {
		if !errors.Is(err, ErrExists) {
			return "", fmt.Errorf("store a new cluster id: %w", err)
		}
		// Another manager stored one first: that one is the cluster's.
		kv, err := s.Get(ctx, ClusterIDKey)
		if err != nil {
			return "", fmt.Errorf("read the cluster id: %w", err)
		}
		return string(kv.Value), nil
	}
	return id, nil
}
