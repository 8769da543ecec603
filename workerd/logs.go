package workerd

import (
	"errors"
	"net/url"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// errNoPreviousRun is the answer to logs --previous of a container that
// has not restarted.
var errNoPreviousRun = errors.New("the container has not restarted: it has no previous run")

// logOptions turns the query of GET /api/v1/tasks/:uid/logs into the
// runtime's options for the task's container, whose status is st: since
// is measured by this worker's clock (now), and --previous is the part of
// the log written before the current run started (a container restarts
// in place, so its runs share one log).
func logOptions(q url.Values, st v1.TaskStatus, now time.Time) (runtime.LogOptions, error) {
	o, err := v1.ParseLogOptions(q)
	if err != nil {
		return runtime.LogOptions{}, err
	}
	out := runtime.LogOptions{Follow: o.Follow, Tail: -1, Timestamps: o.Timestamps}
	switch {
	case o.Tail > 0:
		out.Tail = o.Tail
	case o.Tail == v1.NoLines:
		out.Tail = 0
	}
	switch {
	case o.SinceSeconds > 0:
		out.Since = now.Add(-time.Duration(o.SinceSeconds) * time.Second)
	case o.SinceTime != nil:
		out.Since = *o.SinceTime
	}
	if o.Previous {
		if st.RestartCount == 0 || st.StartedAt == nil {
			return runtime.LogOptions{}, errNoPreviousRun
		}
		out.Until = *st.StartedAt
		out.Follow = false // that run has ended
	}
	return out, nil
}
