package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ApplyResult says what an apply did.
type ApplyResult string

// Apply results.
const (
	Created    ApplyResult = "created"
	Configured ApplyResult = "configured"
	Unchanged  ApplyResult = "unchanged"
)

// ErrBeingDeleted means an apply found the task with a deletionTimestamp:
// it can be applied again once it is gone.
var ErrBeingDeleted = errors.New("is being deleted")

// maxApplyRetries bounds the re-reads of an apply that races with status
// writes.
const maxApplyRetries = 16

// ApplyOptions tune ApplyTask.
type ApplyOptions struct {
	// DryRun computes the result without storing anything.
	DryRun bool
	// CreateOnly refuses to touch an existing task (ErrExists).
	CreateOnly bool
	// Precondition, when set, is called with the stored task before it is
	// changed; its error aborts the apply.
	Precondition func(cur *v1.Task) error
	// Adjust, when set, is called with the stored task and the task to
	// apply before they are merged. It returns the task to merge in its
	// place (in, or a copy it changed; never in changed in place), or an
	// error that aborts the apply.
	Adjust func(cur, in *v1.Task) (*v1.Task, error)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ApplyTask creates the task in, or updates the spec, labels and
// annotations of the stored one; the status of in is ignored (status is
// the system's). The generation moves only when the spec changes. When in
// carries a resourceVersion the write is a compare-and-swap on it and a
// stale one returns ErrConflict; otherwise a race with a status write is
// retried. It returns ErrBeingDeleted (wrapped) for a task being deleted.
// in must be defaulted and valid.
func (st *State) ApplyTask(ctx context.Context, in *v1.Task, opts ApplyOptions) (*v1.Task, ApplyResult, error) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	name := in.Metadata.Name
	wantRV := in.Metadata.ResourceVersion
	if wantRV == "" && !opts.DryRun {
		// A create needs no read first: the store's own check refuses a
		// name that is taken. It is tried at once when nothing stored can
		// change what it does (CreateOnly), or when the cache holds no
		// task of that name; a name taken after all (the cache was
		// behind) is applied over below, from the store. The new task is
		// this call's own: it is returned as written, not decoded back.
		if _, cached := st.TaskCache.Get(name); opts.CreateOnly || !cached {
			out, err := st.Tasks.createOwned(ctx, NewTask(in, now().UTC()))
			if err == nil {
				return out, Created, nil
			}
			if opts.CreateOnly || !errors.Is(err, ErrExists) {
				return nil, "", err
			}
		}
	}
	for range maxApplyRetries {
		cur, err := st.Tasks.Get(ctx, name)
		if errors.Is(err, ErrNotFound) {
			if wantRV != "" {
				return nil, "", fmt.Errorf("task %q does not exist at resourceVersion %s: %w", name, wantRV, ErrConflict)
			}
			t := NewTask(in, now().UTC())
			if opts.DryRun {
				return t, Created, nil
			}
			out, err := st.Tasks.createOwned(ctx, t) // t is this call's own
			if errors.Is(err, ErrExists) && !opts.CreateOnly {
				continue // created meanwhile: apply over it
			}
			if err != nil {
				return nil, "", err
			}
			return out, Created, nil
		}
		if err != nil {
			return nil, "", err
		}
		if opts.CreateOnly {
			return nil, "", fmt.Errorf("task %q: %w", name, ErrExists)
		}
		if wantRV != "" && wantRV != cur.Metadata.ResourceVersion {
			return nil, "", fmt.Errorf("task %q: resourceVersion %s is stale (now %s): %w", name, wantRV, cur.Metadata.ResourceVersion, ErrConflict)
		}
		if cur.Metadata.DeletionTimestamp != nil {
			return nil, "", fmt.Errorf("task %q %w; apply again once it is gone", name, ErrBeingDeleted)
		}
		if opts.Precondition != nil {
			if err := opts.Precondition(cur); err != nil {
				return nil, "", err
			}
		}
		want := in
		if opts.Adjust != nil {
			if want, err = opts.Adjust(cur, in); err != nil {
				return nil, "", err
			}
		}
		next, changed := MergeApply(cur, want)
		if !changed {
			return cur, Unchanged, nil
		}
		if opts.DryRun {
			return next, Configured, nil
		}
		out, err := st.Tasks.Update(ctx, next)
		if errors.Is(err, ErrConflict) && wantRV == "" {
			continue // a status write came between; read again
		}
		if err != nil {
			return nil, "", err
		}
		return out, Configured, nil
	}
	return nil, "", fmt.Errorf("task %q keeps changing; try again: %w", name, ErrConflict)
}

// DeleteTask starts the graceful deletion of the named task: it sets the
// deletionTimestamp, and the scheduler finishes the delete once the worker
// has stopped the container. A task already being deleted, or one that
// keep (when not nil) says to leave, is returned as stored with marked
// false. It returns ErrNotFound (wrapped) when there is no such task.
func (st *State) DeleteTask(ctx context.Context, name string, now time.Time, keep func(*v1.Task) bool) (out *v1.Task, marked bool, err error) {
	out, err = st.Tasks.GuaranteedUpdate(ctx, name, func(t *v1.Task) (*v1.Task, error) {
		marked = t.Metadata.DeletionTimestamp == nil && (keep == nil || !keep(t))
		if !marked {
			return nil, nil
		}
		t.Metadata.DeletionTimestamp = &now
		return t, nil
	})
	return out, marked && err == nil, err
}

// NewTask builds the object stored for a task created from in: a fresh
// uid, generation 1, phase Pending.
func NewTask(in *v1.Task, now time.Time) *v1.Task {
	return &v1.Task{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTask},
		Metadata: v1.ObjectMeta{
			Name:              in.Metadata.Name,
			Labels:            in.Metadata.Labels,
			Annotations:       in.Metadata.Annotations,
			UID:               NewUID(),
			Generation:        1,
			CreationTimestamp: &now,
		},
		Spec:   in.Spec,
		Status: v1.TaskStatus{Phase: v1.PhasePending},
	}
}

// MergeApply returns cur with the user's parts taken from in, and whether
// anything changed. The generation moves only when the spec does. cur is
// not modified.
func MergeApply(cur, in *v1.Task) (*v1.Task, bool) {
	// Compare canonical forms: a nil and an empty list are the same spec.
	specChanged := cur.Spec.Hash() != in.Spec.Hash()
	metaChanged := !equalMaps(cur.Metadata.Labels, in.Metadata.Labels) ||
		!equalMaps(cur.Metadata.Annotations, in.Metadata.Annotations)
	if !specChanged && !metaChanged {
		return cur, false
	}
	next := cur.DeepCopy()
	next.Metadata.Labels = in.Metadata.Labels
	next.Metadata.Annotations = in.Metadata.Annotations
	if specChanged {
		next.Spec = in.Spec
		next.Metadata.Generation++
	}
	return next, true
}

func equalMaps(a, b map[string]string) bool {
	return len(a) == len(b) && (len(a) == 0 || maps.Equal(a, b))
}

// NewUID returns a random RFC 4122 version 4 UUID.
func NewUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
