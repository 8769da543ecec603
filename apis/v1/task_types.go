package v1

import "time"

// Task is one container that Minkube keeps running on some worker.
type Task struct {
	TypeMeta `json:",inline"`
	// Metadata names the Task and carries its labels and annotations.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is the desired state: the container to run and how.
	Spec TaskSpec `json:"spec"`
	// Status is the observed state, written by the system; an apply
	// ignores it.
	Status TaskStatus `json:"status,omitempty"`
}

// TaskSpec defines the desired state of a Task.
type TaskSpec struct {
	// Image is a Docker image reference.
	Image string `json:"image" validate:"required,imageref"`
	// Command replaces the image ENTRYPOINT.
	Command []string `json:"command,omitempty"`
	// Args replaces the image CMD.
	Args []string `json:"args,omitempty"`
	// Env is the container's environment.
	Env []EnvVar `json:"env,omitempty" validate:"dive"`
	// Ports are the container ports published on the worker.
	Ports []Port `json:"ports,omitempty" validate:"dive"`
	// Resources are limits and scheduling requests.
	Resources Resources `json:"resources,omitempty"`
	// RestartPolicy is Always (default), OnFailure or Never.
	RestartPolicy RestartPolicy `json:"restartPolicy,omitempty" validate:"omitempty,oneof=Always OnFailure Never"`
	// HealthCheck, when set, decides the Ready condition.
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
	// NodeSelector lists worker labels that must match.
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// EnvVar is one environment variable.
type EnvVar struct {
	// Name is the variable's name: letters, digits, '_', '-' and '.',
	// not starting with a digit (Kubernetes' rule).
	Name string `json:"name" validate:"required,envname"`
	// Value is the variable's value, a string (write "1" for a number).
	Value string `json:"value,omitempty"`
}

// Protocol is TCP or UDP.
type Protocol string

// Protocols.
const (
	ProtocolTCP Protocol = "TCP"
	ProtocolUDP Protocol = "UDP"
)

// OrDefault is p, or TCP (the default SetTaskDefaults writes) when p is
// empty.
func (p Protocol) OrDefault() Protocol {
	if p == "" {
		return ProtocolTCP
	}
	return p
}

// Port is a container port and, optionally, the host port it is published on.
type Port struct {
	// Name is a DNS-1123 label, used in SRV records.
	Name string `json:"name,omitempty" validate:"omitempty,dns1123label"`
	// ContainerPort is 1..65535.
	ContainerPort int32 `json:"containerPort" validate:"port"`
	// HostPort is 1..65535; absent means the worker picks a free port.
	HostPort int32 `json:"hostPort,omitempty" validate:"omitempty,port"`
	// Protocol is TCP (default) or UDP.
	Protocol Protocol `json:"protocol,omitempty" validate:"omitempty,oneof=TCP UDP"`
}

// Resources are Kubernetes quantities (500m, 256Mi, 1Gi), written as
// strings or plain numbers (cpu: 1).
type Resources struct {
	// CPU is the CPU limit and scheduling request, in CPUs: 500m, 0.5, 2.
	CPU string `json:"cpu,omitempty" validate:"omitempty,quantity" minkube:"intorstring"`
	// Memory is the memory limit and scheduling request, in bytes: 256Mi,
	// 1G, 268435456.
	Memory string `json:"memory,omitempty" validate:"omitempty,quantity" minkube:"intorstring"`
	// Disk is the free disk the worker must have to accept the Task, in
	// bytes: 1Gi.
	Disk string `json:"disk,omitempty" validate:"omitempty,quantity" minkube:"intorstring"`
}

// RestartPolicy says when a stopped container is started again.
type RestartPolicy string

// Restart policies.
const (
	RestartAlways    RestartPolicy = "Always"
	RestartOnFailure RestartPolicy = "OnFailure"
	RestartNever     RestartPolicy = "Never"
)

// HealthCheck is one of HTTP, TCP or Exec, with its timing.
type HealthCheck struct {
	// HTTP checks with a GET request.
	HTTP *HTTPCheck `json:"http,omitempty"`
	// TCP checks that a connection opens.
	TCP *TCPCheck `json:"tcp,omitempty"`
	// Exec checks with a command run in the container.
	Exec *ExecCheck `json:"exec,omitempty"`
	// PeriodSeconds is how often the check runs; 0 means 10.
	PeriodSeconds int32 `json:"periodSeconds,omitempty" validate:"min=0"`
	// TimeoutSeconds is how long one check may take; 0 means 2.
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty" validate:"min=0"`
	// FailureThreshold is how many failures in a row make the Task
	// Unhealthy (not Ready); 0 means 3.
	FailureThreshold int32 `json:"failureThreshold,omitempty" validate:"min=0"`
}

// HTTPCheck passes on a 2xx or 3xx answer to GET Path on Port.
type HTTPCheck struct {
	// Path is the URL path to GET; / when empty.
	Path string `json:"path,omitempty"`
	// Port is a port name of the Task (http) or a container port number
	// (8080).
	Port string `json:"port" minkube:"intorstring"`
}

// TCPCheck passes when a connection to Port opens.
type TCPCheck struct {
	// Port is a port name of the Task (db) or a container port number
	// (5432).
	Port string `json:"port" minkube:"intorstring"`
}

// ExecCheck passes when Command exits 0 inside the container.
type ExecCheck struct {
	// Command is the program and its arguments; there is no shell unless
	// the command names one.
	Command []string `json:"command"`
}

// Phase is the coarse state of a Task.
type Phase string

// Task phases; Succeeded and Failed are terminal.
const (
	PhasePending   Phase = "Pending"
	PhaseScheduled Phase = "Scheduled"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseUnknown   Phase = "Unknown"
)

// Terminal reports whether no further transition can leave p.
func (p Phase) Terminal() bool { return p == PhaseSucceeded || p == PhaseFailed }

// Reasons: machine words in Status.Reason and Condition.Reason.
const (
	ReasonUnschedulable    = "Unschedulable"
	ReasonErrImagePull     = "ErrImagePull"
	ReasonImagePullBackOff = "ImagePullBackOff"
	ReasonCrashLoopBackOff = "CrashLoopBackOff"
	ReasonInsufficientDisk = "InsufficientDisk"
	ReasonUnhealthy        = "Unhealthy"
	ReasonWorkerLost       = "WorkerLost"
	// ReasonWorkerDeleted: the task's worker was deleted (mkctl delete
	// worker); the task is placed elsewhere at once.
	ReasonWorkerDeleted   = "WorkerDeleted"
	ReasonContainerCreate = "ContainerCreating"
	ReasonStartError      = "StartError"
	ReasonCompleted       = "Completed"
	ReasonError           = "Error"
	// ReasonRuntimeUnreachable: the worker cannot reach its container
	// runtime; what it reports is the last state it saw.
	ReasonRuntimeUnreachable = "RuntimeUnreachable"
	// ReasonUpToDate: the container runs the current spec.
	ReasonUpToDate = "UpToDate"
	// ReasonBreakBeforeMake: the old container had to stop before its
	// replacement could start (a host port cannot be held by both).
	ReasonBreakBeforeMake = "BreakBeforeMake"
)

// Condition types of a Task.
const (
	// TaskScheduled is set by the manager; its ObservedGeneration is the
	// generation the assigned worker has accepted.
	TaskScheduled = "Scheduled"
	TaskStarted   = "Started"
	TaskReady     = "Ready"
	// TaskUpdated is True when the container the status speaks of runs
	// the current spec; False while an older one still serves or none
	// runs, with the reason (ImagePullBackOff, StartError, ...).
	TaskUpdated = "Updated"
)

// TaskStatus is the observed state of a Task; written by the system only.
// ObservedGeneration is the generation of the spec the reported container
// was made from: behind metadata.generation while an update is not done.
type TaskStatus struct {
	// Phase is the coarse state of the Task: Pending until a worker
	// accepts it, Scheduled, Running once its container runs, then
	// Succeeded or Failed when it ends for good; Unknown while its
	// worker is lost.
	Phase Phase `json:"phase,omitempty"`
	// Reason is a machine word saying why the Task is in its phase:
	// Unschedulable, ErrImagePull, ImagePullBackOff, CrashLoopBackOff,
	// InsufficientDisk, Unhealthy, WorkerLost, Completed, Error.
	Reason string `json:"reason,omitempty"`
	// Message is one sentence a person can act on.
	Message string `json:"message,omitempty"`
	// Worker is the name of the worker the Task is assigned to.
	Worker string `json:"worker,omitempty"`
	// ContainerID is the Docker container running the Task.
	ContainerID string `json:"containerID,omitempty"`
	// HostIP is the address the Task's ports are published on.
	HostIP string `json:"hostIP,omitempty"`
	// Ports are the container ports with the host ports they are
	// published on.
	Ports []PortStatus `json:"ports,omitempty"`
	// RestartCount is how many times the container was started again.
	RestartCount int32 `json:"restartCount,omitempty"`
	// ExitCode is the exit code of the container's last run, once it has
	// ended.
	ExitCode *int32 `json:"exitCode,omitempty"`
	// StartedAt is when the current (or last) run started, in RFC 3339.
	StartedAt *time.Time `json:"startedAt,omitempty"`
	// FinishedAt is when the last run ended, in RFC 3339.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// ObservedGeneration is the metadata.generation this status speaks
	// of: the status is of the current spec when they are equal.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions are the Scheduled, Started and Ready observations.
	Conditions []Condition `json:"conditions,omitempty"`
}

// AssignedGeneration returns the generation of the spec the task's worker
// has accepted (the Scheduled condition's ObservedGeneration); 0 when
// none has.
func (s *TaskStatus) AssignedGeneration() int64 {
	if c := FindCondition(s.Conditions, TaskScheduled); c != nil && c.Status == ConditionTrue {
		return c.ObservedGeneration
	}
	return 0
}

// Unreported reports whether the task is assigned to worker and nothing
// that worker reported of it is recorded yet: it is still Pending, the
// phase the manager gives an assignment and a worker never reports. The
// first status a worker answers a push with is asked for, and recorded,
// only then: a report that came in first is the newer.
func (s *TaskStatus) Unreported(worker string) bool {
	return s.Worker == worker && s.Phase == PhasePending
}

// PortStatus is where a container port was published.
type PortStatus struct {
	// Name is the port's name in the spec.
	Name string `json:"name,omitempty"`
	// ContainerPort is the port inside the container.
	ContainerPort int32 `json:"containerPort"`
	// HostPort is the port published on the worker's host.
	HostPort int32 `json:"hostPort,omitempty"`
	// Protocol is TCP or UDP.
	Protocol Protocol `json:"protocol,omitempty"`
}

// TaskList is a list of Tasks read at one store revision.
type TaskList struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta `json:"metadata"`
	Items    []Task   `json:"items"`
}
