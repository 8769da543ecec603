package apiserver

import (
	"errors"
	"fmt"
	"net/http"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/store"
)

// apiError is an error that already knows its Status.
type apiError struct {
	status v1.Status
	// retryAfter, when set, is sent as the Retry-After header.
	retryAfter string
}

func (e *apiError) Error() string { return e.status.Error() }

func newStatus(code int, reason v1.StatusReason, format string, args ...any) *apiError {
	return &apiError{status: v1.Status{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus},
		Status:   "Failure",
		Reason:   reason,
		Code:     code,
		Message:  fmt.Sprintf(format, args...),
	}}
}

func errBadRequest(format string, args ...any) error {
	return newStatus(http.StatusBadRequest, v1.StatusReasonBadRequest, format, args...)
}

func errUnauthorized(format string, args ...any) error {
	return newStatus(http.StatusUnauthorized, v1.StatusReasonUnauthorized, format, args...)
}

func errForbidden(format string, args ...any) error {
	return newStatus(http.StatusForbidden, v1.StatusReasonForbidden, format, args...)
}

func errConflict(format string, args ...any) error {
	return newStatus(http.StatusConflict, v1.StatusReasonConflict, format, args...)
}

func errNotFound(kind, name string) error {
	return newStatus(http.StatusNotFound, v1.StatusReasonNotFound, "%s %q not found", kind, name)
}

// errInvalid reports every field problem of an object at once.
func errInvalid(kind, name string, causes v1.FieldErrors) error {
	e := newStatus(http.StatusUnprocessableEntity, v1.StatusReasonInvalid, "%s %q is invalid", kind, name)
	d := &v1.StatusDetails{Name: name, Kind: kind}
	for _, c := range causes {
		d.Causes = append(d.Causes, v1.StatusCause{Field: c.Field, Message: c.Message})
	}
	e.status.Details = d
	return e
}

// toStatus is the one place that maps an error to what the client sees.
func toStatus(err error) v1.Status {
	var ae *apiError
	var st *v1.Status
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		return ae.status
	case errors.As(err, &st):
		return *st
	case errors.As(err, &tooLarge):
		return newStatus(http.StatusRequestEntityTooLarge, v1.StatusReasonRequestEntityTooLarge,
			"request body is larger than %d bytes", tooLarge.Limit).status
	case errors.Is(err, store.ErrNotFound):
		return newStatus(http.StatusNotFound, v1.StatusReasonNotFound, "%s", err.Error()).status
	case errors.Is(err, store.ErrExists):
		return newStatus(http.StatusConflict, v1.StatusReasonAlreadyExists, "%s", err.Error()).status
	case errors.Is(err, store.ErrBeingDeleted):
		return newStatus(http.StatusConflict, v1.StatusReasonConflict, "%s", err.Error()).status
	case errors.Is(err, store.ErrConflict):
		return newStatus(http.StatusConflict, v1.StatusReasonConflict, "%s; read it again and retry", err.Error()).status
	case errors.Is(err, store.ErrCompacted):
		return newStatus(http.StatusGone, v1.StatusReasonGone, "%s; list again", err.Error()).status
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, store.ErrFenced):
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "%s; retry later", err.Error()).status
	case errors.Is(err, store.ErrClosed):
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "the manager is shutting down").status
	default:
		return newStatus(http.StatusInternalServerError, v1.StatusReasonInternalError, "%s", err.Error()).status
	}
}

// statusOf is toStatus for an error of r, which it logs when it is the
// manager's (5xx): an internal error's text stays in the log, and the
// Status carries the id it is logged under.
func (s *Server) statusOf(r *http.Request, err error) v1.Status {
	st := toStatus(err)
	if st.Code >= 500 {
		id := serve.ErrorID()
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err, "id", id)
		if st.Code == http.StatusInternalServerError {
			st.Message = "internal error: the manager logged it with id " + id
		}
	}
	return st
}

// writeError sends err as a JSON Status (statusOf).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	st := s.statusOf(r, err)
	var ae *apiError
	if errors.As(err, &ae) && ae.retryAfter != "" {
		w.Header().Set("Retry-After", ae.retryAfter)
	}
	writeJSON(w, st.Code, st)
}
