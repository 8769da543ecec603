package v1

import (
	"fmt"
	"net/url"
	"strconv"
	"time"
)

// LogOptions select the container log lines of GET .../logs, on the
// manager API and the worker API alike; Query and ParseLogOptions are the
// one wire form of both.
type LogOptions struct {
	// Follow keeps the stream open and sends new lines as they are written.
	Follow bool
	// Tail, when positive, starts from the last Tail lines; 0 means all,
	// and NoLines none (with Follow: only what is written from now on).
	Tail int
	// SinceSeconds, when positive, keeps the lines written in the last
	// that many seconds, by the worker's clock.
	SinceSeconds int64
	// SinceTime, when set, keeps the lines written from then on.
	SinceTime *time.Time
	// Timestamps starts each line with the time it was written (RFC 3339).
	Timestamps bool
	// Previous returns the output of the container's runs before the
	// current one: a Task restarted in place keeps one log, and this is
	// the part written before the last restart.
	Previous bool
}

// NoLines is the Tail that asks for no earlier lines (query tail=0).
const NoLines = -1

// Query renders o as URL query parameters: follow, tail, sinceSeconds,
// sinceTime, timestamps and previous, each only when set.
func (o LogOptions) Query() url.Values {
	q := url.Values{}
	if o.Follow {
		q.Set("follow", "true")
	}
	switch {
	case o.Tail > 0:
		q.Set("tail", strconv.Itoa(o.Tail))
	case o.Tail == NoLines:
		q.Set("tail", "0")
	}
	if o.SinceSeconds > 0 {
		q.Set("sinceSeconds", strconv.FormatInt(o.SinceSeconds, 10))
	}
	if o.SinceTime != nil {
		q.Set("sinceTime", o.SinceTime.UTC().Format(time.RFC3339Nano))
	}
	if o.Timestamps {
		q.Set("timestamps", "true")
	}
	if o.Previous {
		q.Set("previous", "true")
	}
	return q
}

// ParseLogOptions reads the query parameters Query writes: tail=0 is
// NoLines, tail=-1 all lines (Tail 0), as is no tail. It returns an error naming the parameter
// that is malformed.
func ParseLogOptions(q url.Values) (LogOptions, error) {
	var o LogOptions
	var err error
	boolParam := func(name string) bool {
		v := q.Get(name)
		if v == "" || err != nil {
			return false
		}
		b, perr := strconv.ParseBool(v)
		if perr != nil {
			err = fmt.Errorf("%s %q: must be true or false", name, v)
		}
		return b
	}
	o.Follow, o.Timestamps, o.Previous = boolParam("follow"), boolParam("timestamps"), boolParam("previous")
	if err != nil {
		return o, err
	}
	if v := q.Get("tail"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < -1 {
			return o, fmt.Errorf("tail %q: must be a whole number of lines, or -1 for all", v)
		}
		switch {
		case n == 0:
			o.Tail = NoLines
		case n > 0:
			o.Tail = n
		}
	}
	if v := q.Get("sinceSeconds"); v != "" {
		n, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || n <= 0 {
			return o, fmt.Errorf("sinceSeconds %q: must be a positive number of seconds", v)
		}
		o.SinceSeconds = n
	}
	if v := q.Get("sinceTime"); v != "" {
		t, perr := time.Parse(time.RFC3339Nano, v)
		if perr != nil {
			return o, fmt.Errorf("sinceTime %q: must be an RFC 3339 time such as 2026-01-02T15:04:05Z", v)
		}
		o.SinceTime = &t
	}
	if o.SinceSeconds > 0 && o.SinceTime != nil {
		return o, fmt.Errorf("sinceSeconds and sinceTime cannot be used together")
	}
	return o, nil
}
