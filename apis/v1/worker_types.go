package v1

import (
	"strconv"
	"time"
)

// Worker is a host that runs Tasks. It is created by registration and never
// applied by users.
type Worker struct {
	TypeMeta `json:",inline"`
	// Metadata names the worker and carries its labels, which
	// nodeSelector matches.
	Metadata ObjectMeta `json:"metadata"`
	// Spec is how the manager reaches and uses the worker.
	Spec WorkerSpec `json:"spec"`
	// Status is the observed state of the worker.
	Status WorkerStatus `json:"status,omitempty"`
}

// WorkerSpec defines how the manager reaches and uses a worker.
type WorkerSpec struct {
	// Address is host:port of the worker's API.
	Address string `json:"address"`
	// Unschedulable is set by cordon and drain.
	Unschedulable bool `json:"unschedulable,omitempty"`
}

// WorkerPhase is Ready or NotReady.
type WorkerPhase string

// Worker phases.
const (
	WorkerReady    WorkerPhase = "Ready"
	WorkerNotReady WorkerPhase = "NotReady"
)

// Condition types of a Worker, reported by the worker itself.
const (
	// WorkerRuntimeReady is False while the worker cannot reach its
	// container runtime (reason RuntimeUnreachable): the worker is then
	// NotReady and takes no new tasks.
	WorkerRuntimeReady = "RuntimeReady"
)

// WorkerReachable is the condition the manager sets on a Worker, never
// the worker itself: True once a manager has called the worker's API at
// its address, verified its certificate and been answered with the
// manager token, as a push is; False, with the error, when it could not.
// A worker is Ready only while it is True. A manager checks it on the
// worker's first report after a registration that gave a new address, and
// again on each report while it is not True.
const WorkerReachable = "Reachable"

// Reasons of the Reachable condition.
const (
	// ReasonNotCheckedYet: the worker registered at this address and no
	// manager has called it back yet.
	ReasonNotCheckedYet = "NotCheckedYet"
	// ReasonReached: a manager called the worker's API and was answered.
	ReasonReached = "Reached"
	// ReasonWorkerUnreachable: a manager could not call the worker's API
	// (the message says why: no connection, a certificate that is not
	// the worker's, the manager token refused, no answer in time).
	ReasonWorkerUnreachable = "Unreachable"
)

// WorkerStatus is the observed state of a worker.
type WorkerStatus struct {
	// Phase is Ready while the worker's heartbeats arrive, none of its
	// conditions is False and the manager has reached it (Reachable
	// True); NotReady once they have stopped for the manager's
	// --worker-timeout, while its runtime does not answer, or while the
	// manager has not reached it.
	Phase WorkerPhase `json:"phase,omitempty"`
	// LastHeartbeatTime is when the last heartbeat arrived, in RFC 3339.
	LastHeartbeatTime *time.Time `json:"lastHeartbeatTime,omitempty"`
	// Conditions are what the worker reports of itself (RuntimeReady),
	// and what the manager observes of it (Reachable).
	Conditions []Condition `json:"conditions,omitempty"`
	// Capacity is what the host has: cpu, memory, disk.
	Capacity ResourceList `json:"capacity,omitempty"`
	// Allocated is the sum of the resources of its tasks.
	Allocated ResourceList `json:"allocated,omitempty"`
	// Stats is the last sample of the host's load.
	Stats WorkerStats `json:"stats,omitempty"`
	// Tasks is how many Tasks the worker holds.
	Tasks int `json:"tasks"`
	// RegisteredLabels are the labels the worker gave (--labels) when it
	// last registered. A registration applies to metadata.labels only
	// the changes since then, so labels set with mkctl label stay unless
	// the worker's --labels change that same key.
	RegisteredLabels map[string]string `json:"registeredLabels,omitempty"`
}

// LabelPatch is the body of PATCH /api/v1/workers/:name: a JSON merge
// patch of the labels, where a null value removes the label.
type LabelPatch struct {
	Metadata struct {
		Labels map[string]*string `json:"labels"`
	} `json:"metadata"`
}

// ResourceList maps a resource name (cpu, memory, disk) to a quantity.
type ResourceList map[string]string

// Resource names in a ResourceList.
const (
	ResourceCPU    = "cpu"
	ResourceMemory = "memory"
	ResourceDisk   = "disk"
)

