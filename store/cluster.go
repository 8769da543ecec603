package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// Keys of what a cluster has once: written by the first manager to start
// on an empty store, and read by every manager after, so managers that
// share a store share them.
const (
	// ClusterIDKey holds the cluster's id.
	ClusterIDKey = "/cluster/id"
	// ClusterCAKey holds the cluster CA: the certificate every client of
	// the cluster verifies the managers with (unless they bring their
	// own), and the key that signs the managers' and workers'
	// certificates. Workers never read the store, so the key stays with
	// the managers.
	ClusterCAKey = "/cluster/ca"
)

// ClusterCA is the cluster CA as the store keeps it.
type ClusterCA struct {
	// Certificate is the CA's certificate (PEM).
	Certificate string `json:"certificate"`
	// Key is the CA's private key (PEM).
	Key string `json:"key"`
}

// EnsureClusterID returns the cluster's id, generating and storing a new
// one (a random UUID) when the store has none. Managers racing on an empty
// store all return the id the first of them created.
func EnsureClusterID(ctx context.Context, s Store) (string, error) {
	v, err := ensureKey(ctx, s, ClusterIDKey, func() ([]byte, error) { return []byte(NewUID()), nil })
	if err != nil {
		return "", fmt.Errorf("the cluster id: %w", err)
	}
	return string(v), nil
}

// EnsureClusterCA returns the cluster CA, storing the one generate makes
// (certificate and key, PEM) when the store has none. Managers racing on
// an empty store all return the CA the first of them stored.
func EnsureClusterCA(ctx context.Context, s Store, generate func() (certPEM, keyPEM []byte, err error)) (ClusterCA, error) {
	v, err := ensureKey(ctx, s, ClusterCAKey, func() ([]byte, error) {
		cert, key, err := generate()
		if err != nil {
			return nil, err
		}
		return json.Marshal(ClusterCA{Certificate: string(cert), Key: string(key)})
	})
	if err != nil {
		return ClusterCA{}, fmt.Errorf("the cluster CA: %w", err)
	}
	var ca ClusterCA
	if err := json.Unmarshal(v, &ca); err != nil {
		return ClusterCA{}, fmt.Errorf("the cluster CA at %s: %w", ClusterCAKey, err)
	}
	return ca, nil
}

// ensureKey returns the value at key, storing the one newValue returns when
// there is none; when another writer stores one first, that one wins.
func ensureKey(ctx context.Context, s Store, key string, newValue func() ([]byte, error)) ([]byte, error) {
	kv, err := s.Get(ctx, key)
	if err == nil {
		return kv.Value, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("read: %w", err)
	}
	v, err := newValue()
	if err != nil {
		return nil, err
	}
	if _, err := s.Create(ctx, key, v); err != nil {
		if !errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("store: %w", err)
		}
		// Another manager stored one first: that one is the cluster's.
		kv, err := s.Get(ctx, key)
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		return kv.Value, nil
	}
	return v, nil
}
