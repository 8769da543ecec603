package gitops

import (
	"fmt"
	"slices"
	"sort"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// Kinds of the objects the controller's events are about, besides Tasks.
const (
	// KindFile is the involvedObject kind of events about a manifest file;
	// the name is the file's path relative to the manifests directory.
	KindFile = "File"
	// KindDirectory is the involvedObject kind of events about the
	// manifests directory itself; the name is its absolute path.
	KindDirectory = "Directory"
)

// Reasons of the events the controller records. Warnings are about a File
// or the Directory; the Normal events Moved and Pruned are about a Task.
const (
	// ReasonInvalidManifest: a file does not parse or validate, or cannot
	// be read; one event per problem, the message naming file, document
	// and field. The file's Tasks keep their last good state.
	ReasonInvalidManifest = "InvalidManifest"
	// ReasonEmptyManifest: a file that Tasks came from holds no document;
	// they are kept (a save may be under way) until the file holds
	// documents again or is deleted.
	ReasonEmptyManifest = "EmptyManifest"
	// ReasonDuplicateTask: a file declares a Task that another file owns.
	ReasonDuplicateTask = "DuplicateTask"
	// ReasonTaskNotOwned: a file declares a Task made with mkctl.
	ReasonTaskNotOwned = "TaskNotOwned"
	// ReasonApplyFailed: the store refused or failed a write; the pass is
	// retried with backoff.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonDirectoryMissing: the manifests directory does not exist (or
	// is not a directory). Nothing is changed until it appears.
	ReasonDirectoryMissing = "DirectoryMissing"
	// ReasonDirectoryEmpty: the directory, at start or back after it was
	// missing, holds no manifest files yet while tasks created from it
	// exist. They are kept until files appear: a clone under way must not
	// delete everything.
	ReasonDirectoryEmpty = "DirectoryEmpty"
	// ReasonDirectoryUnreadable: the directory tree could not be listed.
	// Nothing is changed until it can be.
	ReasonDirectoryUnreadable = "DirectoryUnreadable"
	// ReasonMoved: a Task's source annotation was pointed at the file that
	// declares it now; the Task kept running.
	ReasonMoved = "Moved"
	// ReasonPruned: no file declares the Task any more; it is being
	// deleted.
	ReasonPruned = "Pruned"
)

// fileView is what a pass knows of one manifest file that is present.
type fileView struct {
	rel  string
	docs []v1.Document
	// frozen: the file's content is not known to be good (it does not
	// parse, cannot be read, or is still being written), so the Tasks it
	// owns are left as they are.
	frozen bool
	// broken: frozen because of problems, not because it is settling.
	broken bool
}

type actionKind int

const (
	applyAction actionKind = iota + 1
	deleteAction
)

// action is one write a pass makes.
type action struct {
	kind actionKind
	name string
	// file is the owner for an apply, the file the Task came from for a
	// delete.
	file string
	// doc and task (the document with the source annotation set) are for
	// an apply.
	doc  *v1.Document
	task *v1.Task
	// from is, for an apply, the source the Task has now when it is
	// another file's: the apply moves it.
	from string
}

// problem is one Warning a pass found.
type problem struct {
	ref     v1.ObjectReference
	reason  string
	message string
}

func fileRef(rel string) v1.ObjectReference { return v1.ObjectReference{Kind: KindFile, Name: rel} }

// plan is what a pass must do to bring the store in step with the files.
type plan struct {
	actions  []action
	problems []problem
	// wanted holds the Task names the directory declares and owns.
	wanted map[string]bool
	// claims lists, per Task name, the files that declare it, in order.
	claims map[string][]string
	// frozen holds the files whose Tasks are left as they are.
	frozen map[string]bool
	// waiting holds the wanted names whose task is being deleted: they
	// are applied again once it is gone.
	waiting []string
}

type claim struct {
	rel string
	doc *v1.Document
}

// makePlan compares the files (ordered by path) with the stored tasks and
// decides the writes. It is a pure function: the precondition of each
// apply checks its decision again against the stored object.
func makePlan(files []fileView, tasks []*v1.Task) *plan {
	p := &plan{wanted: map[string]bool{}, claims: map[string][]string{}, frozen: map[string]bool{}}
	broken := map[string]bool{}
	byName := map[string][]claim{}
	settling := false // some file is still being written
	for _, f := range files {
		if f.frozen {
			p.frozen[f.rel] = true
			broken[f.rel] = f.broken
			settling = settling || !f.broken
			continue
		}
		for i := range f.docs {
			name := f.docs[i].Task.Metadata.Name
			byName[name] = append(byName[name], claim{rel: f.rel, doc: &f.docs[i]})
			p.claims[name] = append(p.claims[name], f.rel)
		}
	}
	stored := make(map[string]*v1.Task, len(tasks))
	for _, t := range tasks {
		stored[t.Metadata.Name] = t
	}
	names := make([]string, 0, len(byName))
	for name := range byName {
		names = append(names, name)
	}
	sort.Strings(names)

	for _, name := range names {
		claims := byName[name]
		cur := stored[name]
		src := source(cur)
		var owner *claim
		switch {
		case cur != nil && src == "":
			for _, c := range claims {
				p.problem(fileRef(c.rel), ReasonTaskNotOwned, notOwnedMessage(c))
			}
			continue
		case cur != nil && p.frozen[src]:
			if broken[src] {
				for _, c := range claims {
					p.problem(fileRef(c.rel), ReasonDuplicateTask, docMessage(c,
						fmt.Sprintf("Task %q belongs to %s, which cannot be applied now; it moves here once %s no longer declares it", name, src, src)))
				}
			}
			continue
		}
		owner = &claims[0]
		for i := range claims {
			if claims[i].rel == src {
				owner = &claims[i]
			}
		}
		for _, c := range claims {
			if c.rel != owner.rel {
				p.problem(fileRef(c.rel), ReasonDuplicateTask, duplicateMessage(c, owner.rel))
			}
		}
		p.wanted[name] = true
		in := desiredTask(owner)
		if cur != nil {
			if cur.Metadata.DeletionTimestamp != nil {
				p.waiting = append(p.waiting, name) // applied again once it is gone
				continue
			}
			if _, changed := store.MergeApply(cur, in); !changed {
				continue
			}
		}
		a := action{kind: applyAction, name: name, file: owner.rel, doc: owner.doc, task: in}
		if src != owner.rel {
			a.from = src
		}
		p.actions = append(p.actions, a)
	}

	// A file still being written may be where a Task moved to: deleting
	// it from its old file now would restart it under a new uid. The pass
	// comes back once the file has settled.
	if settling {
		return p
	}
	for _, t := range tasks {
		src := source(t)
		name := t.Metadata.Name
		if src == "" || t.Metadata.DeletionTimestamp != nil || p.frozen[src] || len(byName[name]) > 0 {
			continue
		}
		p.actions = append(p.actions, action{kind: deleteAction, name: name, file: src})
	}
	return p
}

func (p *plan) problem(ref v1.ObjectReference, reason, message string) {
	p.problems = append(p.problems, problem{ref: ref, reason: reason, message: message})
}

// precondition checks an apply's ownership decision against the stored
// task: it goes ahead when the task is the owner's already, or comes from a
// file that no longer declares it and can be read. It returns ErrNotOwned
// or ErrOwnedElsewhere (wrapped) otherwise.
func (p *plan) precondition(a action) func(cur *v1.Task) error {
	return func(cur *v1.Task) error {
		src := source(cur)
		switch {
		case src == a.file:
			return nil
		case src == "":
			return fmt.Errorf("task %q %w", a.name, ErrNotOwned)
		case p.frozen[src] || slices.Contains(p.claims[a.name], src):
			return fmt.Errorf("task %q %w: %s", a.name, ErrOwnedElsewhere, src)
		}
		return nil
	}
}

// source returns the file a stored task came from; "" for none.
func source(t *v1.Task) string {
	if t == nil {
		return ""
	}
	return t.Metadata.Annotations[v1.AnnotationSource]
}

// desiredTask is the task applied for a document: its own, with the
// source annotation set and no resourceVersion (a file is applied over
// whatever is stored, never compare-and-swap).
func desiredTask(c *claim) *v1.Task {
	t := c.doc.Task.DeepCopy()
	t.Metadata.ResourceVersion = ""
	if t.Metadata.Annotations == nil {
		t.Metadata.Annotations = map[string]string{}
	}
	t.Metadata.Annotations[v1.AnnotationSource] = c.rel
	return t
}

func notOwnedMessage(c claim) string {
	name := c.doc.Task.Metadata.Name
	return docMessage(c, fmt.Sprintf("Task %q exists and is not managed by the manifests directory (it was made, or taken over with apply --force-conflicts, by mkctl); delete it (mkctl delete task %s) for this file to manage it, or remove it from this file", name, name))
}

func duplicateMessage(c claim, owner string) string {
	return docMessage(c, fmt.Sprintf("Task %q is already defined in %s, which keeps it", c.doc.Task.Metadata.Name, owner))
}

// docMessage renders a problem with a document the way mkctl does.
func docMessage(c claim, message string) string {
	return v1.DocumentError{File: c.rel, Index: c.doc.Index, Name: c.doc.Task.Metadata.Name, Field: "metadata.name", Message: message}.Error()
}
