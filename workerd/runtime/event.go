package runtime

import "strconv"

// EventAttrExitCode is the key under which a die event's Labels carry the
// container's exit code, as the engine reports it.
const EventAttrExitCode = "exitCode"

// ExitCode returns the exit code a die event carries, and false when the
// event carries none (every action but die) or it is not a number.
func (e Event) ExitCode() (int, bool) {
	v, ok := e.Labels[EventAttrExitCode]
	if !ok {
		return 0, false
	}
	code, err := strconv.Atoi(v)
	if err != nil {
		return 0, false
	}
	return code, true
}
