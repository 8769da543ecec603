package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ErrStopStream, returned by a StreamTasks callback, ends the stream;
// StreamTasks then returns nil.
var ErrStopStream = errors.New("stop the stream")

// Default waits of StreamOptions.
const (
	DefaultStreamMinBackoff = 100 * time.Millisecond
	DefaultStreamMaxBackoff = 5 * time.Second
)

// StreamOptions configure StreamTasks.
type StreamOptions struct {
	ListOptions
	// MinBackoff is the first wait before the stream is opened again after
	// it broke without delivering anything; each further failure in a row
	// doubles it, up to MaxBackoff. Defaults: DefaultStreamMinBackoff and
	// DefaultStreamMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// StreamTasks follows the Tasks that match opts for as long as ctx lasts,
// the way an informer does: it lists them, calls onList with the list,
// then watches from the list's resourceVersion and calls onEvent with
// every ADDED, MODIFIED and DELETED change after it.
//
// The stream survives what a long watch meets: when the watch ends or
// breaks, or the manager cannot be reached (it is restarting), StreamTasks
// waits (MinBackoff, doubling to MaxBackoff) and watches again from the
// last resourceVersion it delivered, so no change is lost or repeated.
// When that resourceVersion is no longer kept (410 Gone) it waits for the
// manager to be ready, lists again, and calls onEvent with the difference
// from what it had delivered: ADDED for new Tasks, MODIFIED for changed
// ones and DELETED, carrying the last state delivered, for those gone.
// Callbacks run on the caller's goroutine, one at a time, in order.
//
// StreamTasks returns nil when a callback returns ErrStopStream, and any
// other error of a callback as it is. It returns the error of the first
// list at once (so an unreachable manager or a bad token is reported
// rather than retried), an Unauthorized or other client-error *v1.Status
// (other than 410) met later, and an error wrapping the context's error
// once ctx ends.
func (c *Client) StreamTasks(ctx context.Context, opts StreamOptions, onList func(*v1.TaskList) error, onEvent func(v1.WatchEvent[*v1.Task]) error) error {
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultStreamMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultStreamMaxBackoff, opts.MinBackoff)
	}
	list, err := c.ListTasks(ctx, opts.ListOptions)
	if err != nil {
		return err
	}
	s := &taskStream{c: c, opts: opts, onEvent: onEvent}
	s.remember(list)
	if err := onList(list); err != nil {
		if errors.Is(err, ErrStopStream) {
			return nil
		}
		return err
	}
	return s.run(ctx)
}

// taskStream is the state of one StreamTasks.
type taskStream struct {
	c       *Client
	opts    StreamOptions
	onEvent func(v1.WatchEvent[*v1.Task]) error
	// known holds the last state delivered of every Task, to tell what a
	// list after 410 Gone changed.
	known   map[string]*v1.Task
	rv      string
	stopped bool
	// failures counts attempts in a row that delivered nothing.
	failures int
}

// remember takes list as the delivered state.
func (s *taskStream) remember(list *v1.TaskList) {
	s.known = make(map[string]*v1.Task, len(list.Items))
	for i := range list.Items {
		s.known[list.Items[i].Metadata.Name] = &list.Items[i]
	}
	s.rv = list.Metadata.ResourceVersion
}

// run watches, and watches again, until a callback stops it, an error
// that retrying cannot fix, or ctx ends.
func (s *taskStream) run(ctx context.Context) error {
	relist := false
	for {
		if s.failures > 0 {
			if err := sleepCtx(ctx, s.backoff()); err != nil {
				return fmt.Errorf("watch tasks at %s: %w", s.c.Server(), err)
			}
		}
		var err error
		if relist {
			err = s.relist(ctx)
		} else {
			err = s.watch(ctx)
		}
		switch {
		case s.stopped:
			return err
		case ctx.Err() != nil:
			return fmt.Errorf("watch tasks at %s: %w", s.c.Server(), context.Cause(ctx))
		case err == nil:
			relist = false
		case IsGone(err):
			relist = true
			s.failures = 0
		case Permanent(err):
			return err
		default:
			// The stream broke or the manager is away: try again.
		}
	}
}

