package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/moby/sys/atomicwriter"
	"github.com/spf13/cobra"

	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/store"
)

// Files the manager writes in its data dir.
const (
	// caFileName is the CA clients verify the manager with (curl
	// --cacert DATA-DIR/ca.crt).
	caFileName = "ca.crt"
	// serverCertName and serverKeyName are the manager's serving
	// certificate and key, issued by the cluster CA.
	serverCertName = "server.crt"
	serverKeyName  = "server.key"
)

// tlsFlags are the manager's TLS flags.
type tlsFlags struct {
	certFile, keyFile, caFile string
	sans                      []string
}

func (c *tlsFlags) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&c.certFile, "tls-cert-file", "", "serving certificate of the API (PEM, with its chain), instead of one the cluster CA issues (with --tls-key-file and --tls-ca-file)")
	f.StringVar(&c.keyFile, "tls-key-file", "", "key of --tls-cert-file")
	f.StringVar(&c.caFile, "tls-ca-file", "", "CA that signed --tls-cert-file: what mkctl and workers verify the manager with, and what the join token pins")
	f.StringSliceVar(&c.sans, "tls-san", nil, "more host names or addresses for the serving certificate the cluster CA issues (a load balancer's), comma-separated")
}

// managerTLS is how the manager serves its API and how its clients verify
// it.
type managerTLS struct {
	// cluster is the cluster CA: it signs the workers' certificates, and
	// the manager verifies the workers it calls with it.
	cluster *pki.CA
	// config serves the API.
	config *tls.Config
	// caPEM is what clients verify the manager with: the cluster CA, or
	// --tls-ca-file; caHash is its hash, which the join token pins.
	caPEM  []byte
	caHash string
}

// setupTLS readies the manager's TLS: the cluster CA from the store (made
// on a new cluster), and the serving certificate: the one the flags bring,
// or one the cluster CA issues for hosts, kept in the data dir and issued
// again when it no longer fits. It writes the CA clients verify with to
// DATA-DIR/ca.crt.
func setupTLS(ctx context.Context, c tlsFlags, dataDir string, db store.Store, hosts []string, log *slog.Logger) (*managerTLS, error) {
	stored, err := store.EnsureClusterCA(ctx, db, func() ([]byte, []byte, error) {
		return pki.NewCA("minkube cluster CA", time.Now())
	})
	if err != nil {
		return nil, err
	}
	cluster, err := pki.ParseCA([]byte(stored.Certificate), []byte(stored.Key))
	if err != nil {
		return nil, fmt.Errorf("the cluster CA in the store: %w", err)
	}
	out := &managerTLS{cluster: cluster}
	var pair tls.Certificate
	if c.certFile != "" || c.keyFile != "" || c.caFile != "" {
		pair, out.caPEM, out.caHash, err = c.ownCertificate()
	} else {
		pair, err = servingCertificate(cluster, dataDir, hosts, log)
		out.caPEM, out.caHash = cluster.CertPEM, cluster.Hash()
	}
	if err != nil {
		return nil, err
	}
	if err := writeFileAtomic(filepath.Join(dataDir, caFileName), out.caPEM, 0o644); err != nil {
		return nil, err
	}
	out.config = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	return out, nil
}

// ownCertificate reads the certificate, key and CA the flags bring, and
// checks that they go together. It returns the serving certificate, and
// the CA as PEM with the hash of its first certificate, which the join
// token pins.
func (c tlsFlags) ownCertificate() (pair tls.Certificate, caPEM []byte, caHash string, err error) {
	if c.certFile == "" || c.keyFile == "" || c.caFile == "" {
		return tls.Certificate{}, nil, "", errors.New("--tls-cert-file, --tls-key-file and --tls-ca-file go together: the CA is what mkctl and the workers verify the manager with")
	}
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-cert-file: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-key-file: %w", err)
	}
	caPEM, err = os.ReadFile(c.caFile)
	if err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-ca-file: %w", err)
	}
	cas, err := pki.ParseCertificates(caPEM)
	if err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-ca-file %s: %w", c.caFile, err)
	}
	pair, err = pki.KeyPair(certPEM, keyPEM, cas...)
	if err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-cert-file %s and --tls-key-file %s: %w", c.certFile, c.keyFile, err)
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, ca := range cas {
		roots.AddCert(ca)
	}
	for _, der := range pair.Certificate[1:] {
		if cert, err := x509.ParseCertificate(der); err == nil {
			inter.AddCert(cert)
		}
	}
	if _, err := pair.Leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return tls.Certificate{}, nil, "", fmt.Errorf("--tls-cert-file %s does not verify against --tls-ca-file %s: %w", c.certFile, c.caFile, err)
	}
	return pair, caPEM, pki.Hash(cas[0]), nil
}

// servingCertificate returns the manager's certificate from the data dir
// when the cluster CA issued it for every host of hosts and it has life
// left, else a new one it writes there.
func servingCertificate(ca *pki.CA, dataDir string, hosts []string, log *slog.Logger) (tls.Certificate, error) {
	certPath, keyPath := filepath.Join(dataDir, serverCertName), filepath.Join(dataDir, serverKeyName)
	certPEM, cerr := os.ReadFile(certPath)
	keyPEM, kerr := os.ReadFile(keyPath)
	if cerr == nil && kerr == nil {
		pair, err := pki.KeyPair(certPEM, keyPEM, ca.Cert)
		if err == nil && pki.Reusable(pair.Leaf, ca.Cert, hosts, time.Now()) {
			return pair, nil
		}
	} else if (cerr != nil && !errors.Is(cerr, fs.ErrNotExist)) || (kerr != nil && !errors.Is(kerr, fs.ErrNotExist)) {
		return tls.Certificate{}, fmt.Errorf("--data-dir %s: %w", dataDir, errors.Join(cerr, kerr))
	}
	key, err := pki.NewKey()
	if err != nil {
		return tls.Certificate{}, err
	}
	if certPEM, err = ca.IssueServer("minkube manager", hosts, key.Public(), time.Now()); err != nil {
		return tls.Certificate{}, err
	}
	if keyPEM, err = pki.EncodeKey(key); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	log.Info("issued the manager's serving certificate", "path", certPath, "hosts", hosts)
	return pki.KeyPair(certPEM, keyPEM, ca.Cert)
}

// servingHosts are the names the manager's certificate is issued for:
// the address it listens on (every address of the host when it listens on
// all of them), the host it advertises, the loopback names, the host's
// name and extra (--tls-san).
func servingHosts(listen net.Addr, advertise string, extra []string) []string {
	candidates := []string{"127.0.0.1", "::1", "localhost"}
	if name, err := os.Hostname(); err == nil {
		candidates = append(candidates, name)
	}
	if tcp, ok := listen.(*net.TCPAddr); ok {
		if tcp.IP.IsUnspecified() {
			addrs, _ := net.InterfaceAddrs()
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok {
					candidates = append(candidates, ipn.IP.String())
				}
			}
		} else {
			candidates = append(candidates, tcp.IP.String())
		}
	}
	if advertise != "" {
		host, _, err := net.SplitHostPort(advertise)
		if err != nil {
			host = advertise
		}
		candidates = append(candidates, host)
	}
	var hosts []string
	for _, h := range append(candidates, extra...) {
		if h != "" && !slices.Contains(hosts, h) {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

// writeFileAtomic replaces path with data, mode perm, so a reader sees the
// old content or the new; it makes the directory when missing.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := atomicwriter.WriteFile(path, data, perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
