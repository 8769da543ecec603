// Package docker implements runtime.Runtime on the Docker Engine API, the
// container engine workerd runs Task containers on.
//
// # Connection
//
// New reads DOCKER_HOST, DOCKER_API_VERSION, DOCKER_CERT_PATH and
// DOCKER_TLS_VERIFY like the docker CLI does and negotiates the API version
// with the engine on first use, so it speaks to engines from API 1.41
// (Docker 20.10) on. New does not contact the engine; Ping does.
//
// # Containers
//
// Create never sets a restart policy: workerd owns restarts. A port with
// HostPort 0 is published on a port the engine picks; Inspect reports it.
// Containers are created without a TTY, so Logs and Exec demultiplex the
// engine's stdout/stderr framing into plain text.
//
// # Errors
//
// An engine "no such container" answer becomes an error wrapping
// runtime.ErrNotFound and naming the container; a failed pull wraps
// runtime.ErrImagePull with the image and the engine's message. A pull that
// makes no progress is abandoned after Options.PullTimeout, so a
// registry that swallows connections cannot hang a worker.
package docker
