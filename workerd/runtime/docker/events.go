package docker

import (
	"context"
	"fmt"
	"maps"

	"github.com/docker/docker/api/types/events"

	"github.com/minkube/minkube/workerd/runtime"
)

// watchedActions are the container actions Events asks the engine for.
var watchedActions = []runtime.EventAction{
	runtime.ActionStart,
	runtime.ActionDie,
	runtime.ActionStop,
	runtime.ActionDestroy,
	runtime.ActionOOM,
	runtime.ActionKill,
}

// Events streams start, die, stop, destroy, oom and kill events of the
// containers carrying all the given labels (an empty value matches any
// value), from the moment it returns until ctx ends. An Event's Labels are
// the container's labels plus the engine's attributes: image, name, and on
// die exitCode (see runtime.Event.ExitCode).
//
// When ctx ends both channels are closed with no error. When the engine
// ends the stream or cannot be reached, the error channel receives one
// error and both are closed; reconnecting (and relisting, since events
// may have been missed) is the caller's business.
func (r *Runtime) Events(ctx context.Context, labels map[string]string) (<-chan runtime.Event, <-chan error) {
	args := labelFilters(labels)
	args.Add("type", string(events.ContainerEventType))
	for _, a := range watchedActions {
		args.Add("event", string(a))
	}
	// The client's goroutine stops when its context ends; tie it to ours
	// so it also stops when we give up on it.
	ctx, cancel := context.WithCancel(ctx)
	msgs, errs := r.cli.Events(ctx, events.ListOptions{Filters: args})

	out := make(chan runtime.Event, 64)
	outErr := make(chan error, 1)
	go func() {
		defer cancel()
		defer close(out)
		defer close(outErr)
		for {
			select {
			case m := <-msgs:
				ev := runtime.Event{
					ContainerID: m.Actor.ID,
					Action:      runtime.EventAction(m.Action),
					Labels:      maps.Clone(m.Actor.Attributes),
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
			case err := <-errs:
				if ctx.Err() == nil && err != nil {
					outErr <- fmt.Errorf("docker events stream: %w", err)
				}
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, outErr
}
