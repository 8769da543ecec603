// Package client is the typed Go client of Minkube's two HTTP APIs: the
// manager's (Client, used by mkctl and workerd) and the worker's
// (WorkerClient, used by the manager's scheduler and its log proxy).
//
// # Errors
//
// A request that gets no HTTP answer fails with an *UnreachableError that
// names the address it tried ("cannot reach the manager at
// https://127.0.0.1:7070: connection refused"). A request the server answers
// with an error status fails with the *v1.Status the server sent, or one
// built from the HTTP status when the body is not a Status; test it with
// errors.As or with IsNotFound, IsAlreadyExists, IsConflict, IsGone,
// IsUnauthorized and ReasonOf. A request whose context ends fails with an
// error that wraps the context's error. The worker client adds the
// sentinels ErrInsufficientStorage and ErrNotReady (see errors.go).
//
// # Watches
//
// WatchTasks returns a Watcher that yields one v1.WatchEvent per line of the
// server's stream. A watch whose resourceVersion is too old ends with a
// 410 Gone status (IsGone reports it): list again and watch from the list's
// resourceVersion.
//
// StreamTasks does that, and more, for a caller that follows Tasks for a
// long time (mkctl get -w, wait, drain): it lists, watches, resumes the
// watch from the last resourceVersion delivered when the stream breaks or
// the manager restarts, and lists again on 410 Gone, handing the caller
// the difference as ordinary events.
//
// # TLS
//
// Managers and workers serve HTTPS; an address without a scheme means
// https://. WithTLS says how a client verifies the server: against CA
// data (mkctl's config), against a CA and a name other than the URL's
// host (the manager calling a worker by its name), or against a CA pinned
// by its hash (a worker holding a join token), which is checked during
// the handshake, before anything is sent. A certificate that does not
// verify fails the call with an *UnreachableError, and NotSent reports it.
//
// # Failing over
//
// Servers is the list of managers a Client fails over between: the URLs
// given, or those looked up (Endpoints, a dns+srv:// name), after what the
// managers' own replies list (Learn).
//
// # Configuration
//
// Config, LoadConfig, WriteConfig and Resolve read and write the small YAML
// file ~/.minkube/config that mkctl uses to find the manager, and apply the
// precedence flags, then environment, then file, then default.
//
// The package imports nothing of the project but apis/v1 and pki.
package client
