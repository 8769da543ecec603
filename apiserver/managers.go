package apiserver

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Managers lists the managers that are up. It is defined here, by its
// user; the etcd registry implements it for several managers, and a lone
// manager on the embedded store answers with itself.
type Managers interface {
	// Managers returns every manager that is up, ordered by name, with
	// Leader true on the one running the controllers.
	Managers(ctx context.Context) ([]v1.Manager, error)
}

// Members adds etcd members for managers that join. It is defined here,
// by its user; the etcd store implements it.
type Members interface {
	// AddMember adds a member called name at peerURL and returns the
	// --etcd-initial-cluster it must start with.
	AddMember(ctx context.Context, name, peerURL string) (string, error)
}

// joinManager serves POST /api/v1/managers: a new manager's embedded etcd
// member is added to the cluster.
func (s *Server) joinManager(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	if s.members == nil {
		return errBadRequest("this manager runs alone on its embedded store: start it with --store etcd to add managers")
	}
	var req v1.JoinRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var causes v1.FieldErrors
	if err := v1.ValidateWorkerName(req.Name); err != nil {
		causes = append(causes, v1.FieldError{Field: "name", Message: err.Error()})
	}
	if u, err := url.Parse(req.PeerURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		causes = append(causes, v1.FieldError{Field: "peerURL", Message: "must be the new member's peer URL, such as http://10.0.0.4:2380"})
	}
	if len(causes) > 0 {
		return errInvalid("Manager", req.Name, causes)
	}
	cluster, err := s.members.AddMember(r.Context(), req.Name, req.PeerURL)
	if err != nil {
		return err
	}
	s.log.Info("added an etcd member for a joining manager", "name", req.Name, "peer", req.PeerURL)
	writeJSON(w, http.StatusOK, v1.JoinResponse{InitialCluster: cluster})
	return nil
}

// SoleManager is the Managers of a manager that runs alone (the embedded
// store): itself, leading, ready when Ready says so.
type SoleManager struct {
	Name, Address string
	StartTime     *time.Time
	Ready         func() bool
}

// Managers returns the one manager.
func (m *SoleManager) Managers(context.Context) ([]v1.Manager, error) {
	return []v1.Manager{{Name: m.Name, Address: m.Address, Leader: true, Ready: m.Ready(), StartTime: m.StartTime}}, nil
}

// listManagers serves GET /api/v1/managers.
func (s *Server) listManagers(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	items, err := s.managers.Managers(r.Context())
	if err != nil {
		return err
	}
	if items == nil {
		items = []v1.Manager{}
	}
	writeJSON(w, http.StatusOK, &v1.ManagerList{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindManagerList},
		Items:    items,
	})
	return nil
}

// managerURLs returns the API URLs a worker may fail over to: the ready
// managers, or every manager that is up when none says it is ready. An
// error leaves the list out; the worker keeps the one it has.
func (s *Server) managerURLs(ctx context.Context) []string {
	ms, err := s.managers.Managers(ctx)
	if err != nil {
		return nil
	}
	var ready, all []string
	for _, m := range ms {
		if m.Address == "" {
			continue
		}
		all = append(all, m.Address)
		if m.Ready {
			ready = append(ready, m.Address)
		}
	}
	if len(ready) > 0 {
		return ready
	}
	return all
}

// storeHealth refuses a request when the store says it cannot serve: the
// caches would answer reads from a copy that may be stale, and writes
// would not commit.
func (s *Server) storeHealth() error {
	if s.health == nil {
		return nil
	}
	if err := s.health(); err != nil {
		return newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable,
			"%v; this manager refuses reads and writes until the store answers again, since what it holds may be stale", err)
	}
	return nil
}
