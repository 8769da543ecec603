package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Reasons a worker is passed over, as they appear in the Unschedulable
// message.
const (
	reasonNotReady     = "not ready"
	reasonCordoned     = "cordoned"
	reasonNodeSelector = "does not match nodeSelector"
	reasonCPU          = "insufficient cpu"
	reasonMemory       = "insufficient memory"
	reasonDisk         = "insufficient disk"
)

// Usage is what a worker's tasks already take.
type Usage struct {
	MilliCPU int64
	Memory   int64
	Disk     int64
}

// Candidate is a worker and what it already carries.
type Candidate struct {
	Worker *v1.Worker
	Used   Usage
}

// Fit says why w cannot take t, or "" when it can.
func Fit(t *v1.Task, c Candidate) string {
	w := c.Worker
	switch {
	case w.Status.Phase != v1.WorkerReady:
		return reasonNotReady
	case w.Spec.Unschedulable:
		return reasonCordoned
	}
	for k, v := range t.Spec.NodeSelector {
		if got, ok := w.Metadata.Labels[k]; !ok || got != v {
			return reasonNodeSelector
		}
	}
	res := t.Spec.Resources
	if cpu := res.MilliCPU(); cpu > 0 {
		if limit := int64(w.Status.Stats.CPUs) * 1000; limit > 0 && c.Used.MilliCPU+cpu > limit {
			return reasonCPU
		}
	}
	if mem := res.MemoryBytes(); mem > 0 {
		if limit := w.Status.Stats.MemoryTotal; limit > 0 && c.Used.Memory+mem > limit {
			return reasonMemory
		}
	}
	if disk := res.DiskBytes(); disk > 0 && c.Used.Disk+disk > w.Status.Stats.DiskFree {
		return reasonDisk
	}
	return ""
}

// Placement is the outcome of Place.
type Placement struct {
	// Order lists the workers that fit, in the order to try them.
	Order []*v1.Worker
	// Rejected counts the workers passed over, by reason.
	Rejected map[string]int
	// Total is the number of workers considered.
	Total int
}

// Place filters the candidates that can take t and rotates them so that the
// first is the next in round-robin order after the worker named last
// (candidates are ordered by name; an unknown or empty last starts at the
// first name after it).
func Place(t *v1.Task, cands []Candidate, last string) Placement {
	p := Placement{Total: len(cands), Rejected: map[string]int{}}
	fit := make([]*v1.Worker, 0, len(cands))
	for _, c := range cands {
		if why := Fit(t, c); why != "" {
			p.Rejected[why]++
			continue
		}
		fit = append(fit, c.Worker)
	}
	slices.SortFunc(fit, func(a, b *v1.Worker) int { return strings.Compare(a.Metadata.Name, b.Metadata.Name) })
	start, _ := slices.BinarySearchFunc(fit, last, func(w *v1.Worker, name string) int {
		return strings.Compare(w.Metadata.Name, name)
	})
	if start < len(fit) && fit[start].Metadata.Name == last {
		start++
	}
	if start >= len(fit) {
		start = 0
	}
	p.Order = append(fit[start:len(fit):len(fit)], fit[:start]...)
	return p
}

// Message says why no worker took a task: "0/3 workers fit: 2 insufficient
// disk, 1 does not match nodeSelector". rejected counts the workers passed
// over by reason, including those that refused the push.
func Message(total int, rejected map[string]int) string {
	if total == 0 {
		return "no workers are registered"
	}
	reasons := slices.Sorted(maps.Keys(rejected))
	slices.SortStableFunc(reasons, func(a, b string) int { return rejected[b] - rejected[a] })
	parts := make([]string, 0, len(reasons))
	for _, r := range reasons {
		parts = append(parts, fmt.Sprintf("%d %s", rejected[r], r))
	}
	return fmt.Sprintf("0/%d workers fit: %s", total, strings.Join(parts, ", "))
}