// watch follows one watch stream from s.rv until it ends. It returns nil
// when the stream ended after delivering events (watch again at once), and
// the error that ended it otherwise.
func (s *taskStream) watch(ctx context.Context) error {
	w, err := s.c.WatchTasks(ctx, s.rv, s.opts.ListOptions)
	if err != nil {
		s.failures++
		return err
	}
	defer w.Close()
	delivered := false
	for {
		ev, err := w.Next()
		if err != nil {
			if delivered {
				s.failures = 0
			} else {
				s.failures++
			}
			if delivered && !IsGone(err) && ctx.Err() == nil {
				return nil
			}
			return err
		}
		delivered = true
		if rv := w.ResourceVersion(); rv != "" {
			s.rv = rv
		}
		if ev.Type == v1.Bookmark {
			continue
		}
		if err := s.deliver(ev); err != nil || s.stopped {
			return err
		}
	}
}

// relist waits until the manager is ready, lists again and delivers the
// difference from the known state.
func (s *taskStream) relist(ctx context.Context) error {
	if err := s.c.Readyz(ctx); err != nil {
		s.failures++
		return err
	}
	list, err := s.c.ListTasks(ctx, s.opts.ListOptions)
	if err != nil {
		s.failures++
		return err
	}
	s.failures = 0
	old := s.known
	s.remember(list)
	var events []v1.WatchEvent[*v1.Task]
	for i := range list.Items {
		t := &list.Items[i]
		prev, ok := old[t.Metadata.Name]
		switch {
		case !ok:
			events = append(events, v1.WatchEvent[*v1.Task]{Type: v1.Added, Object: t})
		case prev.Metadata.UID != t.Metadata.UID:
			events = append(events, v1.WatchEvent[*v1.Task]{Type: v1.Deleted, Object: prev}, v1.WatchEvent[*v1.Task]{Type: v1.Added, Object: t})
		case prev.Metadata.ResourceVersion != t.Metadata.ResourceVersion:
			events = append(events, v1.WatchEvent[*v1.Task]{Type: v1.Modified, Object: t})
		}
	}
	for name, prev := range old {
		if _, ok := s.known[name]; !ok {
			events = append(events, v1.WatchEvent[*v1.Task]{Type: v1.Deleted, Object: prev})
		}
	}
	for _, ev := range events {
		if err := s.callback(ev); err != nil || s.stopped {
			return err
		}
	}
	return nil
}

// deliver records a watched change and hands it to the callback.
func (s *taskStream) deliver(ev v1.WatchEvent[*v1.Task]) error {
	name := ev.Object.Metadata.Name
	if ev.Type == v1.Deleted {
		delete(s.known, name)
	} else {
		s.known[name] = ev.Object
	}
	return s.callback(ev)
}

func (s *taskStream) callback(ev v1.WatchEvent[*v1.Task]) error {
	err := s.onEvent(ev)
	if errors.Is(err, ErrStopStream) {
		s.stopped = true
		return nil
	}
	if err != nil {
		s.stopped = true
	}
	return err
}

// backoff is the wait before the next attempt.
func (s *taskStream) backoff() time.Duration {
	d := s.opts.MinBackoff
	for i := 1; i < s.failures && d < s.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.opts.MaxBackoff)
}

// Permanent reports whether err is an answer that asking again cannot
// change: a client error other than 410 Gone, 408 and 429. A watch, or a
// poll, that meets one ends; other errors (the manager away or
// restarting, 5xx) are worth asking again.
func Permanent(err error) bool {
	code := codeOf(err)
	if IsUnauthorized(err) {
		return true
	}
	return code >= 400 && code < 500 && code != http.StatusGone &&
		code != http.StatusRequestTimeout && code != http.StatusTooManyRequests
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
