// Package runtimetest provides Fake, an in-memory runtime.Runtime for tests
// of code that drives containers (workerd's reconciler), where a real
// engine would make a unit test slow or its failures hard to stage. It is
// also the runtime of hollow workers (minkube worker --runtime fake), which
// load a manager with many workers in scale benchmarks.
//
// A Fake keeps the contract of the real one (package docker) where callers
// can observe it: ErrNotFound and ErrImagePull, label selection, host ports
// chosen at start, start/die/stop/kill/oom/destroy events, tailing and
// following logs. What a container's process does is up to the test: it
// runs until the test calls Exit or OOMKill, or until Stop or Remove; it
// writes what the test passes to WriteLog; Exec answers with the function
// given to SetExec. FailNext makes one call fail; BreakEvents ends every
// event stream with an error, as an engine restart would.
package runtimetest
