package apiserver

import (
	"net/http"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// keepSource is the apply rule for Tasks the manifests directory manages
// (those carrying the minkube.io/source annotation): an apply that leaves
// the annotation out keeps it, so applying a file of the directory by hand
// does not take the Task out of the directory's care; and an apply that
// would change such a Task is refused, since the directory would set it
// back. With force the Task is taken out of the directory's care: the
// annotation is dropped and the change applied, and the directory then
// reports the file's claim on it as TaskNotOwned.
func keepSource(force bool) func(cur, in *v1.Task) (*v1.Task, error) {
	return func(cur, in *v1.Task) (*v1.Task, error) {
		src := cur.Metadata.Annotations[v1.AnnotationSource]
		if src == "" {
			return in, nil
		}
		out := in.DeepCopy()
		if force {
			delete(out.Metadata.Annotations, v1.AnnotationSource)
			return out, nil
		}
		if out.Metadata.Annotations[v1.AnnotationSource] == "" {
			if out.Metadata.Annotations == nil {
				out.Metadata.Annotations = map[string]string{}
			}
			out.Metadata.Annotations[v1.AnnotationSource] = src
		}
		if _, changed := store.MergeApply(cur, out); !changed {
			return out, nil
		}
		e := newStatus(http.StatusConflict, v1.StatusReasonConflict,
			"task %q is managed by the manifests directory (file %s), which would set it back: change that file, or apply with force to take the task out of the directory's care",
			cur.Metadata.Name, src)
		e.status.Details = &v1.StatusDetails{Name: cur.Metadata.Name, Kind: v1.KindTask,
			Causes: []v1.StatusCause{{Field: v1.FieldAnnotationSource, Message: src}}}
		// The cause names the annotation, so that a client can tell this
		// refusal from others and say how to force it.
		return nil, e
	}
}
