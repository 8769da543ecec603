// Package etcd is the distributed store.Store backend: the manager's
// state in an etcd cluster (go.etcd.io/etcd/client/v3), so that several
// managers serve one cluster and any of them can lead.
//
// # Keys and revisions
//
// Every key of the store lives under Options.Prefix ("/minkube" by
// default), so one etcd cluster can hold other data too. A key's revision
// is etcd's ModRevision and the store's revision is etcd's; Update and
// Delete with a revision are one etcd transaction comparing ModRevision,
// Create compares CreateRevision with 0. List reads at one revision, in
// pages, and Watch resumes from that revision with WithRev; a revision
// that etcd has compacted is store.ErrCompacted, checked before the watch
// starts.
//
// # Unavailability
//
// An etcd cluster that has lost its quorum does not refuse writes, it
// never commits them. Every request is therefore bounded by
// Options.RequestTimeout and fails with store.ErrUnavailable, with a
// message that says quorum may be lost. Health reports the result of a
// probe, a linearizable read that needs a leader, made every second; the
// apiserver refuses requests while it fails, rather than serve reads from
// a cache that may be stale. Watches run with etcd's require-leader
// option, so a watch on a member cut off from the quorum ends instead of
// going quiet.
//
// # Leaders and fencing
//
// Campaign runs a function while this process leads, chosen through
// etcd's election API (go.etcd.io/etcd/client/v3/concurrency). The
// function gets a Fenced store: every write it makes carries, in the same
// transaction, the condition that the leader's election key still exists
// with the create revision it had when it was won. A leader that was
// paused or cut off past its lease, and has been replaced, cannot write:
// its writes fail with store.ErrFenced and change nothing.
//
// # Managers
//
// Registry keeps each manager's entry under /managers/NAME, bound to a
// lease, so the entry disappears when the manager stops or loses etcd;
// Registry.Managers lists the entries, marking the one whose name holds
// the election as the leader.
package etcd
