// Package scheduler places Tasks on workers and keeps each worker's copy of
// its tasks current.
//
// # Placement
//
// Placement is a pure function (Place): filter the workers that can take
// the task (Ready, not cordoned, matching its nodeSelector, with room for
// its cpu, memory and disk, and none of its host ports in use), rank those
// round-robin by name after the worker of the previous placement, pick the
// first. A worker's usage counts the tasks assigned to it and the
// placements decided but not yet recorded (reservations), so placements
// made at once never overcommit a worker. The usage is kept per worker
// and updated from the task cache change by change; no placement sums a
// worker's tasks again.
//
// # Recording before pushing
//
// The chosen worker is recorded in the task's status (phase Pending, the
// Scheduled condition True) before the task is pushed to the worker's API:
// the store says where the task belongs before any worker can hold it, and
// a write that fails or races with another leaves nothing running. Then:
//
//   - the worker accepts: done; its own report moves the phase on
//     (Scheduled, Running);
//   - the worker refuses (507, 503, another 4xx) or the push could not be
//     sent: the task is taken back and the next worker in turn is tried
//     (the cursor moves to each worker tried, so a refusal gives no one a
//     double share);
//   - the push ends without an answer (a timeout, a broken connection):
//     the worker may hold the task, so it is never placed elsewhere for
//     that. It stays on the worker, is pushed again later, and the worker
//     takes it from the manager's list of its tasks. If the worker is
//     lost, the worker lifecycle moves the task as it moves all of them.
//
// When no worker takes the task, it stays Pending with reason
// Unschedulable and a message that says why each worker was passed over.
// It is looked at again when a change could make it fit: a worker that
// appears, comes back, is uncordoned, is relabelled, gains capacity or
// frees some (a task on it ends, moves or is deleted).
//
// # Spec changes
//
// A spec change the assigned worker still fits (counting the task's own
// old request as free) is pushed to it. One it no longer fits (a
// nodeSelector it does not match, more than it has room for, a host port
// another task holds) moves the task to a worker that fits, recorded and
// pushed as a placement is; the old copy runs until the task has started
// on its new worker. When no worker fits, the task keeps running its old
// spec where it is, and its Scheduled condition and an event say why.
//
// The same controller carries out graceful deletes: it asks the worker to
// stop the container and removes the object only then.
package scheduler
