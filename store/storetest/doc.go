// Package storetest is the test suite every store.Store backend runs, so
// that bolt, etcd and any later backend keep one contract.
//
// A backend's test calls Run with a constructor of fresh, empty stores,
// and its benchmark calls Bench:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return mustOpen(t) })
//	}
//
//	func BenchmarkStore(b *testing.B) {
//		storetest.Bench(b, func(b *testing.B) store.Store { return mustOpen(b) })
//	}
//
// The constructor registers the store's Close with t.Cleanup. The suite
// closes some stores itself, so Close must be safe to call twice.
//
// The compaction test needs a way to discard history. By default the
// suite calls the store's own Compact(ctx, rev) error method, which both
// backends have; a backend without one passes WithCompact.
package storetest
