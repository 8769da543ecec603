package reconcile

import "time"

// Clock is the time source of a Queue: the current time and timers. The
// real one is the wall clock; tests may inject a fake to drive delays
// without waiting.
//
// Timers are set for an instant rather than a duration, so that a fake
// clock stepped between the Queue reading Now and setting its timer cannot
// leave a deadline unserved.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimerAt returns a Timer that fires once the clock reaches at, at
	// once if it already has.
	NewTimerAt(at time.Time) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel on which the Timer delivers the time it fired.
	C() <-chan time.Time
	// Stop prevents the Timer from firing. It reports whether the call
	// stopped the Timer (false if it had already fired or been stopped).
	Stop() bool
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimerAt(at time.Time) Timer {
	return realTimer{time.NewTimer(time.Until(at))}
}

// realTimer is a time.Timer.
type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time { return r.t.C }
func (r realTimer) Stop() bool          { return r.t.Stop() }

var _ Clock = realClock{}
