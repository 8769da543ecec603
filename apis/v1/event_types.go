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
	Metadata ObjectMeta `json:"metadata"`
	// InvolvedObject names what the event is about.
	InvolvedObject ObjectReference `json:"involvedObject"`
	Type           string          `json:"type"`
	Reason         string          `json:"reason"`
	Message        string          `json:"message"`
	Source         string          `json:"source,omitempty"`
	Count          int32           `json:"count"`
	FirstTimestamp time.Time       `json:"firstTimestamp"`
	LastTimestamp  time.Time       `json:"lastTimestamp"`
}

// ObjectReference points at an object by kind, name and uid.
type ObjectReference struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	UID  string `json:"uid,omitempty"`
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
