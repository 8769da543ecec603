// Package pki holds the cluster's certificates: the cluster CA, the
// manager's serving certificate, each worker's certificate, and the join
// token that pins the CA.
//
// # The cluster CA
//
// A manager on a new cluster creates one CA (NewCA, ECDSA P-256, valid ten
// years) and keeps it in the store, where every manager of the cluster
// finds it: managers that share a store share the CA. The CA signs each
// manager's serving certificate (IssueServer) and, at registration, each
// worker's certificate (IssueWorker) from a certificate request whose key
// never leaves the worker.
//
// # Pinning
//
// A CA is named by the SHA-256 of its public key (Hash, "sha256:HEX"), as
// kubeadm's discovery-token-ca-cert-hash does. The join token carries it
// (JoinToken): a worker that holds the token verifies the manager's
// certificate chain against the pinned CA during the TLS handshake, before
// it sends a byte (VerifyPinned). The manager presents the CA in its chain
// for that.
//
// # Verifying workers
//
// A worker's certificate carries its name as a DNS name: the manager
// verifies a worker it calls against the cluster CA with the worker's
// name, so a certificate issued to one worker does not pass for another.
package pki
