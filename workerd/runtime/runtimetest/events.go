package runtimetest

import (
	"context"
	"errors"
	"maps"
	"sync"

	"github.com/minkube/minkube/workerd/runtime"
)

// ErrEventsBroken is what BreakEvents sends when given no error.
var ErrEventsBroken = errors.New("fake event stream broken")

// subscriber is one Events stream. Its queue is unbounded so that emitting,
// done under the Fake's lock, never waits for a slow reader.
type subscriber struct {
	labels map[string]string

	mu    sync.Mutex
	queue []runtime.Event
	err   error
	wake  chan struct{} // buffered 1
}

func (s *subscriber) push(ev runtime.Event, err error) {
	s.mu.Lock()
	if err != nil {
		s.err = err
	} else {
		s.queue = append(s.queue, ev)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Events streams the Fake's container events for containers carrying all
// the labels, from when it returns until ctx ends, in the order they
// happened. Labels of an event are the container's labels plus name, image
// and, on die, the exit code.
func (f *Fake) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	out := make(chan runtime.Event)
	outErr := make(chan error, 1)

	f.mu.Lock()
	if err := f.begin(MethodEvents); err != nil {
		f.mu.Unlock()
		outErr <- err
		close(out)
		close(outErr)
		return out, outErr
	}
	sub := &subscriber{labels: maps.Clone(labels), wake: make(chan struct{}, 1)}
	f.subs[sub] = struct{}{}
	f.mu.Unlock()

	go func() {
		defer close(out)
		defer close(outErr)
		defer func() {
			f.mu.Lock()
			delete(f.subs, sub)
			f.mu.Unlock()
		}()
		for {
			sub.mu.Lock()
			queue, err := sub.queue, sub.err
			sub.queue = nil
			sub.mu.Unlock()
			for _, ev := range queue {
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			}
			if err != nil && len(queue) == 0 {
				outErr <- err
				return
			}
			if len(queue) > 0 {
				continue
			}
			select {
			case <-sub.wake:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, outErr
}

// BreakEvents ends every open Events stream with err (ErrEventsBroken when
// nil), after the events already emitted.
func (f *Fake) BreakEvents(err error) {
	if err == nil {
		err = ErrEventsBroken
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for sub := range f.subs {
		delete(f.subs, sub)
		sub.push(runtime.Event{}, err)
	}
}

// emit sends an event for c to every matching stream. f.mu must be held.
func (f *Fake) emit(c *container, action runtime.EventAction, attrs map[string]string) {
	for sub := range f.subs {
		if !matches(c.c.Labels, sub.labels) {
			continue
		}
		labels := maps.Clone(c.c.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels["name"] = c.c.Name
		labels["image"] = c.c.Image
		maps.Copy(labels, attrs)
		sub.push(runtime.Event{ContainerID: c.c.ID, Action: action, Labels: labels}, nil)
	}
}
