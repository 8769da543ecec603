package store

import (
	"context"
	"errors"
	"time"
)

// Store operations, as named to an Observer.
const (
	OpGet      = "get"
	OpList     = "list"
	OpCreate   = "create"
	OpUpdate   = "update"
	OpDelete   = "delete"
	OpWatch    = "watch"
	OpRevision = "revision"
)

// Observer is told what a Store does, for metrics (the metrics package
// implements it over Prometheus; the store imports no metrics library).
// Its methods are called on every store operation: they must be cheap and
// safe for concurrent use.
type Observer interface {
	// StoreOp is one call of a Store method: the operation (OpGet...), its
	// result (ResultOf) and how long it took. A Watch is timed until its
	// stream is set up, not while it runs.
	StoreOp(op, result string, d time.Duration)
	// EventDropped is an event a Recorder could not record.
	EventDropped()
}

// ResultOf names an operation's outcome with a bounded word: "ok", or the
// kind of its error ("not_found", "exists", "conflict", "compacted",
// "unavailable", "fenced", "closed", "canceled", "error").
func ResultOf(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrExists):
		return "exists"
	case errors.Is(err, ErrConflict):
		return "conflict"
	case errors.Is(err, ErrCompacted):
		return "compacted"
	case errors.Is(err, ErrUnavailable):
		return "unavailable"
	case errors.Is(err, ErrFenced):
		return "fenced"
	case errors.Is(err, ErrClosed):
		return "closed"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "error"
}

// Instrument returns s with every call told to o. A nil o returns s.
func Instrument(s Store, o Observer) Store {
	if o == nil {
		return s
	}
	return &instrumented{s: s, o: o}
}

// instrumented is a Store whose calls are told to an Observer.
type instrumented struct {
	s Store
	o Observer
}

var _ Store = (*instrumented)(nil)

func (i *instrumented) observe(op string, began time.Time, err error) {
	i.o.StoreOp(op, ResultOf(err), time.Since(began))
}

func (i *instrumented) Get(ctx context.Context, key string) (KeyValue, error) {
	began := time.Now()
	kv, err := i.s.Get(ctx, key)
	i.observe(OpGet, began, err)
	return kv, err
}

func (i *instrumented) List(ctx context.Context, prefix string) ([]KeyValue, int64, error) {
	began := time.Now()
	kvs, rev, err := i.s.List(ctx, prefix)
	i.observe(OpList, began, err)
	return kvs, rev, err
}

func (i *instrumented) Create(ctx context.Context, key string, value []byte) (int64, error) {
	began := time.Now()
	rev, err := i.s.Create(ctx, key, value)
	i.observe(OpCreate, began, err)
	return rev, err
}

func (i *instrumented) Update(ctx context.Context, key string, value []byte, rev int64) (int64, error) {
	began := time.Now()
	out, err := i.s.Update(ctx, key, value, rev)
	i.observe(OpUpdate, began, err)
	return out, err
}

func (i *instrumented) Delete(ctx context.Context, key string, rev int64) error {
	began := time.Now()
	err := i.s.Delete(ctx, key, rev)
	i.observe(OpDelete, began, err)
	return err
}

func (i *instrumented) Watch(ctx context.Context, prefix string, rev int64) (<-chan Event, error) {
	began := time.Now()
	ch, err := i.s.Watch(ctx, prefix, rev)
	i.observe(OpWatch, began, err)
	return ch, err
}

func (i *instrumented) Revision(ctx context.Context) (int64, error) {
	began := time.Now()
	rev, err := i.s.Revision(ctx)
	i.observe(OpRevision, began, err)
	return rev, err
}

func (i *instrumented) Close() error { return i.s.Close() }

// Unwrap returns the Store being instrumented.
func (i *instrumented) Unwrap() Store { return i.s }

// eventDropped tells s's Observer, if it has one, that an event was
// dropped.
func eventDropped(s Store) {
	if i, ok := s.(*instrumented); ok {
		i.o.EventDropped()
	}
}
