package discovery

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Defaults of the manager's DNS flags.
const (
	DefaultDomain = "minkube."
	DefaultTTL    = 5 * time.Second
	DefaultListen = "127.0.0.1:7053"
)

// ServiceLabel is the Task label whose value names the service the Task
// belongs to: VALUE.svc.DOMAIN answers with every member.
const ServiceLabel = "service"

// Labels of the zone's subtrees.
const (
	taskLabel    = "task"
	svcLabel     = "svc"
	workerLabel  = "worker"
	managerLabel = "manager"
	nsLabel      = "ns"
	apiSRVLabel  = "_api"
)

// Zone is the cluster zone: its name, the TTL of its records and the
// addresses of its name server. Its methods build the names a Task, a
// service, a worker or a manager is known by.
type Zone struct {
	// Domain is the zone's name: lower case, fully qualified ("minkube.").
	Domain string
	// TTL is the TTL of every record, and the negative TTL (the SOA
	// minimum).
	TTL time.Duration
	// NS are the addresses of ns.DOMAIN, the zone's name server; none when
	// the server listens on every address.
	NS []net.IP
}

// NewZone checks domain and ttl and returns the zone. domain may lack the
// final dot; it is made lower case.
func NewZone(domain string, ttl time.Duration) (Zone, error) {
	d := strings.ToLower(dns.Fqdn(strings.TrimSpace(domain)))
	if _, ok := dns.IsDomainName(d); !ok || d == "." || strings.Contains(d, "..") {
		return Zone{}, fmt.Errorf("domain %q: %w", domain, ErrDomain)
	}
	if ttl < time.Second || ttl > 24*time.Hour {
		return Zone{}, fmt.Errorf("TTL %s: %w", ttl, ErrTTL)
	}
	return Zone{Domain: d, TTL: ttl}, nil
}

// Task is the name of the Task called name: NAME.task.DOMAIN.
func (z Zone) Task(name string) string { return name + "." + taskLabel + "." + z.Domain }

// TaskSRV is the SRV name of one of the Task's ports: _PORT._tcp.NAME.task.DOMAIN.
func (z Zone) TaskSRV(port string, proto v1.Protocol, name string) string {
	return srvPrefix(port, proto) + z.Task(name)
}

// Service is the name of the service VALUE: VALUE.svc.DOMAIN.
func (z Zone) Service(value string) string { return value + "." + svcLabel + "." + z.Domain }

// ServiceSRV is the SRV name of a port of the service's members.
func (z Zone) ServiceSRV(port string, proto v1.Protocol, value string) string {
	return srvPrefix(port, proto) + z.Service(value)
}

// Worker is the name of a worker: NAME.worker.DOMAIN.
func (z Zone) Worker(name string) string { return name + "." + workerLabel + "." + z.Domain }

// Manager is the name of a manager: NAME.manager.DOMAIN, with NAME made a
// DNS label (see ManagerLabel).
func (z Zone) Manager(name string) string {
	return ManagerLabel(name) + "." + managerLabel + "." + z.Domain
}

// ManagerSRV is the SRV name of the managers' API: _api._tcp.manager.DOMAIN.
func (z Zone) ManagerSRV() string { return apiSRVLabel + "._tcp." + managerLabel + "." + z.Domain }

// NSName is the zone's name server: ns.DOMAIN.
func (z Zone) NSName() string { return nsLabel + "." + z.Domain }

// Contains reports whether name (any case, with or without the final dot)
// is the zone's apex or below it.
func (z Zone) Contains(name string) bool {
	return dns.IsSubDomain(z.Domain, strings.ToLower(dns.Fqdn(name)))
}

func srvPrefix(port string, proto v1.Protocol) string {
	return "_" + port + "._" + strings.ToLower(string(proto)) + "."
}

// ManagerLabel turns a manager's name into a DNS label: lower case, with
// every character other than a-z, 0-9 and '-' replaced by '-', at most 63
// characters, "manager" when nothing is left.
func ManagerLabel(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	s := strings.Trim(string(b[:min(len(b), 63)]), "-")
	if s == "" {
		return managerLabel
	}
	return s
}

// nameKind is what a name in the zone stands for.
type nameKind int

const (
	kindNone         nameKind = iota // no such name
	kindApex                         // DOMAIN: SOA, NS
	kindNS                           // ns.DOMAIN
	kindEmpty                        // a structural name with no records (task.DOMAIN, ...)
	kindTask                         // NAME.task
	kindTaskProto                    // _tcp.NAME.task: exists when NAME has such a port
	kindTaskSRV                      // _PORT._tcp.NAME.task
	kindService                      // VALUE.svc
	kindServiceProto                 // _tcp.VALUE.svc
	kindServiceSRV                   // _PORT._tcp.VALUE.svc
	kindWorker                       // NAME.worker
	kindManager                      // NAME.manager
	kindManagerSRV                   // _api._tcp.manager
)

// parsedName is a name in the zone, taken apart.
type parsedName struct {
	kind  nameKind
	name  string      // the Task, service value, worker or manager label
	port  string      // the port name of an SRV name, without "_"
	proto v1.Protocol // of an SRV or proto name
}

// parse takes apart a lower-case, fully qualified name inside the zone.
func (z Zone) parse(qname string) parsedName {
	rel := strings.TrimSuffix(strings.TrimSuffix(qname, z.Domain), ".")
	if rel == "" {
		return parsedName{kind: kindApex}
	}
	l := strings.Split(rel, ".")
	// Walk from the right: the subtree label comes last.
	n := len(l)
	sub := l[n-1]
	switch {
	case n == 1 && sub == nsLabel:
		return parsedName{kind: kindNS}
	case n == 1 && (sub == taskLabel || sub == svcLabel || sub == workerLabel || sub == managerLabel):
		return parsedName{kind: kindEmpty}
	case sub == workerLabel && n == 2:
		return parsedName{kind: kindWorker, name: l[0]}
	case sub == managerLabel && n == 2 && l[0] == "_tcp":
		return parsedName{kind: kindEmpty}
	case sub == managerLabel && n == 2:
		return parsedName{kind: kindManager, name: l[0]}
	case sub == managerLabel && n == 3 && l[0] == apiSRVLabel && l[1] == "_tcp":
		return parsedName{kind: kindManagerSRV}
	case sub == taskLabel || sub == svcLabel:
		kinds := [3]nameKind{kindTask, kindTaskProto, kindTaskSRV}
		if sub == svcLabel {
			kinds = [3]nameKind{kindService, kindServiceProto, kindServiceSRV}
		}
		owner := l[n-2]
		if strings.HasPrefix(owner, "_") {
			return parsedName{}
		}
		switch n {
		case 2:
			return parsedName{kind: kinds[0], name: owner}
		case 3:
			if proto, ok := protoLabel(l[0]); ok {
				return parsedName{kind: kinds[1], name: owner, proto: proto}
			}
		case 4:
			proto, ok := protoLabel(l[1])
			if ok && len(l[0]) > 1 && l[0][0] == '_' {
				return parsedName{kind: kinds[2], name: owner, port: l[0][1:], proto: proto}
			}
		}
	}
	return parsedName{}
}

func protoLabel(s string) (v1.Protocol, bool) {
	switch s {
	case "_tcp":
		return v1.ProtocolTCP, true
	case "_udp":
		return v1.ProtocolUDP, true
	}
	return "", false
}
