package v1

import "time"

// Event types.
const (
	EventNormal  = "Normal"
	EventWarning = "Warning"
)

// Event records something that happened to an object, Kubernetes-style:
// repeats of the same reason and message raise Count and LastTimestamp.
type Event struct {
	TypeMeta `json:",inline"`
	// Metadata names the event.
	Metadata ObjectMeta `json:"metadata"`
	// InvolvedObject names what the event is about.
	InvolvedObject ObjectReference `json:"involvedObject"`
	// Type is Normal or Warning.
	Type string `json:"type"`
	// Reason is a machine word for what happened: Scheduled, Started,
	// BackOff, Drained, ...
	Reason string `json:"reason"`
	// Message says what happened, in a sentence.
	Message string `json:"message"`
	// Source is the component that recorded the event: scheduler,
	// manager, worker-lifecycle or gitops.
	Source string `json:"source,omitempty"`
	// Count is how many times the same reason and message were recorded.
	Count int32 `json:"count"`
	// FirstTimestamp is when it was first recorded, in RFC 3339.
	FirstTimestamp time.Time `json:"firstTimestamp"`
	// LastTimestamp is when it was last recorded, in RFC 3339.
	LastTimestamp time.Time `json:"lastTimestamp"`
}

// ObjectReference points at an object by kind, name and uid.
type ObjectReference struct {
	// Kind is the object's kind: Task or Worker.
	Kind string `json:"kind"`
	// Name is the object's name.
	Name string `json:"name"`
	// UID is the object's metadata.uid.
	UID string `json:"uid,omitempty"`
}

// EventList is a list of Events.
type EventList struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta `json:"metadata"`
	Items    []Event  `json:"items"`
}

// WatchEventType is ADDED, MODIFIED or DELETED.
type WatchEventType string

// Watch event types.
const (
	Added    WatchEventType = "ADDED"
	Modified WatchEventType = "MODIFIED"
	Deleted  WatchEventType = "DELETED"
	// Bookmark carries only a resourceVersion to resume from.
	Bookmark WatchEventType = "BOOKMARK"
	// Error carries a Status object; the watch ends after it.
	Error WatchEventType = "ERROR"
)

// WatchEvent is one line of a watch stream.
type WatchEvent[T any] struct {
	Type   WatchEventType `json:"type"`
	Object T              `json:"object"`
}