// WorkerStats is a sample of the worker host's load.
type WorkerStats struct {
	// CPUPercent is the share of the host's CPU time in use, 0 to 100.
	CPUPercent float64 `json:"cpuPercent"`
	// MemoryTotal is the host's memory, in bytes.
	MemoryTotal int64 `json:"memoryTotal,omitempty"`
	// MemoryAvailable is the memory free for new work, in bytes.
	MemoryAvailable int64 `json:"memoryAvailable"`
	// DiskTotal is the size of the worker's data disk, in bytes.
	DiskTotal int64 `json:"diskTotal,omitempty"`
	// DiskFree is the free space on the worker's data disk, in bytes.
	DiskFree int64 `json:"diskFree"`
	// Load1 is the host's one-minute load average.
	Load1 float64 `json:"load1"`
	// CPUs is the number of CPUs of the host.
	CPUs int `json:"cpus,omitempty"`
	// Tasks is how many Tasks the worker holds.
	Tasks int `json:"tasks"`
}

// WorkerList is a list of Workers read at one store revision.
type WorkerList struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta `json:"metadata"`
	Items    []Worker `json:"items"`
}

// RegisterRequest is the body of POST /api/v1/workers: a worker asking to
// join, authenticated by the join token, or registering again,
// authenticated by its own token.
type RegisterRequest struct {
	Name    string            `json:"name"`
	Address string            `json:"address"`
	Labels  map[string]string `json:"labels,omitempty"`
	Stats   WorkerStats       `json:"stats"`
	// Conditions are the worker's own conditions (RuntimeReady).
	Conditions []Condition `json:"conditions,omitempty"`
	// CertificateRequest is a PEM certificate request signed with the key
	// the worker serves its API with; the manager answers with the
	// worker's certificate for that key.
	CertificateRequest string `json:"certificateRequest"`
}

// RegisterResponse carries the credentials a registered worker uses from
// then on, and the token the manager will present to the worker's API.
type RegisterResponse struct {
	Worker Worker `json:"worker"`
	// Token authenticates the worker to the manager.
	Token string `json:"token"`
	// ManagerToken is what the manager presents when it calls the worker.
	ManagerToken string `json:"managerToken"`
	// HeartbeatInterval is the period of the worker's full status reports,
	// set by the manager from its --worker-timeout (about a third of it).
	// The worker follows the latest value it is given.
	HeartbeatInterval Duration `json:"heartbeatInterval"`
	// Managers are the API URLs of the managers that are up, for the
	// worker to fail over to when its manager stops answering.
	Managers []string `json:"managers,omitempty"`
	// ClusterID names the cluster, generated once at its first start: the
	// worker labels its containers with it and never touches a container
	// of another cluster.
	ClusterID string `json:"clusterID,omitempty"`
	// Certificate is the worker's certificate (PEM), issued by the
	// cluster CA for the key of the request's CertificateRequest and the
	// worker's name, which the manager verifies when it calls the worker.
	Certificate string `json:"certificate"`
}

// TaskReport is what a worker observes of one Task it holds.
type TaskReport struct {
	UID        string     `json:"uid"`
	Name       string     `json:"name"`
	Generation int64      `json:"generation"`
	Status     TaskStatus `json:"status"`
	// Events are what the worker saw happen to the task since its last
	// report that the status alone does not say, for the manager to
	// record.
	Events []ReportedEvent `json:"events,omitempty"`
}

