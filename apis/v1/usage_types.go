package v1

import "time"

// Kinds of the resource-use lists (mkctl top).
const (
	KindTaskUsageList   = "TaskUsageList"
	KindWorkerUsageList = "WorkerUsageList"
)

// TaskUsage is the resource use of one task's running container, read
// from the engine by the worker that runs it. It is observed, never
// stored.
type TaskUsage struct {
	// Name and UID are the task's; Worker is the worker that read it.
	Name   string `json:"name"`
	UID    string `json:"uid"`
	Worker string `json:"worker,omitempty"`
	// CPU is the CPU the container used between the worker's last two
	// readings, in cores (0.25 is a quarter of one CPU); absent until the
	// worker has read the container twice.
	CPU *float64 `json:"cpu,omitempty"`
	// CPUSeconds is the CPU time the container has used since it started.
	CPUSeconds float64 `json:"cpuSeconds"`
	// Memory is the container's working set in bytes.
	Memory int64 `json:"memory"`
	// Timestamp is when the engine read the figures; Window is the time
	// between the two readings CPU comes from.
	Timestamp time.Time `json:"timestamp"`
	Window    Duration  `json:"window"`
}

// TaskUsageList is the answer of a worker's GET /api/v1/stats/tasks, and
// of the manager's GET /api/v1/usage/tasks, which gathers the workers'.
type TaskUsageList struct {
	TypeMeta `json:",inline"`
	Items    []TaskUsage `json:"items"`
	// Errors names the workers that could not be asked, and why: their
	// tasks are missing from Items.
	Errors []string `json:"errors,omitempty"`
}

// WorkerUsage is a worker host's resource use, sampled when the manager
// asked it.
type WorkerUsage struct {
	Name string `json:"name"`
	// CPUPercent is the host's busy CPU share, 0-100, since the worker's
	// previous sample; CPUs is how many it has.
	CPUPercent float64 `json:"cpuPercent"`
	CPUs       int     `json:"cpus,omitempty"`
	// MemoryUsed and MemoryTotal are in bytes; used is total less
	// available.
	MemoryUsed  int64 `json:"memoryUsed"`
	MemoryTotal int64 `json:"memoryTotal"`
	// DiskFree and DiskTotal are the bytes of the worker's data disk.
	DiskFree  int64 `json:"diskFree"`
	DiskTotal int64 `json:"diskTotal"`
	Tasks     int   `json:"tasks"`
	// Timestamp is when the sample was read.
	Timestamp time.Time `json:"timestamp"`
	// Error, when set, says why the worker could not be asked; the
	// figures are then zero.
	Error string `json:"error,omitempty"`
}

// WorkerUsageList is the answer of the manager's GET /api/v1/usage/workers.
type WorkerUsageList struct {
	TypeMeta `json:",inline"`
	Items    []WorkerUsage `json:"items"`
}
