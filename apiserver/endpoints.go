package apiserver

import (
	"net/http"
	"strconv"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// EndpointsFunc lists the services as DNS serves them: all, one service, or
// the service of one Task (see discovery.Zone.Endpoints). It is defined
// here, by its user, and wired by the command.
type EndpointsFunc func(service, task string) v1.EndpointsList

// listEndpoints serves GET /api/v1/endpoints?service=NAME&task=NAME.
func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	q := r.URL.Query()
	list := v1.EndpointsList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindEndpointsList}, Items: []v1.Endpoints{}}
	rev := s.st.TaskCache.Revision()
	if s.endpoints != nil {
		list = s.endpoints(q.Get("service"), q.Get("task"))
	}
	list.Metadata.ResourceVersion = strconv.FormatInt(rev, 10)
	writeJSON(w, http.StatusOK, list)
	return nil
}
