package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// maxUpdateTries bounds the read-modify-write rounds of GuaranteedUpdate.
const maxUpdateTries = 16

// Between rounds that lost a race, GuaranteedUpdate waits a random time
// below conflictBackoff doubled per round, at most maxConflictBackoff, so
// that writers of one hot object spread out instead of colliding again.
const (
	conflictBackoff    = 5 * time.Millisecond
	maxConflictBackoff = 200 * time.Millisecond
)

// watchBuffer is the capacity of a Resource watch channel.
const watchBuffer = 64

// Resource stores one kind of API object in a Store, as JSON under
// prefix+name. T is the object type (v1.Task) and P its pointer
// (*v1.Task); Go infers P, so NewResource[v1.Task](s, "/tasks/", "task")
// is enough.
//
// metadata.resourceVersion is not part of the stored bytes: it is set on
// every object read from the revision of the key's last write, and a write
// that carries one is a compare-and-swap on it.
//
// Every object a Resource returns is freshly decoded and owned by the
// caller. Errors wrap the store's sentinels (ErrNotFound, ErrExists,
// ErrConflict, ErrCompacted, ErrClosed) and name the object, as in
// `task "web": not found`.
type Resource[T any, P interface {
	*T
	v1.Object
}] struct {
	store  Store
	prefix string
	kind   string
	copies sync.Pool // of P: the shallow copies encode marshals
}

// NewResource returns the Resource for the objects under prefix (ending in
// "/", such as "/tasks/") in s. kind is the lower-case name used in error
// messages ("task").
func NewResource[T any, P interface {
	*T
	v1.Object
}](s Store, prefix, kind string) *Resource[T, P] {
	return &Resource[T, P]{store: s, prefix: prefix, kind: kind}
}

// Kind returns the lower-case kind name the Resource was made with.
func (r *Resource[T, P]) Kind() string { return r.kind }

// Prefix returns the key prefix the Resource stores its objects under.
func (r *Resource[T, P]) Prefix() string { return r.prefix }

// Get returns the named object. It returns ErrNotFound (wrapped) when
// there is none.
func (r *Resource[T, P]) Get(ctx context.Context, name string) (P, error) {
	if err := r.checkName(name); err != nil {
		return nil, err
	}
	kv, err := r.store.Get(ctx, r.prefix+name)
	if err != nil {
		return nil, r.wrap("get", name, err)
	}
	return r.decode(kv.Value, kv.Revision)
}

// List returns every object, ordered by name, and the store revision it
// was read at; Watch from that revision to follow on.
func (r *Resource[T, P]) List(ctx context.Context) ([]P, int64, error) {
	return r.listPrefix(ctx, "")
}

// listPrefix is List of the objects whose names start with prefix.
func (r *Resource[T, P]) listPrefix(ctx context.Context, prefix string) ([]P, int64, error) {
	kvs, rev, err := r.store.List(ctx, r.prefix+prefix)
	if err != nil {
		return nil, 0, fmt.Errorf("list %ss: %w", r.kind, err)
	}
	out := make([]P, 0, len(kvs))
	for _, kv := range kvs {
		obj, err := r.decode(kv.Value, kv.Revision)
		if err != nil {
			return nil, 0, fmt.Errorf("list %ss: %w", r.kind, err)
		}
		out = append(out, obj)
	}
	return out, rev, nil
}

// Create stores obj under its name and returns the stored object, with
// metadata.resourceVersion set. A resourceVersion on obj is ignored. It
// returns ErrExists (wrapped) when the name is taken. obj is not
// modified.
func (r *Resource[T, P]) Create(ctx context.Context, obj P) (P, error) {
	return r.create(ctx, obj, false)
}

// createOwned is Create for an obj the caller hands over: it returns obj
// itself, its resourceVersion set, rather than decoding what it wrote.
func (r *Resource[T, P]) createOwned(ctx context.Context, obj P) (P, error) {
	return r.create(ctx, obj, true)
}

