// Package bolt is the embedded store.Store backend: the manager's whole
// state in one bbolt file, the default of `minkube manager` and
// `minkube dev`.
//
// # Layout
//
// The file holds three buckets:
//
//	kv    key -> 8-byte big-endian revision of the last write, then the
//	      value's block
//	log   8-byte big-endian revision -> the change made at that revision:
//	      event type, created flag, key, and the block of the new value
//	      (put) or of the last value (delete)
//	meta  "format" -> layout version (3); "revision" -> current revision;
//	      "compacted" -> the highest revision dropped from the log;
//	      "dictionary" -> the dictionary the file's blocks are made with
//
// A value's block is its S2 encoding (github.com/klauspost/compress/s2,
// a faster relative of Snappy) made with a dictionary: a sample of the
// documents the manager keeps (dictionary.go), from which a block copies
// the keys and words a value shares with them. A running task's JSON of
// about 1,100 bytes takes about 300 (600 in a plain S2 block), so the
// file is smaller, and so is the part of it bbolt reads through its
// memory map, which counts in the manager's resident memory. A new file
// keeps the dictionary it is made with, so a later minkube whose sample
// differs reads it as it is. A store of format 1 (values as they came)
// or 2 (plain S2 blocks) is upgraded when it is opened, in the
// transaction that opens it.
//
// Every write appends exactly one log entry, so log keys are contiguous.
// The log keeps the last Options.WatchHistory changes; a Watch from a
// revision below the compacted one returns store.ErrCompacted, and
// Compact drops more on request.
//
// # Writes
//
// One goroutine commits every write. Writes that arrive while a
// transaction is committing wait in a queue and all go into the next
// transaction, so concurrent writers share one fsync (group commit) while
// a lone writer pays for its own fsync and nothing more. bbolt's
// DB.Batch was measured and not used: it holds every batch for
// MaxBatchDelay (10ms by default), which caps a sequential writer at about
// 70 writes/s, and its batches are smaller than the queue's under load.
// A refusal (ErrExists, ErrNotFound, ErrConflict) is a result, not a
// transaction error, so it never aborts the writes batched with it.
//
// # Watches
//
// Watch is an in-process fan-out. The writer hands each committed change
// to the live watchers in revision order with a non-blocking send on each
// watcher's buffered channel; a watcher whose buffer is full is closed,
// never waited for. A Watch from a past revision first replays the log in
// short read transactions, then joins the live fan-out at the moment it
// has caught up with the last published revision; changes committed but
// not yet published by then arrive live and anything already replayed is
// skipped by revision, so there is no gap and no duplicate.
//
// # Locking
//
// bbolt holds an exclusive flock on the file. Open waits one second for
// it and then fails with ErrLocked, naming the file, so a second manager
// pointed at the same data directory stops at once with a clear message.
package bolt
