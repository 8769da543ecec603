package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// EventsPrefix is the key prefix of events.
const EventsPrefix = "/events/"

// IndexObject indexes events by "KIND/NAME" of the object they are about.
const IndexObject = "object"

// Bounds of the event store: the newest events are kept, at most
// MaxEventsPerObject per object and MaxEvents in all.
const (
	MaxEventsPerObject = 50
	MaxEvents          = 20000
)

// ObjectKey is the value of IndexObject for an object reference.
func ObjectKey(ref v1.ObjectReference) string { return ref.Kind + "/" + ref.Name }

// Recorder records Kubernetes-style events: a repeat of the same type,
// reason and message about the same object raises its count and last
// time instead of adding an event. Recording never fails the caller: a
// store error is logged and the event dropped.
type Recorder struct {
	st     *State
	source string
	log    *slog.Logger
	now    func() time.Time
}

// Recorder returns a recorder that signs its events with source (for
// example "scheduler" or "worker/w1").
func (st *State) Recorder(source string, logger *slog.Logger) *Recorder {
	if logger == nil {
		logger = slog.Default()
	}
	return &Recorder{st: st, source: source, log: logger, now: time.Now}
}

// Eventf records one event about obj.
func (r *Recorder) Eventf(ctx context.Context, obj v1.ObjectReference, typ, reason, message string) {
	now := r.now().UTC()
	name := eventName(obj, typ, reason, message)
	repeat := func(e *v1.Event) (*v1.Event, error) {
		e.Count++
		e.LastTimestamp = now
		return e, nil
	}
	// The cache says whether it is a repeat, and holds what to raise:
	// most events are new (one per task and step), and cost one write.
	err := ErrNotFound
	if cur, ok := r.st.EventCache.Get(name); ok {
		_, err = r.st.Events.GuaranteedUpdateFrom(ctx, name, cur, repeat)
	}
	if errors.Is(err, ErrNotFound) {
		_, err = r.st.Events.Create(ctx, &v1.Event{
			TypeMeta:       v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEvent},
			Metadata:       v1.ObjectMeta{Name: name, CreationTimestamp: &now},
			InvolvedObject: obj,
			Type:           typ,
			Reason:         reason,
			Message:        message,
			Source:         r.source,
			Count:          1,
			FirstTimestamp: now,
			LastTimestamp:  now,
		})
		if errors.Is(err, ErrExists) {
			// Recorded meanwhile, or the cache is behind: a repeat.
			_, err = r.st.Events.GuaranteedUpdate(ctx, name, repeat)
		} else if err == nil {
			r.trim(ctx, obj)
		}
	}
	if err != nil && ctx.Err() == nil {
		eventDropped(r.st.Store)
		r.log.Warn("recording an event failed", "object", ObjectKey(obj), "reason", reason, "err", err)
	}
}

// trimWriters bounds the deletes one trim of every event makes at once
// (the store commits those that meet in one transaction).
const trimWriters = 16

// trim deletes the oldest events beyond the bounds: those of obj beyond
// MaxEventsPerObject at once, and the oldest of all beyond MaxEvents in
// the background, one trim at a time, so that a burst of events (a
// thousand tasks starting) neither waits for the deletes nor has every
// recorder delete the same events.
func (r *Recorder) trim(ctx context.Context, obj v1.ObjectReference) {
	r.drop(ctx, r.st.EventCache.ByIndex(IndexObject, ObjectKey(obj)), MaxEventsPerObject, 1)
	if r.st.EventCache.Len() > MaxEvents+MaxEvents/10 && r.st.trimming.CompareAndSwap(false, true) {
		go func() {
			defer r.st.trimming.Store(false)
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
			defer cancel()
			r.drop(ctx, r.st.EventCache.List(), MaxEvents, trimWriters)
		}()
	}
}

// drop deletes the oldest of events beyond keep, writers at a time. It
// sorts events, the caller's own slice (as EventCache's List and ByIndex
// return), in place.
func (r *Recorder) drop(ctx context.Context, events []*v1.Event, keep, writers int) {
	if len(events) <= keep {
		return
	}
	slices.SortFunc(events, func(a, b *v1.Event) int { return a.LastTimestamp.Compare(b.LastTimestamp) })
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		sem    = make(chan struct{}, writers)
	)
	for _, e := range events[:len(events)-keep] {
		if failed.Load() {
			break
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := r.st.Events.Delete(ctx, e.Metadata.Name, ""); err != nil && !errors.Is(err, ErrNotFound) && !failed.Swap(true) {
				r.log.Warn("trimming events failed", "err", err)
			}
		})
	}
	wg.Wait()
}

// eventName is stable for the same object, type, reason and message.
func eventName(obj v1.ObjectReference, typ, reason, message string) string {
	h := sha256.New()
	for _, s := range []string{obj.Kind, obj.Name, obj.UID, typ, reason, message} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return strings.ToLower(obj.Kind) + "." + strings.ReplaceAll(obj.Name, "/", "_") + "." + hex.EncodeToString(h.Sum(nil)[:8])
}

// EventsFor returns the events about the object of kind and name, oldest
// first; an empty name means every event.
func (st *State) EventsFor(kind, name string) []*v1.Event {
	var events []*v1.Event
	if name == "" {
		events = st.EventCache.List()
	} else {
		events = slices.Clone(st.EventCache.ByIndex(IndexObject, kind+"/"+name))
	}
	slices.SortFunc(events, func(a, b *v1.Event) int {
		return cmp.Or(a.LastTimestamp.Compare(b.LastTimestamp), strings.Compare(a.Metadata.Name, b.Metadata.Name))
	})
	return events
}

// TaskRef is the event reference of a task.
func TaskRef(t *v1.Task) v1.ObjectReference {
	return v1.ObjectReference{Kind: v1.KindTask, Name: t.Metadata.Name, UID: t.Metadata.UID}
}
