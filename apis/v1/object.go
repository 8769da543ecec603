package v1

// Object is implemented by the pointer of every stored kind.
type Object interface {
	GetObjectMeta() *ObjectMeta
}

// GetObjectMeta returns the task's metadata.
func (t *Task) GetObjectMeta() *ObjectMeta { return &t.Metadata }

// GetObjectMeta returns the worker's metadata.
func (w *Worker) GetObjectMeta() *ObjectMeta { return &w.Metadata }

// GetObjectMeta returns the event's metadata.
func (e *Event) GetObjectMeta() *ObjectMeta { return &e.Metadata }

var (
	_ Object = (*Task)(nil)
	_ Object = (*Worker)(nil)
	_ Object = (*Event)(nil)
)
