package v1

import "time"

// Kinds of the managers list.
const (
	KindManager     = "Manager"
	KindManagerList = "ManagerList"
)

// Manager is one manager process that is up: it serves the API at
// Address, and Leader is true for the one running the controllers. The
// list is observed, not declared: a manager is listed while it keeps the
// lease of its entry alive (with --store etcd), and only the manager
// holding the controllers' election is the leader.
type Manager struct {
	// Name is the manager's name (--etcd-name, or the host name).
	Name string `json:"name"`
	// Address is the base URL of the manager's API, as workers and mkctl
	// call it (https://127.0.0.1:7070).
	Address string `json:"address"`
	// Leader is true for the manager that runs the controllers.
	Leader bool `json:"leader"`
	// Ready is true when the manager has loaded its state and reaches a
	// store that can commit writes (what /readyz answers).
	Ready bool `json:"ready"`
	// StartTime is when the manager process started.
	StartTime *time.Time `json:"startTime,omitempty"`
}

// ManagerList is the answer of GET /api/v1/managers, ordered by name.
type ManagerList struct {
	TypeMeta `json:",inline"`
	Items    []Manager `json:"items"`
}

// JoinRequest is the body of POST /api/v1/managers: a new manager asking
// for its embedded etcd member to be added to the cluster's etcd.
type JoinRequest struct {
	// Name is the new member's name (its --etcd-name).
	Name string `json:"name"`
	// PeerURL is where the other members reach the new one
	// (its --etcd-listen-peer).
	PeerURL string `json:"peerURL"`
}

// JoinResponse answers a JoinRequest: the new member starts with this
// --etcd-initial-cluster and --etcd-initial-cluster-state existing.
type JoinResponse struct {
	InitialCluster string `json:"initialCluster"`
}