// create stores obj under its name and returns it as stored: obj itself
// when owned, what was written decoded otherwise. It is what Create and
// createOwned share.
func (r *Resource[T, P]) create(ctx context.Context, obj P, owned bool) (P, error) {
	name := obj.GetObjectMeta().Name
	if err := r.checkName(name); err != nil {
		return nil, err
	}
	data, buf, err := r.encode(obj)
	if err != nil {
		return nil, err
	}
	defer buf.release()
	rev, err := r.store.Create(ctx, r.prefix+name, data)
	if err != nil {
		return nil, r.wrap("create", name, err)
	}
	if owned {
		return r.written(obj, rev), nil
	}
	return r.decode(data, rev)
}

// Update replaces the stored object named by obj and returns the new
// stored object. When obj carries a resourceVersion the write is a
// compare-and-swap that returns ErrConflict (wrapped) unless the object
// is still at that version; without one it overwrites whatever is stored.
// It returns ErrNotFound (wrapped) when there is no such object. obj is
// not modified.
func (r *Resource[T, P]) Update(ctx context.Context, obj P) (P, error) {
	meta := obj.GetObjectMeta()
	if err := r.checkName(meta.Name); err != nil {
		return nil, err
	}
	rev, err := ParseResourceVersion(meta.ResourceVersion)
	if err != nil {
		return nil, fmt.Errorf("update %s %q: %w", r.kind, meta.Name, err)
	}
	data, buf, err := r.encode(obj)
	if err != nil {
		return nil, err
	}
	defer buf.release()
	rev, err = r.store.Update(ctx, r.prefix+meta.Name, data, rev)
	if err != nil {
		return nil, r.wrap("update", meta.Name, err)
	}
	return r.decode(data, rev)
}

// Delete removes the named object. A non-empty resourceVersion makes it a
// compare-and-swap that returns ErrConflict (wrapped) unless the object
// is still at that version. It returns ErrNotFound (wrapped) when there
// is no such object.
func (r *Resource[T, P]) Delete(ctx context.Context, name, resourceVersion string) error {
	if err := r.checkName(name); err != nil {
		return err
	}
	rev, err := ParseResourceVersion(resourceVersion)
	if err != nil {
		return fmt.Errorf("delete %s %q: %w", r.kind, name, err)
	}
	if err := r.store.Delete(ctx, r.prefix+name, rev); err != nil {
		return r.wrap("delete", name, err)
	}
	return nil
}

// GuaranteedUpdate reads the named object, calls fn on a fresh copy of
// it, and writes fn's result with a compare-and-swap on the version read.
// On a conflict it waits a little, reads again and calls fn again, up to
// 16 times, so fn must be a pure function of the object it gets. fn returning (nil, nil)
// means nothing needs writing, and GuaranteedUpdate returns the current
// object; so does a result that encodes to the bytes already stored. An
// error from fn aborts and is returned as it is. It returns ErrNotFound
// (wrapped) when there is no such object, and ErrConflict (wrapped) when
// every try lost a race.
func (r *Resource[T, P]) GuaranteedUpdate(ctx context.Context, name string, fn func(P) (P, error)) (P, error) {
	return r.GuaranteedUpdateFrom(ctx, name, nil, fn)
}

// GuaranteedUpdateFrom is GuaranteedUpdate starting from hint, the object
// as a cache holds it, rather than from a read of the store: fn is given
// a deep copy of hint, and its result is written with a compare-and-swap
// on hint's resourceVersion. When that write loses (the cache was behind)
// or fn writes nothing from hint, it goes on as GuaranteedUpdate does,
// from the store. hint is not modified; nil means no hint.
func (r *Resource[T, P]) GuaranteedUpdateFrom(ctx context.Context, name string, hint P, fn func(P) (P, error)) (P, error) {
	if err := r.checkName(name); err != nil {
		return nil, err
	}
	key := r.prefix + name
	if out, ok, err := r.updateFromHint(ctx, key, hint, fn); ok || err != nil {
		return out, err
	}
	for try := range maxUpdateTries {
		if try > 0 {
			if err := sleepJitter(ctx, min(conflictBackoff<<(try-1), maxConflictBackoff)); err != nil {
				return nil, fmt.Errorf("update %s %q: %w", r.kind, name, err)
			}
		}
		kv, err := r.store.Get(ctx, key)
		if err != nil {
			return nil, r.wrap("update", name, err)
		}
		cur, err := r.decode(kv.Value, kv.Revision)
		if err != nil {
			return nil, err
		}
		next, err := fn(cur)
		if err != nil {
			return nil, err
		}
		if next == nil {
			return cur, nil
		}
		if got := next.GetObjectMeta().Name; got != name {
			return nil, fmt.Errorf("update %s %q: the update renamed it to %q", r.kind, name, got)
		}
		data, buf, err := r.encode(next)
		if err != nil {
			return nil, err
		}
		if bytes.Equal(data, kv.Value) {
			buf.release()
			return r.decode(kv.Value, kv.Revision)
		}
		rev, err := r.store.Update(ctx, key, data, kv.Revision)
		buf.release()
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, r.wrap("update", name, err)
		}
		return r.written(next, rev), nil
	}
	return nil, fmt.Errorf("%s %q: %w (lost %d races in a row)", r.kind, name, ErrConflict, maxUpdateTries)
}

