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

// StatusDetails lists the causes of an Invalid error.
type StatusDetails struct {
	Name   string        `json:"name,omitempty"`
	Kind   string        `json:"kind,omitempty"`
	Causes []StatusCause `json:"causes,omitempty"`
}

// StatusCause is one problem with one field.
type StatusCause struct {
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
