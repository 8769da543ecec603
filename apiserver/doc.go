// Package apiserver is the manager's HTTP API (docs/api.md): tasks,
// workers and their heartbeats, routed with httprouter.
//
// Reads are served from caches kept current by the store's watch; writes go
// to the store, with compare-and-swap on resourceVersion. Every error leaves
// through one function, writeError, which maps error kinds to a v1.Status
// and its HTTP code.
//
// Three kinds of caller are told apart by their bearer token: the admin
// (mkctl), a worker (its own heartbeat and task list only) and a joining
// worker (registration only).
package apiserver
