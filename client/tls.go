package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/minkube/minkube/pki"
)

// TLS says how a client verifies the server it calls over HTTPS. The
// zero value verifies it against the system's roots, as a browser does.
type TLS struct {
	// CAData is the PEM of the CA certificates that verify the server:
	// the certificate-authority-data of mkctl's config, or the cluster
	// CA a manager verifies its workers with.
	CAData string
	// CAHash pins one CA by its hash (pki.Hash, what a join token
	// carries): the server must present that CA in its certificate chain
	// and its certificate must verify up to it, before anything is sent.
	// It takes the place of CAData. A pinning client never goes through
	// a proxy.
	CAHash string
	// ServerName, when set, is the name the server's certificate must
	// carry instead of the URL's host: a worker's name, which its
	// certificate is issued for.
	ServerName string
}

// WithTLS makes the client verify the server it calls as t says. Clients
// with equal TLS share one keep-alive transport. It has no effect with
// WithHTTPClient.
func WithTLS(t TLS) Option {
	return func(o *options) { o.tls = t }
}

// configure sets up tr to verify servers as t says.
func (t TLS) configure(tr *http.Transport) error {
	if t.CAHash != "" {
		// The pinned CA is checked with the host the connection is for,
		// which a VerifyConnection function does not see: the TLS
		// connection is made here, per host.
		dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
		tr.DialTLSContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			raw, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			name := host
			if t.ServerName != "" {
				name = t.ServerName
			}
			conn := tls.Client(raw, &tls.Config{
				ServerName:         sniName(name),
				InsecureSkipVerify: true, // replaced by the pinned verification
				VerifyConnection:   pki.VerifyPinned(t.CAHash, name),
				NextProtos:         []string{"http/1.1"},
				MinVersion:         tls.VersionTLS12,
			})
			hctx, cancel := context.WithTimeout(ctx, tr.TLSHandshakeTimeout)
			defer cancel()
			if err := conn.HandshakeContext(hctx); err != nil {
				raw.Close()
				return nil, err
			}
			return conn, nil
		}
		return nil
	}
	cfg := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CAData != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(t.CAData)) {
			return fmt.Errorf("certificate authority: %w", ErrNoCertificates)
		}
		cfg.RootCAs = pool
	}
	tr.TLSClientConfig = cfg
	return nil
}

// sniName is name as a TLS server name: none for an IP address.
func sniName(name string) string {
	if net.ParseIP(name) != nil {
		return ""
	}
	return name
}

// Untrusted reports whether err says the server's certificate did not
// verify against the CA the client trusts: no request was sent.
func Untrusted(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) || errors.As(err, &ci)
}

// plainHTTPAnswer is what a Go TLS server answers a plain HTTP request
// with; a client that gets it called an HTTPS server with http://.
const plainHTTPAnswer = "Client sent an HTTP request to an HTTPS server."
