package stats

import (
	"fmt"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/prometheus/procfs"
	"golang.org/x/sys/unix"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Sampler reads the host's load. It is safe for concurrent use.
type Sampler struct {
	fs       procfs.FS
	diskPath string
	reserved atomic.Int64 // disk bytes kept back from what is offered

	mu      sync.Mutex
	lastCPU procfs.CPUStat // zero before the first Sample: "since boot"
}

// NewSampler returns a Sampler that reports the disk holding diskPath
// (empty means "/"). It fails when /proc or diskPath cannot be read.
func NewSampler(diskPath string) (*Sampler, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, fmt.Errorf("open /proc: %w", err)
	}
	return newSampler(fs, diskPath)
}

// newSampler is NewSampler over any proc filesystem, for tests.
func newSampler(fs procfs.FS, diskPath string) (*Sampler, error) {
	if diskPath == "" {
		diskPath = "/"
	}
	s := &Sampler{fs: fs, diskPath: diskPath}
	if _, _, err := s.disk(); err != nil {
		return nil, err
	}
	return s, nil
}

// Sample reads the host's CPU use since the previous Sample (since boot for
// the first), its memory, the disk holding the Sampler's path and its load.
// Tasks is left 0 for the caller to fill in.
func (s *Sampler) Sample() (v1.WorkerStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	stat, err := s.fs.Stat()
	if err != nil {
		return v1.WorkerStats{}, fmt.Errorf("read /proc/stat: %w", err)
	}
	memTotal, memAvail, err := s.memory()
	if err != nil {
		return v1.WorkerStats{}, err
	}
	diskTotal, diskFree, err := s.disk()
	if err != nil {
		return v1.WorkerStats{}, err
	}
	load, err := s.fs.LoadAvg()
	if err != nil {
		return v1.WorkerStats{}, fmt.Errorf("read /proc/loadavg: %w", err)
	}

	pct := CPUPercent(s.lastCPU, stat.CPUTotal)
	s.lastCPU = stat.CPUTotal
	return v1.WorkerStats{
		CPUPercent:      pct,
		MemoryTotal:     memTotal,
		MemoryAvailable: memAvail,
		DiskTotal:       diskTotal,
		DiskFree:        diskFree,
		Load1:           load.Load1,
		CPUs:            goruntime.NumCPU(),
	}, nil
}

// Capacity returns what the host has to place Tasks against, as Kubernetes
// quantities: cpu is the number of CPUs this process may use, memory the
// total memory and disk the size of the filesystem holding the Sampler's
// path. Byte counts are rounded down (by less than 1%) to a whole binary
// unit, such as "15575Mi".
func (s *Sampler) Capacity() (v1.ResourceList, error) {
	memTotal, _, err := s.memory()
	if err != nil {
		return nil, err
	}
	diskTotal, _, err := s.disk()
	if err != nil {
		return nil, err
	}
	return v1.ResourceList{
		v1.ResourceCPU:    strconv.Itoa(goruntime.NumCPU()),
		v1.ResourceMemory: formatBytes(memTotal),
		v1.ResourceDisk:   formatBytes(diskTotal),
	}, nil
}

// CPUPercent is the busy share, 0 to 100, of the CPU time that passed
// between two cumulative readings of /proc/stat. Idle and iowait count as
// not busy; guest time is already part of user time and is not counted
// twice. It returns 0 when no time passed, and clamps the counter jitter
// the kernel allows (iowait may go backwards) into 0..100.
func CPUPercent(prev, cur procfs.CPUStat) float64 {
	idle := func(c procfs.CPUStat) float64 { return c.Idle + c.Iowait }
	total := func(c procfs.CPUStat) float64 {
		return c.User + c.Nice + c.System + c.Idle + c.Iowait + c.IRQ + c.SoftIRQ + c.Steal
	}
	dTotal := total(cur) - total(prev)
	if dTotal <= 0 {
		return 0
	}
	dBusy := dTotal - (idle(cur) - idle(prev))
	return min(max(100*dBusy/dTotal, 0), 100)
}

// memory returns total and available memory in bytes. Kernels before 3.14
// have no MemAvailable; MemFree stands in.
func (s *Sampler) memory() (total, available int64, err error) {
	mi, err := s.fs.Meminfo()
	if err != nil {
		return 0, 0, fmt.Errorf("read /proc/meminfo: %w", err)
	}
	if mi.MemTotalBytes == nil {
		return 0, 0, fmt.Errorf("read /proc/meminfo: no MemTotal")
	}
	avail := mi.MemAvailableBytes
	if avail == nil {
		avail = mi.MemFreeBytes
	}
	if avail == nil {
		return 0, 0, fmt.Errorf("read /proc/meminfo: neither MemAvailable nor MemFree")
	}
	return int64(*mi.MemTotalBytes), int64(*avail), nil
}

// disk returns the size of the filesystem holding the Sampler's path and
// the bytes on it available to unprivileged users.
func (s *Sampler) disk() (total, free int64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(s.diskPath, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", s.diskPath, err)
	}
	bsize := int64(st.Bsize)
	total, free = int64(st.Blocks)*bsize, int64(st.Bavail)*bsize
	reserved := s.reserved.Load()
	return max(total-reserved, 0), max(free-reserved, 0), nil
}

// ReserveDisk keeps bytes of the disk back from what the worker offers to
// tasks (like the kubelet's reserved resources): both the total and the
// free disk it reports are that much smaller. Call it before sampling.
func (s *Sampler) ReserveDisk(bytes int64) {
	s.reserved.Store(max(bytes, 0))
}
