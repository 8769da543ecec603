package v1

import "time"

// APIVersion is the apiVersion of every Minkube object.
const APIVersion = "minkube.io/v1"

// Kinds of object.
const (
	KindTask       = "Task"
	KindTaskList   = "TaskList"
	KindWorker     = "Worker"
	KindWorkerList = "WorkerList"
	KindEvent      = "Event"
	KindEventList  = "EventList"
	KindStatus     = "Status"

	KindApplyResultList = "ApplyResultList"
)

// AnnotationSource records the manifest file (relative to the manifests
// directory) that a Task was applied from by the directory sync.
const AnnotationSource = "minkube.io/source"

// FieldAnnotationSource is the field path of AnnotationSource: the cause
// an apply names when it refuses to change a Task the manifests directory
// manages.
const FieldAnnotationSource = "metadata.annotations[" + AnnotationSource + "]"

// TypeMeta names the schema of an object.
type TypeMeta struct {
	// APIVersion is the version of the schema: minkube.io/v1.
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is the kind of object: Task, Worker or Event.
	Kind string `json:"kind,omitempty"`
}

// ObjectMeta is the metadata every stored object carries. Name, Labels and
// Annotations are the user's; the rest is set by the system.
type ObjectMeta struct {
	// Name is unique per kind; a DNS-1123 label (lower-case letters,
	// digits and '-', at most 63 characters). Required.
	Name string `json:"name"`
	// Labels are Kubernetes-syntax key/value pairs used by selectors.
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations are free-form key/value pairs.
	Annotations map[string]string `json:"annotations,omitempty"`

	// UID identifies this incarnation of the object; a delete and a create
	// of the same name give a new UID.
	UID string `json:"uid,omitempty"`
	// ResourceVersion is the store revision of the last write. A write that
	// carries it is a compare-and-swap.
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Generation is bumped on every spec change, never on a status change.
	Generation int64 `json:"generation,omitempty"`
	// CreationTimestamp is when the object was first stored.
	CreationTimestamp *time.Time `json:"creationTimestamp,omitempty"`
	// DeletionTimestamp is set when a graceful delete was asked for; the
	// object is gone once its container has stopped.
	DeletionTimestamp *time.Time `json:"deletionTimestamp,omitempty"`
}

// ListMeta is the metadata of a list: the store revision it was read at,
// from which a watch can resume.
type ListMeta struct {
	ResourceVersion string `json:"resourceVersion,omitempty"`
}

// ConditionStatus is "True", "False" or "Unknown".
type ConditionStatus string

// Condition statuses.
const (
	ConditionTrue    ConditionStatus = "True"
	ConditionFalse   ConditionStatus = "False"
	ConditionUnknown ConditionStatus = "Unknown"
)

// Condition is one observation about an object, in the Kubernetes shape.
type Condition struct {
	// Type is what is observed: Scheduled, Started, Ready or Updated for a
	// Task; RuntimeReady for a Worker.
	Type string `json:"type"`
	// Status says whether it holds: True, False or Unknown.
	Status ConditionStatus `json:"status"`
	// Reason is a machine word saying why.
	Reason string `json:"reason,omitempty"`
	// Message is one sentence a person can act on.
	Message string `json:"message,omitempty"`
	// ObservedGeneration is the metadata.generation the condition speaks
	// of; 0 when it speaks of none in particular. A condition about an
	// older generation says nothing yet of the current spec.
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastTransitionTime is when Status last changed, in RFC 3339.
	LastTransitionTime *time.Time `json:"lastTransitionTime,omitempty"`
}

// SetCondition sets (or adds) the condition of c.Type in conds. The
// transition time moves only when the status changes.
func SetCondition(conds []Condition, c Condition, now time.Time) []Condition {
	for i := range conds {
		if conds[i].Type != c.Type {
			continue
		}
		if conds[i].Status == c.Status && conds[i].LastTransitionTime != nil {
			c.LastTransitionTime = conds[i].LastTransitionTime
		} else {
			c.LastTransitionTime = timeAt(now)
		}
		conds[i] = c
		return conds
	}
	c.LastTransitionTime = timeAt(now)
	return append(conds, c)
}

// timeAt returns a pointer to a copy of t. SetCondition takes its time
// by value and points at a copy only when a condition moves: pointing at
// the parameter itself moved it to the heap on every call, a condition
// that stays as it was included.
func timeAt(t time.Time) *time.Time { return &t }

// FindCondition returns the condition of type t, or nil.
func FindCondition(conds []Condition, t string) *Condition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
