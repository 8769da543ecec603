package scheduler

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Reasons a worker is passed over, as they appear in the Unschedulable
// message. A host port clash is "host port 18080/TCP in use".
const (
	reasonNotReady     = "not ready"
	reasonCordoned     = "cordoned"
	reasonNodeSelector = "does not match nodeSelector"
	reasonCPU          = "insufficient cpu"
	reasonMemory       = "insufficient memory"
	reasonDisk         = "insufficient disk"
)

// HostPort is a port a task publishes on its worker's host.
type HostPort struct {
	Port     int32
	Protocol v1.Protocol
}

// String renders "18080/TCP".
func (p HostPort) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// Request is what a task takes on its worker: the resources it asks for
// and the host ports it publishes.
type Request struct {
	MilliCPU int64
	Memory   int64
	Disk     int64
	Ports    []HostPort
}

// RequestOf returns what t takes on its worker. It parses t's quantities,
// so callers that place a task on many workers compute it once.
func RequestOf(t *v1.Task) Request {
	r := t.Spec.Resources
	req := Request{MilliCPU: r.MilliCPU(), Memory: r.MemoryBytes(), Disk: r.DiskBytes()}
	for _, p := range t.Spec.Ports {
		if p.HostPort == 0 {
			continue
		}
		proto := p.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		req.Ports = append(req.Ports, HostPort{Port: p.HostPort, Protocol: proto})
	}
	return req
}

// demand is what placing a task looks at: its request and its
// nodeSelector as key, value pairs, computed once for all the workers.
type demand struct {
	Request
	selector []string
}

func demandOf(t *v1.Task) demand {
	d := demand{Request: RequestOf(t)}
	for k, v := range t.Spec.NodeSelector {
		d.selector = append(d.selector, k, v)
	}
	return d
}

// Usage is what a set of tasks takes on one worker.
type Usage struct {
	MilliCPU int64
	Memory   int64
	Disk     int64
	// Ports counts the tasks publishing each host port; a port with no
	// task is absent.
	Ports map[HostPort]int
}

// add adds (sign 1) or removes (sign -1) what req takes.
func (u *Usage) add(req Request, sign int64) {
	u.MilliCPU += sign * req.MilliCPU
	u.Memory += sign * req.Memory
	u.Disk += sign * req.Disk
	for _, p := range req.Ports {
		if u.Ports == nil {
			u.Ports = map[HostPort]int{}
		}
		u.Ports[p] += int(sign)
		if u.Ports[p] <= 0 {
			delete(u.Ports, p)
		}
	}
}

// Candidate is a worker and what it already carries.
type Candidate struct {
	Worker *v1.Worker
	// Used is what the tasks assigned to the worker take.
	Used Usage
	// Reserved is what placements on the worker take that were decided
	// but are not recorded yet (kube-scheduler's assumed pods): without
	// it, placements made at once would each see the worker empty.
	Reserved Usage
}

// Fit says why w cannot take t, or "" when it can.
func Fit(t *v1.Task, c Candidate) string {
	d := demandOf(t)
	return fit(&d, &c)
}

// fit is Fit with what the task asks computed once.
func fit(d *demand, c *Candidate) string {
	switch w := c.Worker; {
	case w.Status.Phase != v1.WorkerReady:
		return reasonNotReady
	case w.Spec.Unschedulable:
		return reasonCordoned
	}
	return fitSpec(d, c)
}

// fitSpec is the part of fit that depends on the task's spec: the
// nodeSelector, the resources and the host ports. It says whether a
// worker that already runs a task still fits its new spec; being cordoned
// or not ready is no reason to move a task.
func fitSpec(d *demand, c *Candidate) string {
	w, req := c.Worker, &d.Request
	for i := 0; i < len(d.selector); i += 2 {
		if got, ok := w.Metadata.Labels[d.selector[i]]; !ok || got != d.selector[i+1] {
			return reasonNodeSelector
		}
	}
	if req.MilliCPU > 0 {
		if limit := int64(w.Status.Stats.CPUs) * 1000; limit > 0 && c.Used.MilliCPU+c.Reserved.MilliCPU+req.MilliCPU > limit {
			return reasonCPU
		}
	}
	if req.Memory > 0 {
		if limit := w.Status.Stats.MemoryTotal; limit > 0 && c.Used.Memory+c.Reserved.Memory+req.Memory > limit {
			return reasonMemory
		}
	}
	if req.Disk > 0 && c.Used.Disk+c.Reserved.Disk+req.Disk > w.Status.Stats.DiskFree {
		return reasonDisk
	}
	for _, p := range req.Ports {
		if c.Used.Ports[p] > 0 || c.Reserved.Ports[p] > 0 {
			return "host port " + p.String() + " in use"
		}
	}
	return ""
}

// fitUnrefused is fit, with a worker in refused (which refused the task's
// push a moment ago) passed over as "refused: " and its value.
func fitUnrefused(d *demand, c *Candidate, refused map[string]string) string {
	why := fit(d, c)
	if r, ok := refused[c.Worker.Metadata.Name]; ok && why == "" {
		why = "refused: " + r
	}
	return why
}

// Placement is the outcome of Place.
type Placement struct {
	// Worker is the worker picked; nil when none fits.
	Worker *v1.Worker
	// Rejected counts the workers passed over, by reason.
	Rejected map[string]int
	// Total is the number of workers considered.
	Total int
}

// Place picks the worker for t: it filters the candidates that can take t
// (Fit; a worker in refused, which refused t's push a moment ago, is
// passed over with the reason "refused: " and its value), ranks those that
// fit round-robin, by name starting after the worker named last (the
// previous placement) and wrapping around, and picks the first. It reads
// the candidates and changes nothing.
func Place(t *v1.Task, cands []Candidate, last string, refused map[string]string) Placement {
	d := demandOf(t)
	p := Placement{Total: len(cands), Rejected: map[string]int{}}
	var first, next *v1.Worker
	for i := range cands {
		c := &cands[i]
		name := c.Worker.Metadata.Name
		if why := fitUnrefused(&d, c, refused); why != "" {
			p.Rejected[why]++
			continue
		}
		if first == nil || name < first.Metadata.Name {
			first = c.Worker
		}
		if name > last && (next == nil || name < next.Metadata.Name) {
			next = c.Worker
		}
	}
	p.Worker = next
	if p.Worker == nil {
		p.Worker = first
	}
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
