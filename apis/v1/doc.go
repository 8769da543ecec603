// Package v1 holds Minkube's API types: Task, Worker and Event, the wire
// types of the manager and worker HTTP APIs, and their defaulting,
// validation and strict YAML/JSON decoding.
//
// # Spec and status
//
// Spec is the user's desired state and is written only by apply; Status is
// the system's observation and is written only by controllers and workerd.
// ObjectMeta.Generation moves on every spec change and never on a status
// change; Status.ObservedGeneration says which generation a status speaks of.
//
// # Objects are read-only
//
// Objects handed out by a store or cache are shared. Call DeepCopy before
// changing one.
//
// This package imports nothing of the project.
package v1
