package v1

import "fmt"

// StatusReason is the machine word of an API error.
type StatusReason string

// Status reasons and the HTTP code each goes with.
const (
	StatusReasonInvalid               StatusReason = "Invalid"               // 422
	StatusReasonBadRequest            StatusReason = "BadRequest"            // 400
	StatusReasonUnauthorized          StatusReason = "Unauthorized"          // 401
	StatusReasonForbidden             StatusReason = "Forbidden"             // 403
	StatusReasonNotFound              StatusReason = "NotFound"              // 404
	StatusReasonAlreadyExists         StatusReason = "AlreadyExists"         // 409
	StatusReasonConflict              StatusReason = "Conflict"              // 409
	StatusReasonRequestEntityTooLarge StatusReason = "RequestEntityTooLarge" // 413
	StatusReasonInsufficientStorage   StatusReason = "InsufficientStorage"   // 507
	StatusReasonInternalError         StatusReason = "InternalError"         // 500
	StatusReasonServiceUnavailable    StatusReason = "ServiceUnavailable"    // 503
	StatusReasonGone                  StatusReason = "Gone"                  // 410: watch revision compacted
	StatusReasonTooManyRequests       StatusReason = "TooManyRequests"       // 429: too many failed authentications
)

// Reasons of a StatusCause.
const (
	// CauseWorkerDeleted is the cause of a registration refused because
	// the worker was deleted (mkctl delete worker): the worker stops what
	// it runs and does not come back by itself.
	CauseWorkerDeleted = "WorkerDeleted"
)

// Status is the body of every API error, in the Kubernetes shape. It is also
// an error, so a client can return what the server said.
type Status struct {
	TypeMeta `json:",inline"`
	Status   string         `json:"status"`
	Reason   StatusReason   `json:"reason"`
	Code     int            `json:"code"`
	Message  string         `json:"message"`
	Details  *StatusDetails `json:"details,omitempty"`
}

// StatusDetails lists the causes of an error: the fields of an Invalid
// one, or what a refusal is about.
type StatusDetails struct {
	Name   string        `json:"name,omitempty"`
	Kind   string        `json:"kind,omitempty"`
	Causes []StatusCause `json:"causes,omitempty"`
}

// StatusCause is one problem with one field.
type StatusCause struct {
	// Reason, when set, is a machine word for the cause
	// (CauseWorkerDeleted).
	Reason  string `json:"reason,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error renders the status as one line, with its causes.
func (s *Status) Error() string {
	msg := s.Message
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			msg += fmt.Sprintf("; %s: %s", c.Field, c.Message)
		}
	}
	return msg
}