// updateFromHint tries GuaranteedUpdateFrom's write from hint: ok is true
// when it wrote, and false when the caller must go on from the store.
func (r *Resource[T, P]) updateFromHint(ctx context.Context, key string, hint P, fn func(P) (P, error)) (P, bool, error) {
	if hint == nil {
		return nil, false, nil
	}
	copier, canCopy := any(hint).(interface{ DeepCopy() P })
	rev, err := ParseResourceVersion(hint.GetObjectMeta().ResourceVersion)
	if !canCopy || err != nil || rev == 0 {
		return nil, false, nil
	}
	next, err := fn(copier.DeepCopy())
	if err != nil {
		return nil, false, err
	}
	if next == nil || next.GetObjectMeta().Name != hint.GetObjectMeta().Name {
		return nil, false, nil
	}
	data, buf, err := r.encode(next)
	if err != nil {
		return nil, false, err
	}
	wrote, err := r.store.Update(ctx, key, data, rev)
	buf.release()
	if errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, r.wrap("update", hint.GetObjectMeta().Name, err)
	}
	return r.written(next, wrote), true, nil
}

// written is obj, which was just written at rev, as stored: with its
// resourceVersion. obj is the update's own (decoded or copied for it, and
// changed by its fn), so it need not be decoded again from what was
// written.
func (r *Resource[T, P]) written(obj P, rev int64) P {
	obj.GetObjectMeta().ResourceVersion = FormatResourceVersion(rev)
	return obj
}

