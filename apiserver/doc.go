// Package apiserver is the manager's HTTP API (docs/api.md): tasks,
// workers and their heartbeats, routed with httprouter.
//
// Reads are served from caches kept current by the store's watch; writes go
// to the store, with compare-and-swap on resourceVersion. Every error leaves
// through one function, writeError, which maps error kinds to a v1.Status
// and its HTTP code.
//
// Five kinds of caller are told apart by their bearer token
// (authenticate, auth.go): the admin (mkctl), a worker (its own Worker,
// heartbeat and task list only, and registering itself again), a joining
// worker (registering under a name no worker holds only), the holder of
// the metrics token (GET /metrics only) and a dashboard session (reads
// only). A name in use goes only to the worker holding its token
// (judgeRegistration); a deleted worker's credential stays, revoked, so
// its token is refused for good. Every caller is authenticated before its
// body is read, a refused one has its connection closed, and failures
// count against a per-address throttle (serve.Throttle). The server is
// served with the limits of package serve. Dashboard sessions come from a
// one-time sign-in code or the admin token sent in a POST body
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
