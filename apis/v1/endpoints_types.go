package v1

// Kinds of the endpoints a manager serves (read only, derived from Tasks).
const (
	KindEndpoints     = "Endpoints"
	KindEndpointsList = "EndpointsList"
)

// Endpoints is a service as DNS serves it: the Tasks labelled
// service: NAME. It is derived from the Tasks, never stored or applied.
type Endpoints struct {
	TypeMeta `json:",inline"`
	// Metadata.Name is the service: the value of the service label.
	Metadata ObjectMeta `json:"metadata"`
	// DNSName is the service's name in the cluster zone (VALUE.svc.DOMAIN);
	// empty when the manager serves no DNS.
	DNSName string `json:"dnsName,omitempty"`
	// Members are the service's Tasks that are neither finished nor being
	// deleted, ordered by name; DNS answers with the Ready ones.
	Members []EndpointMember `json:"members"`
}

// EndpointMember is one Task of a service.
type EndpointMember struct {
	// Task is the Task's name.
	Task   string `json:"task"`
	Worker string `json:"worker,omitempty"`
	HostIP string `json:"hostIP,omitempty"`
	// Ready is true when DNS answers with the Task: Running, Ready and on
	// a host with an IP address.
	Ready bool         `json:"ready"`
	Ports []PortStatus `json:"ports,omitempty"`
}

// EndpointsList is the services of the cluster, read at one revision.
type EndpointsList struct {
	TypeMeta `json:",inline"`
	Metadata ListMeta `json:"metadata"`
	// Domain is the cluster zone (minkube.); empty when the manager serves
	// no DNS.
	Domain string      `json:"domain,omitempty"`
	Items  []Endpoints `json:"items"`
}
