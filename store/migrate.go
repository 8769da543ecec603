package store

import (
	"context"
	"fmt"
	"sync"
)

// migrateWriters is how many keys Migrate copies at once.
const migrateWriters = 16

// Migrate copies every key of from into to, which must hold no key at
// all: it refuses a target with any key (ErrNotEmpty) and creates each key
// with Create, so a key that appears meanwhile is never overwritten. The
// values are copied byte for byte, so objects keep their names, uids,
// generations, statuses and worker credentials; their resourceVersions
// are the target's revisions. It returns the number of keys copied.
func Migrate(ctx context.Context, to, from Store) (int, error) {
	existing, _, err := to.List(ctx, "/")
	if err != nil {
		return 0, fmt.Errorf("migrate: read the target: %w", err)
	}
	if len(existing) > 0 {
		return 0, fmt.Errorf("migrate: %w: it holds %d keys (the first is %s); migrate only into a store no manager has used",
			ErrNotEmpty, len(existing), existing[0].Key)
	}
	kvs, _, err := from.List(ctx, "/")
	if err != nil {
		return 0, fmt.Errorf("migrate: read the source: %w", err)
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     = make(chan KeyValue)
	)
	for range migrateWriters {
		wg.Go(func() {
			for kv := range next {
				if _, err := to.Create(ctx, kv.Key, kv.Value); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("migrate: copy %s: %w", kv.Key, err)
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, kv := range kvs {
		next <- kv
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return len(kvs), nil
}
