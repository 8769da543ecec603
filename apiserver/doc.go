// Package apiserver is the manager's HTTP API (docs/api.md): tasks,
// workers and their heartbeats, routed with httprouter.
//
// Reads are served from caches kept current by the store's watch; writes go
// to the store, with compare-and-swap on resourceVersion. Every error leaves
// through one function, writeError, which maps error kinds to a v1.Status
// and its HTTP code.
//
// Five kinds of caller are told apart by their bearer token: the admin
// (mkctl), a worker (its own heartbeat and task list only), a joining
// worker (registration only), the holder of the metrics token (GET
// /metrics only) and a dashboard session (reads only). Sessions come from
// a one-time sign-in code or the admin token sent in a POST body
// (dashboard.go); both are signed with a key derived from the admin token.
//
// # Metrics and the dashboard
//
// Handler wraps the router with metrics.HTTP, which counts and times every
// request under the route pattern it was registered with; /metrics serves
// the registry given in Options (docs/observability.md). The dashboard's
// static files are embedded (ui/) and served at /ui/. GET
// /api/v1/usage/tasks and /api/v1/usage/workers ask the workers for their
// usage when called (mkctl top), through Options.Stats.
package apiserver
