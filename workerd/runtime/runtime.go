// Package runtime defines what workerd needs from a container engine: the
// Runtime interface and the types it speaks in. The docker subpackage is
// the real implementation; tests may add fakes.
package runtime

import (
	"context"
	"io"
	"time"
)

// Container labels that every Minkube task container carries.
const (
	LabelTaskUID  = "io.minkube.task.uid"
	LabelTaskName = "io.minkube.task.name"
	LabelSpecHash = "io.minkube.spec-hash"
	LabelWorker   = "io.minkube.worker"
	// LabelCluster is the id of the cluster the container belongs to: a
	// worker never touches a container of another cluster, even one whose
	// worker has the same name.
	LabelCluster = "io.minkube.cluster"
)

// PortBinding publishes a container port on the host.
type PortBinding struct {
	ContainerPort int32
	// HostPort 0 asks the engine for a free port; Inspect reports the one
	// it chose.
	HostPort int32
	// Protocol is "tcp" or "udp" (lower case, as Docker has it).
	Protocol string
	// HostIP is the address to bind; empty means all addresses.
	HostIP string
}

// ContainerSpec is everything needed to create a container.
type ContainerSpec struct {
	Name       string
	Image      string
	Entrypoint []string // nil keeps the image ENTRYPOINT
	Cmd        []string // nil keeps the image CMD
	Env        []string // KEY=VALUE
	Labels     map[string]string
	Ports      []PortBinding
	NanoCPUs   int64 // 0 = no limit
	Memory     int64 // bytes; 0 = no limit
	// Network is the network to attach the container to; empty means the
	// engine's default.
	Network string
	// DNS are the resolvers (IP addresses, port 53) the container uses;
	// none means the engine's default.
	DNS []string
}

// State is what the engine says of a container.
type State struct {
	// Status is the engine's word: created, running, paused, restarting,
	// removing, exited or dead.
	Status    string
	Running   bool
	ExitCode  int
	OOMKilled bool
	Error     string
	StartedAt time.Time // zero if never started
	// FinishedAt is when the last run ended; zero if none has. For a
	// stopped container it is never before StartedAt.
	FinishedAt time.Time
}

// Started reports whether the container has ever started: false for one
// that was created and never started, or whose start failed.
func (s State) Started() bool { return !s.StartedAt.IsZero() }

// Summary is what the engine's container list says of a container: enough
// to tell that it changed since the last list, not its times or exit code
// (Inspect those).
type Summary struct {
	ID     string
	Labels map[string]string
	// Status is the engine's word, as in State.Status.
	Status string
}

// Container is a container as the engine reports it.
type Container struct {
	ID     string
	Name   string
	Image  string
	Labels map[string]string
	State  State
	// Ports are the bindings in force, with the host ports the engine chose.
	Ports []PortBinding
	// IPs are the container's IPv4 addresses, by network name, while it
	// runs.
	IPs map[string]string
}

// EventAction is what happened to a container.
type EventAction string

// Event actions workerd reacts to.
const (
	ActionStart   EventAction = "start"
	ActionDie     EventAction = "die"
	ActionStop    EventAction = "stop"
	ActionDestroy EventAction = "destroy"
	ActionOOM     EventAction = "oom"
	ActionKill    EventAction = "kill"
)

// Event is one container event from the engine.
type Event struct {
	ContainerID string
	Action      EventAction
	// Labels are the container's labels plus the engine's attributes of
	// the event: image and name, and on die the exit code under
	// EventAttrExitCode (read it with ExitCode).
	Labels map[string]string
}

// LogOptions select the lines Logs returns.
type LogOptions struct {
	// Follow keeps the reader open for new lines until the container
	// stops.
	Follow bool
	// Tail, when not negative, keeps only the last Tail lines; -1 means
	// all. (The zero value asks for none: set it.)
	Tail int
	// Since and Until, when not zero, keep the lines written from Since
	// and before Until.
	Since, Until time.Time
	// Timestamps starts each line with the time it was written, in RFC
	// 3339 with nanoseconds.
	Timestamps bool
}

// Usage is a container's resource use, as the engine read it at Read.
type Usage struct {
	// CPUSeconds is the CPU time the container has used since it started,
	// a cumulative counter.
	CPUSeconds float64
	// MemoryBytes is the container's working set: the memory it uses less
	// the inactive page cache, what docker stats and the kubelet show.
	MemoryBytes int64
	// Read is when the engine read the figures.
	Read time.Time
}

// Runtime runs containers. Errors are wrapped with the image or container
// they concern; ErrNotFound and ErrImagePull are matchable with errors.Is.
type Runtime interface {
	// EnsureImage pulls the image only when the engine does not have it. A
	// failed pull returns an error wrapping ErrImagePull with the engine's
	// message.
	EnsureImage(ctx context.Context, ref string) error
	// Create creates (does not start) a container and returns its ID. The
	// image must be present (see EnsureImage). No restart policy is set:
	// restarts are the caller's.
	Create(ctx context.Context, spec ContainerSpec) (string, error)
	// Start starts a created or stopped container. It returns ErrNotFound
	// when there is no such container.
	Start(ctx context.Context, id string) error
	// Stop sends SIGTERM, waits up to grace, then SIGKILL, and returns once
	// the container has stopped. Stopping a stopped container is not an
	// error. It returns ErrNotFound when there is no such container.
	Stop(ctx context.Context, id string, grace time.Duration) error
	// Remove removes the container, killing it if it still runs. It
	// returns ErrNotFound when there is no such container.
	Remove(ctx context.Context, id string) error
	// Inspect returns the container. It returns ErrNotFound when there is
	// no such container.
	Inspect(ctx context.Context, id string) (Container, error)
	// ListSummaries returns a Summary of every container, running or
	// not, that carries all the given labels (an empty value matches any
	// value), in one call to the engine.
	ListSummaries(ctx context.Context, labels map[string]string) ([]Summary, error)
	// Events streams container events (the actions listed above) for
	// containers carrying all the given labels, from when it returns until
	// ctx ends. The error channel receives at most one error, after which
	// both channels are closed; when ctx ends both close with no error.
	// Reconnecting, and relisting for what was missed, is the caller's.
	Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error)
	// Logs returns the container's combined stdout and stderr as plain
	// text, the lines opts selects. With opts.Follow, the reader goes on
	// until the container stops or ctx ends. The caller closes the reader.
	// It returns ErrNotFound when there is no such container.
	Logs(ctx context.Context, id string, opts LogOptions) (io.ReadCloser, error)
	// Stats returns the running container's resource use now, in one call
	// to the engine that does not wait for a second reading. It returns
	// ErrNotFound when there is no such container.
	Stats(ctx context.Context, id string) (Usage, error)
	// Exec runs cmd in the running container and returns its exit code and
	// combined output. A command the container cannot run gives exit code
	// 126 or 127 rather than an error. When ctx ends first it returns ctx's
	// error. It returns ErrNotFound when there is no such container.
	Exec(ctx context.Context, id string, cmd []string) (int, []byte, error)
	// ExecStream runs opts.Cmd in the running container with its standard
	// streams attached to opts, and returns its exit code once it has
	// exited and its output has been written. A command the container
	// cannot run gives exit code 126 or 127 rather than an error. When ctx
	// ends first it returns ctx's error; the command may go on running.
	// It returns ErrNotFound when there is no such container, and
	// ErrNotRunning when it is not running.
	ExecStream(ctx context.Context, id string, opts ExecOptions) (int, error)
}
