// Package scheduler places Tasks on workers and keeps each worker's copy of
// its tasks current.
//
// Placement is a pure function (Place): filter the workers that can take
// the task, then rotate the list round-robin from where the last placement
// stopped. The controller pushes the task to the first candidate's API and
// records the assignment only when the worker accepts; a refusal moves on
// to the next candidate. When none accepts, the task stays Pending with
// reason Unschedulable and a message that says why each worker was passed
// over, and it is looked at again whenever a worker changes.
//
// The same controller pushes spec changes (a generation the worker has not
// observed) and carries out graceful deletes: it asks the worker to stop the
// container and removes the object only then.
package scheduler
