package client

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// maxWatchLine bounds one line of a watch stream: one event with one object.
const maxWatchLine = maxObjectBytes

// Watcher reads a watch stream, one event per Next. It is not safe for
// concurrent use, except that Close may be called from any goroutine, which
// makes a blocked Next return.
type Watcher[T any] struct {
	ctx       context.Context
	body      io.ReadCloser
	scanner   *bufio.Scanner
	server    string
	rv        string
	err       error
	closed    atomic.Bool
	closeOnce sync.Once
}

func newWatcher[T any](ctx context.Context, body io.ReadCloser, rv string, r *requester) *Watcher[T] {
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 0, 64<<10), maxWatchLine)
	return &Watcher[T]{ctx: ctx, body: body, scanner: sc, server: r.serverString(), rv: rv}
}

// watchLine is one line of the stream before its object is decoded.
type watchLine struct {
	Type   v1.WatchEventType `json:"type"`
	Object json.RawMessage   `json:"object"`
}

// Next blocks until the next event and returns it. ADDED, MODIFIED and
// DELETED carry the object; BOOKMARK carries an object with only
// metadata.resourceVersion set. When the server sends an ERROR event, Next
// returns its *v1.Status as the error (IsGone reports a 410: list again).
// Next returns io.EOF when the server ends the stream or Close was called,
// an error wrapping the context's error once ctx ends, and the same error
// again on every later call.
func (w *Watcher[T]) Next() (v1.WatchEvent[T], error) {
	var zero v1.WatchEvent[T]
	if w.err != nil {
		return zero, w.err
	}
	for w.scanner.Scan() {
		line := w.scanner.Bytes()
		if len(line) == 0 {
			continue
		}
		ev, err := w.decode(line)
		if err != nil {
			return zero, w.fail(err)
		}
		return ev, nil
	}
	err := w.scanner.Err()
	switch {
	case w.closed.Load():
		err = io.EOF
	case w.ctx.Err() != nil:
		err = fmt.Errorf("watch at %s: %w", w.server, context.Cause(w.ctx))
	case errors.Is(err, bufio.ErrTooLong):
		err = fmt.Errorf("watch at %s: %w: an event exceeds %d bytes", w.server, ErrResponseTooLarge, maxWatchLine)
	case err != nil:
		err = fmt.Errorf("watch at %s: %w", w.server, err)
	default:
		err = io.EOF
	}
	return zero, w.fail(err)
}

func (w *Watcher[T]) decode(line []byte) (v1.WatchEvent[T], error) {
	var ev v1.WatchEvent[T]
	var raw watchLine
	if err := json.Unmarshal(line, &raw); err != nil {
		return ev, fmt.Errorf("watch at %s: decode event: %w", w.server, err)
	}
	switch raw.Type {
	case v1.Error:
		var st v1.Status
		if err := json.Unmarshal(raw.Object, &st); err != nil {
			return ev, fmt.Errorf("watch at %s: decode ERROR event: %w", w.server, err)
		}
		if st.Reason == "" && st.Code != 0 {
			st.Reason = reasonForCode(st.Code)
		}
		if st.Message == "" {
			st.Message = fmt.Sprintf("the watch at %s ended with %s", w.server, st.Reason)
		}
		return ev, &st
	case v1.Added, v1.Modified, v1.Deleted, v1.Bookmark:
	default:
		return ev, fmt.Errorf("watch at %s: unknown event type %q", w.server, raw.Type)
	}
	if len(raw.Object) == 0 || string(raw.Object) == "null" {
		return ev, fmt.Errorf("watch at %s: %s event without an object", w.server, raw.Type)
	}
	ev.Type = raw.Type
	if err := json.Unmarshal(raw.Object, &ev.Object); err != nil {
		return ev, fmt.Errorf("watch at %s: decode %s object: %w", w.server, raw.Type, err)
	}
	// T is a pointer such as *v1.Task (allocated by Unmarshal, as the
	// object is not null) or a value whose pointer is a v1.Object.
	obj, ok := any(ev.Object).(v1.Object)
	if !ok {
		obj, ok = any(&ev.Object).(v1.Object)
	}
	if ok {
		if rv := obj.GetObjectMeta().ResourceVersion; rv != "" {
			w.rv = rv
		}
	}
	return ev, nil
}

// fail records err as the watcher's final error and releases the stream.
func (w *Watcher[T]) fail(err error) error {
	w.err = err
	w.closeOnce.Do(func() { _ = w.body.Close() })
	return err
}

// ResourceVersion returns the resourceVersion of the last event read, or
// the one the watch started from: where a new watch resumes.
func (w *Watcher[T]) ResourceVersion() string { return w.rv }

// Close ends the watch and releases its connection. It is safe to call more
// than once and from another goroutine than Next's.
func (w *Watcher[T]) Close() error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		_ = w.body.Close()
	})
	return nil
}
