package apiserver

import (
	"errors"
	"net/http"

	v1 "github.com/minkube/minkube/apis/v1"
)

// taskWorker returns the worker t is assigned to and the credential the
// manager presents to it, for a request the manager passes on to that
// worker (logs, exec).
func (s *Server) taskWorker(t *v1.Task) (*v1.Worker, *v1.Credential, error) {
	wk, ok := s.st.WorkerCache.Get(t.Status.Worker)
	cred, okc := s.st.CredentialCache.Get(t.Status.Worker)
	if !ok || !okc || cred.Revoked() {
		return nil, nil, newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable,
			"worker %q of task %q is not registered", t.Status.Worker, t.Metadata.Name)
	}
	return wk, cred, nil
}

// workerFailure words the error of a request passed on to worker, about
// what ("logs of task \"web\""): the worker's refusal of the request (a
// 4xx: no previous run, a container not running) is the user's to read,
// except 401, which is about the manager's own credential; anything else
// means the worker could not be asked, 503.
func workerFailure(err error, what, worker string) error {
	var refused *v1.Status
	if errors.As(err, &refused) && refused.Code >= 400 && refused.Code < 500 && refused.Code != http.StatusUnauthorized {
		return newStatus(refused.Code, refused.Reason, "%s: %s", what, refused.Message)
	}
	return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "%s on worker %q: %v", what, worker, err)
}
