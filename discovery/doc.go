// Package discovery is Minkube's DNS: the manager's authoritative server for
// the cluster zone, the resolver a worker uses to find the managers through
// SRV, and the forwarder a worker gives its containers.
//
// # The zone
//
// The manager serves one zone, --dns-domain (default "minkube."), from its
// caches, so an answer follows a status change as soon as the cache holds
// it:
//
//	NAME.task.minkube.              A/AAAA  the host of the worker running Task NAME
//	_PORT._tcp.NAME.task.minkube.   SRV     that host and the task's host port (also _udp)
//	VALUE.svc.minkube.              A/AAAA  every answering Task labelled service: VALUE
//	VALUE.svc.minkube.              PTR     those Tasks' NAME.task.minkube. names
//	_PORT._tcp.VALUE.svc.minkube.   SRV     one record per member
//	NAME.worker.minkube.            A/AAAA  a Ready worker's address
//	NAME.manager.minkube.           A/AAAA  a manager that is up
//	_api._tcp.manager.minkube.      SRV     every manager that is up
//
// A Task answers while it is Running and Ready and its host is an IP
// address. The apex has SOA and NS records; a name with no records is
// NXDOMAIN, a type a name lacks is NODATA (NOERROR with the SOA in the
// authority section, whose minimum is the negative TTL); names outside the
// zone are REFUSED and nothing is resolved recursively. Answers over UDP fit
// the size the client allows (512 bytes, or its EDNS0 buffer) and are
// truncated otherwise, so the client asks again over TCP.
//
// Records are built by pure functions of a Source, an interface the
// manager's caches satisfy; the package imports nothing of the project but
// apis, so workerd may use its resolver and forwarder.
//
// # Finding the managers
//
// A worker started with --manager dns+srv://_api._tcp.manager.minkube asks
// --dns-server for the SRV set, orders it as RFC 2782 says (lowest priority
// first, then a weighted random order within a priority), and resolves again
// periodically and whenever no manager answers (SRVEndpoints).
//
// # Containers
//
// A worker gives its containers a Forwarder as their resolver: names in the
// cluster zone are asked of the manager and the answers rewritten to
// addresses a container on that worker can reach (Rewrite); everything else
// goes to the host's resolvers.
package discovery