// sleepJitter waits a random time below d, or until ctx ends.
func sleepJitter(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(rand.N(d))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WatchEvent is one change to an object seen by Resource.Watch.
type WatchEvent[P any] struct {
	// Type is v1.Added, v1.Modified or v1.Deleted.
	Type v1.WatchEventType
	// Object is the object after the change; for Deleted, its last state
	// with the resourceVersion of the delete.
	Object P
	// Revision is the store revision of the change.
	Revision int64
}

// Watch streams the changes after revision rev (0: from now on) as
// decoded objects. The channel closes when ctx ends, when the store's
// watch ends (store closed, reader fell behind), or when a stored value
// does not decode; the caller then lists again, and the List reports a
// value that does not decode. It returns ErrCompacted (wrapped) when
// changes after rev are no longer kept.
func (r *Resource[T, P]) Watch(ctx context.Context, rev int64) (<-chan WatchEvent[P], error) {
	in, err := r.store.Watch(ctx, r.prefix, rev)
	if err != nil {
		return nil, fmt.Errorf("watch %ss: %w", r.kind, err)
	}
	out := make(chan WatchEvent[P], watchBuffer)
	go func() {
		defer close(out)
		for {
			var (
				ev Event
				ok bool
			)
			select {
			case <-ctx.Done():
				return
			case ev, ok = <-in:
				if !ok {
					return
				}
			}
			obj, err := r.decode(ev.KV.Value, ev.KV.Revision)
			if err != nil {
				return
			}
			we := WatchEvent[P]{Type: v1.Modified, Object: obj, Revision: ev.KV.Revision}
			switch {
			case ev.Type == EventDelete:
				we.Type = v1.Deleted
			case ev.Created:
				we.Type = v1.Added
			}
			select {
			case out <- we:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// ParseResourceVersion turns a metadata.resourceVersion into a store
// revision: "" is 0 (no version), anything else must be a positive
// decimal number.
func ParseResourceVersion(rv string) (int64, error) {
	if rv == "" {
		return 0, nil
	}
	rev, err := strconv.ParseInt(rv, 10, 64)
	if err != nil || rev <= 0 {
		return 0, fmt.Errorf("resourceVersion %q is not a positive number", rv)
	}
	return rev, nil
}

// FormatResourceVersion turns a store revision into a
// metadata.resourceVersion.
func FormatResourceVersion(rev int64) string {
	return strconv.FormatInt(rev, 10)
}

// checkName rejects names that would not make one key under the prefix.
func (r *Resource[T, P]) checkName(name string) error {
	if name == "" || strings.Contains(name, "/") {
		return fmt.Errorf("%s name %q: must be non-empty and contain no '/'", r.kind, name)
	}
	return nil
}

// encode marshals obj without its resourceVersion, into a buffer of a
// pool: the caller hands it back with buf.release once nothing reads data
// any more (a store keeps no written value past its call: see Store). It
// marshals a shallow copy, from a pool too, so that obj, which may be
// shared, is never written to. A store write's value was two garbage
// allocations before, the copy and goccy's copy of its encoding, 8% of
// what a busy manager allocated.
func (r *Resource[T, P]) encode(obj P) (data []byte, buf *encodeBuffer, err error) {
	cp, _ := r.copies.Get().(P)
	if cp == nil {
		cp = P(new(T))
	}
	*cp = *obj
	cp.GetObjectMeta().ResourceVersion = ""
	buf = encodeBuffers.Get().(*encodeBuffer)
	buf.b.Reset()
	err = buf.enc.Encode(cp)
	var zero T
	*cp = zero // drop what it points to before it waits in the pool
	r.copies.Put(cp)
	if err != nil {
		buf.release()
		return nil, nil, fmt.Errorf("encode %s %q: %w", r.kind, obj.GetObjectMeta().Name, err)
	}
	// Encode ends the document with a newline, which Marshal does not.
	return bytes.TrimSuffix(buf.b.Bytes(), []byte{'\n'}), buf, nil
}

// encodeBuffer is a reusable buffer and a JSON encoder that writes to it.
// The encoder escapes as json.Marshal does, so the bytes are Marshal's.
type encodeBuffer struct {
	b   bytes.Buffer
	enc *json.Encoder
}

// maxPooledEncoding bounds the buffers kept for reuse: a rare large
// object's buffer is left to the collector rather than held.
const maxPooledEncoding = 64 << 10

var encodeBuffers = sync.Pool{New: func() any {
	buf := new(encodeBuffer)
	buf.enc = json.NewEncoder(&buf.b)
	return buf
}}

// release hands buf back for another encoding; a large one is left to
// the collector.
func (buf *encodeBuffer) release() {
	if buf.b.Cap() <= maxPooledEncoding {
		encodeBuffers.Put(buf)
	}
}

// decode unmarshals a fresh object and sets its resourceVersion to rev.
func (r *Resource[T, P]) decode(data []byte, rev int64) (P, error) {
	obj := P(new(T))
	if err := json.Unmarshal(data, obj); err != nil {
		return nil, fmt.Errorf("decode %s at revision %d: %w", r.kind, rev, err)
	}
	obj.GetObjectMeta().ResourceVersion = FormatResourceVersion(rev)
	return obj, nil
}

// wrap names the object in a store error. The sentinels are restated
// bare, since the store's own wording names a key the caller never saw.
func (r *Resource[T, P]) wrap(op, name string, err error) error {
	for _, sentinel := range []error{ErrNotFound, ErrExists, ErrConflict} {
		if errors.Is(err, sentinel) {
			return fmt.Errorf("%s %q: %w", r.kind, name, sentinel)
		}
	}
	return fmt.Errorf("%s %s %q: %w", op, r.kind, name, err)
}