// ReportedEvent is an event a worker reports for the manager to record.
type ReportedEvent struct {
	// Type is Normal or Warning.
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// StatusReport is the body of PUT /api/v1/workers/:name/status: the
// worker's stats and the status of its tasks. Tasks lists only those whose
// status changed since the last report, unless Full is true: then Tasks
// lists every task the worker holds, in pages (More is true on every page
// but the last), which a worker sends after it registers and when the
// manager asks for it (StatusReply.SendFull). A report stays under the
// manager's body limit whatever the number of tasks: the worker splits
// what it has to say into several.
type StatusReport struct {
	Stats WorkerStats  `json:"stats"`
	Full  bool         `json:"full"`
	Tasks []TaskReport `json:"tasks"`
	// More is true on each page of a report but the last.
	More bool `json:"more,omitempty"`
	// Heartbeat is true on the worker's periodic report: the manager
	// records its stats and the heartbeat time, and compares Digest.
	Heartbeat bool `json:"heartbeat,omitempty"`
	// Digest sums the uids of the tasks the worker holds that it has
	// reported Scheduled or Running (TaskDigest); the manager compares it
	// with the tasks it records so on the worker, and asks for a full
	// report when they differ.
	Digest string `json:"digest,omitempty"`
	// Conditions are the worker's own conditions (RuntimeReady), in every
	// report.
	Conditions []Condition `json:"conditions,omitempty"`
	// Answered, on a heartbeat, lists the tasks whose first status a
	// push's answer carried since the last heartbeat, with the phase the
	// worker last reported of each: the worker cannot know that the
	// manager recorded an answer, so the manager checks that it records
	// each task so on the worker, and names in StatusReply.Resend those it
	// does not. A task whose status changed since goes in Tasks instead.
	// Only to a manager whose last reply said StatusReply.ChecksAnswered.
	Answered []AnsweredTask `json:"answered,omitempty"`
}

// AnsweredTask is a task of StatusReport.Answered: a task whose first
// status a push's answer carried, and the phase the worker last reported.
type AnsweredTask struct {
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Phase Phase  `json:"phase"`
}

// TaskDigest sums a set of task uids, in any order: the digest of a
// heartbeat.
type TaskDigest struct {
	n   int
	sum uint64
}

// Add adds a uid to the set.
func (d *TaskDigest) Add(uid string) { d.Toggle(uid, true) }

// Toggle adds a uid to the set (add) or takes away one it holds (!add).
func (d *TaskDigest) Toggle(uid string, add bool) {
	// FNV-1a, mixed so that a xor of several does not cancel out on
	// uids that share most of their bytes.
	h := uint64(14695981039346656037)
	for i := 0; i < len(uid); i++ {
		h ^= uint64(uid[i])
		h *= 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	if add {
		d.n++
	} else {
		d.n--
	}
	d.sum ^= h
}

// String is the digest as sent: the count and the sum.
func (d TaskDigest) String() string {
	return strconv.Itoa(d.n) + "-" + strconv.FormatUint(d.sum, 16)
}

// Digested reports whether a task in phase p counts in a heartbeat's
// digest: the worker has reported it and it has not ended.
func Digested(p Phase) bool { return p == PhaseScheduled || p == PhaseRunning }

// StatusReply answers a StatusReport: what the worker must stop and what
// it must follow (the heartbeat interval, the managers to fail over to,
// the cluster it belongs to).
type StatusReply struct {
	// Stop lists the UIDs of tasks the worker holds that are no longer its
	// own and must be stopped.
	Stop []string `json:"stop,omitempty"`
	// HeartbeatInterval is the period of the worker's full status reports,
	// as in RegisterResponse.
	HeartbeatInterval Duration `json:"heartbeatInterval"`
	// Revision is the manager's task revision when it answered. A push of
	// a task the worker does not hold whose resourceVersion is not above
	// the latest Revision the worker has seen may be one the manager has
	// given up on: the worker checks the manager's list of its tasks
	// before it starts it.
	Revision int64 `json:"revision,omitempty"`
	// Managers are the API URLs of the managers that are up, for the
	// worker to fail over to when its manager stops answering.
	Managers []string `json:"managers,omitempty"`
	// ClusterID is the cluster's id, as in RegisterResponse: a worker that
	// finds another than the one it registered with registers again.
	ClusterID string `json:"clusterID,omitempty"`
	// SendFull asks the worker for a full report: the tasks it holds
	// differ from those the manager records on it (Digest), or it is
	// coming back from being lost.
	SendFull bool `json:"sendFull,omitempty"`
	// Resend lists the UIDs of the report's Answered tasks that the
	// manager does not record on the worker in the phase given (the
	// answer was lost, or is not recorded yet, or the task moved): the
	// worker reports their status again at once.
	Resend []string `json:"resend,omitempty"`
	// ChecksAnswered says that the manager checks StatusReport.Answered.
	// A worker names its answered tasks only to a manager that says so;
	// to one that does not (an older one) its heartbeat carries their
	// statuses again.
	ChecksAnswered bool `json:"checksAnswered,omitempty"`
}
