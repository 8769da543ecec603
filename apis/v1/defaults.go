package v1

// Defaults that SetTaskDefaults fills in.
const (
	// DefaultPeriodSeconds is how often a health check runs.
	DefaultPeriodSeconds = 10
	// DefaultTimeoutSeconds is how long one health check may take.
	DefaultTimeoutSeconds = 2
	// DefaultFailureThreshold is how many failed checks in a row make a
	// Task unhealthy.
	DefaultFailureThreshold = 3
)

// SetTaskDefaults fills in the spec fields a manifest may leave out:
// restartPolicy Always, port protocol TCP, and the health check timing
// (periodSeconds 10, timeoutSeconds 2, failureThreshold 3) when zero. It
// changes nothing else: metadata and status are left alone. It is
// idempotent and does nothing for a nil Task.
func SetTaskDefaults(t *Task) {
	if t == nil {
		return
	}
	setSpecDefaults(&t.Spec)
}

func setSpecDefaults(s *TaskSpec) {
	if s.RestartPolicy == "" {
		s.RestartPolicy = RestartAlways
	}
	for i := range s.Ports {
		if s.Ports[i].Protocol == "" {
			s.Ports[i].Protocol = ProtocolTCP
		}
	}
	if hc := s.HealthCheck; hc != nil {
		if hc.PeriodSeconds == 0 {
			hc.PeriodSeconds = DefaultPeriodSeconds
		}
		if hc.TimeoutSeconds == 0 {
			hc.TimeoutSeconds = DefaultTimeoutSeconds
		}
		if hc.FailureThreshold == 0 {
			hc.FailureThreshold = DefaultFailureThreshold
		}
	}
}
