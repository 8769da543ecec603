// Package statetest runs a store.State over a fresh bolt store for the
// tests of the packages built on it (the apiserver and the controllers),
// so each of them does not set up, start and tear down its own.
package statetest

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// Starter is anything run until its context ends: a controller, the
// State's caches.
type Starter interface {
	Start(ctx context.Context) error
}

// New returns a State over a new store in a temporary directory, not yet
// started, so that handlers and indexes can still be added. A nil logger
// discards. The store is closed when the test ends.
func New(t testing.TB, logger *slog.Logger) *store.State {
	t.Helper()
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	db, err := bolt.Open(filepath.Join(t.TempDir(), "minkube.db"), bolt.Options{Logger: logger, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return store.NewState(db, logger)
}

// Run starts the State's caches and every starter, each in its own
// goroutine, and returns once the caches hold the store. When the test
// ends they are stopped and waited for; a Start that returns an error
// fails the test.
func Run(t testing.TB, st *store.State, starters ...Starter) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range append([]Starter{st}, starters...) {
		wg.Go(func() {
			if err := s.Start(ctx); err != nil {
				t.Errorf("%T: %v", s, err)
			}
		})
	}
	// Registered after New's: runs first, before the store closes.
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	if err := st.WaitForSync(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Events returns the events about the object of kind and name (every
// event when name is ""), oldest first, as State.ListEvents reads them;
// a read that fails fails the test.
func Events(t testing.TB, st *store.State, kind, name string) []*v1.Event {
	t.Helper()
	events, _, err := st.ListEvents(t.Context(), kind, name)
	if err != nil {
		t.Fatalf("list the events about %s %s: %v", kind, name, err)
	}
	return events
}
