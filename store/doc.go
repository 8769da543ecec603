// Package store keeps the manager's state: a revisioned key/value Store
// with two backends (store/bolt, embedded; store/etcd, for several
// managers), a typed layer that stores API objects in it (Resource), and
// an in-memory, watch-driven copy of each kind (Cache) that the apiserver
// and the controllers read from.
//
// # The Store
//
// A Store maps string keys ("/tasks/web") to byte values and numbers
// every change. One store-wide revision moves by one on every successful
// write (create, update or delete, to any key); refused writes do not
// move it. Each key remembers the revision of its last write
// (KeyValue.Revision, etcd's ModRevision), so revisions order every
// change the store has ever made, across keys.
//
// That per-key revision is the unit of optimistic concurrency. Update and
// Delete take the revision the caller read: if the key has been written
// since, they fail with ErrConflict and change nothing (compare-and-swap),
// and the caller reads again and retries. A revision of 0 writes
// unconditionally.
//
// List returns the keys under a prefix together with the revision they
// were read at. Watch streams the changes to keys under a prefix that
// happened after a given revision, in revision order: first those already
// made, then live ones, with no gap and no duplicate. Together they give
// the informer pattern: list at revision R, then watch from R, and the
// list plus the stream is exactly the store's history from R on. A Watch
// from revision 0 starts now.
//
// A store keeps a bounded history of changes. Watch from a revision older
// than that returns ErrCompacted, and the caller lists again. A watch
// channel also closes when its reader falls too far behind (a backend
// never blocks writers on a slow reader), when its context ends, and when
// the store closes; in every case the remedy is the same fresh List and
// Watch.
//
// Every backend passes the suite in store/storetest, which pins down these
// semantics: sentinel errors (ErrNotFound, ErrExists, ErrConflict,
// ErrCompacted, ErrClosed, see errors.go, tested with errors.Is),
// revisions, prefix boundaries ("/tasks/" never matches "/tasksx/"),
// replay, and no lost change under concurrent writers.
//
// # Resources
//
// Resource[T, P] stores one kind of v1 object under a prefix as JSON:
//
//	tasks := store.NewResource[v1.Task](s, "/tasks/", "task")
//	t, err := tasks.Get(ctx, "web") // errors.Is(err, store.ErrNotFound)
//
// metadata.resourceVersion is never part of the stored bytes. It is the
// key's revision in decimal, set on every object read, as Kubernetes'
// etcd3 storage does; an Update or Delete that carries one is a
// compare-and-swap on it, which is how a client's stale write becomes a
// 409 Conflict. GuaranteedUpdate is the read-modify-write loop for
// system writers: it calls a function on a fresh copy of the current
// object and retries on conflict. Errors name the object:
// `task "web": not found`.
//
// Objects a Resource returns are freshly decoded and belong to the caller.
//
// # Caches
//
// Cache[T, P] holds every object of a kind in memory, kept current by a
// List and a Watch from the list's revision, and lists again (with
// backoff) whenever the watch ends, handing its handlers synthetic Added,
// Modified and Deleted events for what changed in between. Reads (Get,
// List, ByIndex) never reach the store and stay cheap at tens of
// thousands of objects. Indexes (AddIndex) answer questions such as "the
// tasks of worker-2" without a scan.
//
// Objects from a Cache are shared between every reader and handler: they
// are read-only, and a caller that wants to change one calls DeepCopy
// first. The State's task cache also shares, among its objects, the
// strings that repeat (kinds, images, worker names, the words of
// conditions), equal small label maps and equal times (compact.go),
// which read-only objects allow.
//
// Events are the one kind without a cache: the State keeps only an index
// of their names and revisions, followed through a watch of the keys,
// which the event writer counts its bounds on; a list of events reads
// the store (State.ListEvents), as kube-apiserver serves events without
// a watch cache.
//
// # How the manager uses them
//
// The apiserver writes through Resources and reads from Caches. A GET
// that follows a write must see it, so a handler that has written waits
// with Cache.WaitForRevision for the revision of its write before
// answering from the cache. That wait ends after the cache's handlers
// have been handed the change too, so what they keep (the apiserver's
// tasks per worker, the scheduler's placements) is as fresh. A list answers from Cache.ListRevision, whose
// revision a client passes back to watch from; a watch request is served
// by Resource.Watch from that revision, and ErrCompacted becomes 410 Gone
// so the client lists again.
//
// Controllers are level-based: a Cache handler only queues the object's
// name; the reconciler reads the current object from the cache, decides,
// and writes with GuaranteedUpdate (or a compare-and-swap Update on the
// version it read), so a decision made on stale state fails with
// ErrConflict instead of overwriting a newer one. State bundles the
// Resources and Caches of every kind for the apiserver and controllers to
// share.
package store
