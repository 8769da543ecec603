package store_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

// TestEnsureClusterCA: managers starting at once on an empty store all
// get the one CA the first of them stored; later calls read it.
func TestEnsureClusterCA(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), "db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	const managers = 8
	got := make([]store.ClusterCA, managers)
	var wg sync.WaitGroup
	for i := range managers {
		wg.Go(func() {
			ca, err := store.EnsureClusterCA(t.Context(), db, func() ([]byte, []byte, error) {
				return []byte(fmt.Sprint("cert-", i)), []byte(fmt.Sprint("key-", i)), nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = ca
		})
	}
	wg.Wait()
	for i := range got {
		if got[i] != got[0] || got[i].Certificate == "" {
			t.Fatalf("manager %d got %+v, manager 0 %+v: want one CA for all", i, got[i], got[0])
		}
	}
	again, err := store.EnsureClusterCA(t.Context(), db, func() ([]byte, []byte, error) {
		t.Error("a CA was generated although the store holds one")
		return nil, nil, nil
	})
	if err != nil || again != got[0] {
		t.Errorf("EnsureClusterCA later = %+v, %v; want %+v", again, err, got[0])
	}
}
