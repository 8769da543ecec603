package v1

import (
	"maps"
	"slices"
	"time"
)

// DeepCopy returns a copy of t that shares no memory with it; nil for nil.
func (t *Task) DeepCopy() *Task {
	if t == nil {
		return nil
	}
	out := *t
	t.Metadata.deepCopyInto(&out.Metadata)
	t.Spec.deepCopyInto(&out.Spec)
	t.Status.deepCopyInto(&out.Status)
	return &out
}

// DeepCopy returns a copy of w that shares no memory with it; nil for nil.
func (w *Worker) DeepCopy() *Worker {
	if w == nil {
		return nil
	}
	out := *w
	w.Metadata.deepCopyInto(&out.Metadata)
	out.Status.LastHeartbeatTime = copyTime(w.Status.LastHeartbeatTime)
	out.Status.Capacity = maps.Clone(w.Status.Capacity)
	out.Status.Allocated = maps.Clone(w.Status.Allocated)
	out.Status.RegisteredLabels = maps.Clone(w.Status.RegisteredLabels)
	out.Status.Conditions = copyConditions(w.Status.Conditions)
	return &out
}

// DeepCopy returns a copy of e that shares no memory with it; nil for nil.
func (e *Event) DeepCopy() *Event {
	if e == nil {
		return nil
	}
	out := *e
	e.Metadata.deepCopyInto(&out.Metadata)
	return &out
}

// DeepCopy returns a copy of c that shares no memory with it; nil for nil.
func (c *Credential) DeepCopy() *Credential {
	if c == nil {
		return nil
	}
	out := *c
	c.Metadata.deepCopyInto(&out.Metadata)
	if c.RevokedAt != nil {
		t := *c.RevokedAt
		out.RevokedAt = &t
	}
	return &out
}

// DeepCopy returns a copy of m that shares no memory with it; nil for nil.
func (m *ObjectMeta) DeepCopy() *ObjectMeta {
	if m == nil {
		return nil
	}
	out := *m
	m.deepCopyInto(&out)
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it; nil for nil.
func (s *TaskSpec) DeepCopy() *TaskSpec {
	if s == nil {
		return nil
	}
	out := *s
	s.deepCopyInto(&out)
	return &out
}

// DeepCopy returns a copy of s that shares no memory with it; nil for nil.
func (s *TaskStatus) DeepCopy() *TaskStatus {
	if s == nil {
		return nil
	}
	out := *s
	s.deepCopyInto(&out)
	return &out
}

// The deepCopyInto methods expect out to be a shallow copy of the receiver
// already and replace what it shares: maps, slices and pointers. Nil stays
// nil and empty stays empty, so a copy is reflect.DeepEqual to its source.

func (m *ObjectMeta) deepCopyInto(out *ObjectMeta) {
	out.Labels = maps.Clone(m.Labels)
	out.Annotations = maps.Clone(m.Annotations)
	out.CreationTimestamp = copyTime(m.CreationTimestamp)
	out.DeletionTimestamp = copyTime(m.DeletionTimestamp)
}

func (s *TaskSpec) deepCopyInto(out *TaskSpec) {
	out.Command = slices.Clone(s.Command)
	out.Args = slices.Clone(s.Args)
	out.Env = slices.Clone(s.Env)
	out.Ports = slices.Clone(s.Ports)
	out.NodeSelector = maps.Clone(s.NodeSelector)
	if hc := s.HealthCheck; hc != nil {
		c := *hc
		if hc.HTTP != nil {
			h := *hc.HTTP
			c.HTTP = &h
		}
		if hc.TCP != nil {
			t := *hc.TCP
			c.TCP = &t
		}
		if hc.Exec != nil {
			c.Exec = &ExecCheck{Command: slices.Clone(hc.Exec.Command)}
		}
		out.HealthCheck = &c
	}
}

func (s *TaskStatus) deepCopyInto(out *TaskStatus) {
	out.Ports = slices.Clone(s.Ports)
	if s.ExitCode != nil {
		c := *s.ExitCode
		out.ExitCode = &c
	}
	out.StartedAt = copyTime(s.StartedAt)
	out.FinishedAt = copyTime(s.FinishedAt)
	out.Conditions = copyConditions(s.Conditions)
}

func copyConditions(conds []Condition) []Condition {
	if conds == nil {
		return nil
	}
	out := make([]Condition, len(conds))
	for i, c := range conds {
		c.LastTransitionTime = copyTime(c.LastTransitionTime)
		out[i] = c
	}
	return out
}

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
