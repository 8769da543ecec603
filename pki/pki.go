package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// Lifetimes of what the package issues.
const (
	// CALifetime is how long a CA made by NewCA is valid.
	CALifetime = 10 * 365 * 24 * time.Hour
	// CertLifetime is how long a serving or worker certificate is valid.
	CertLifetime = 365 * 24 * time.Hour
	// backdate starts a certificate's validity a little before it is
	// issued, for hosts whose clocks are slightly behind.
	backdate = 5 * time.Minute
)

// PEM block types.
const (
	blockCertificate = "CERTIFICATE"
	blockKey         = "PRIVATE KEY"
	blockRequest     = "CERTIFICATE REQUEST"
)

// CA is a certificate authority that signs the cluster's certificates.
type CA struct {
	// Cert is the CA's certificate.
	Cert *x509.Certificate
	// CertPEM is Cert as PEM, what clients are given to verify with.
	CertPEM []byte
	key     crypto.Signer
}

// NewCA creates a CA named commonName, valid for CALifetime from now, and
// returns its certificate and private key as PEM.
func NewCA(commonName string, now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := NewKey()
	if err != nil {
		return nil, nil, err
	}
	tmpl := template(commonName, now, CALifetime)
	tmpl.KeyUsage |= x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	tmpl.BasicConstraintsValid = true
	tmpl.IsCA = true
	tmpl.MaxPathLenZero = true
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("create the CA certificate: %w", err)
	}
	keyPEM, err = EncodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return encodeCert(der), keyPEM, nil
}

// ParseCA reads a CA's certificate and private key. It fails when the
// certificate is not a CA's or the key is not its key.
func ParseCA(certPEM, keyPEM []byte) (*CA, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w", err)
	}
	cert := certs[0]
	if !cert.IsCA {
		return nil, fmt.Errorf("CA certificate %q: %w", cert.Subject.CommonName, ErrNotCA)
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !samePublicKey(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("CA key: %w", ErrKeyMismatch)
	}
	return &CA{Cert: cert, CertPEM: encodeCert(cert.Raw), key: key}, nil
}

// Hash returns the CA's hash (see Hash).
func (ca *CA) Hash() string { return Hash(ca.Cert) }

// IssueServer signs a serving certificate for the public key pub, valid
// for CertLifetime from now, for every host of hosts (IP addresses and DNS
// names), and returns it as PEM.
func (ca *CA) IssueServer(commonName string, hosts []string, pub crypto.PublicKey, now time.Time) ([]byte, error) {
	tmpl := template(commonName, now, CertLifetime)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	addHosts(tmpl, hosts)
	return ca.sign(tmpl, pub)
}

// IssueWorker signs the certificate of worker name from its certificate
// request (PEM): the request's key, with the worker's name as a DNS name
// and host (where the manager reaches it, an IP address or a DNS name)
// beside it; whatever else the request asks for is ignored. It fails when
// the request is malformed or its signature does not verify.
func (ca *CA) IssueWorker(name, host string, csrPEM []byte, now time.Time) ([]byte, error) {
	block, _ := pem.Decode(csrPEM)
	if block == nil || block.Type != blockRequest {
		return nil, fmt.Errorf("certificate request: %w", ErrNoPEM)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	tmpl := template(name, now, CertLifetime)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	addHosts(tmpl, []string{name, host})
	return ca.sign(tmpl, csr.PublicKey)
}

// template is what every certificate the package makes has: a fresh
// serial, commonName of minkube, valid for lifetime from now (backdated),
// for digital signatures.
func template(commonName string, now time.Time, lifetime time.Duration) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"minkube"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
}

func (ca *CA) sign(tmpl *x509.Certificate, pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.key)
	if err != nil {
		return nil, fmt.Errorf("sign the certificate of %q: %w", tmpl.Subject.CommonName, err)
	}
	return encodeCert(der), nil
}

// addHosts puts each host in the certificate as an IP address or a DNS
// name, once.
func addHosts(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(tmpl.IPAddresses, ip.Equal) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if !slices.Contains(tmpl.DNSNames, h) {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

// SelfSigned returns a certificate (PEM) for key, signed by key itself,
// naming commonName: what a server presents while it has no certificate
// of its CA yet, which no client that verifies will trust.
func SelfSigned(commonName string, key crypto.Signer, now time.Time) ([]byte, error) {
	tmpl := template(commonName, now, CertLifetime)
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create a self-signed certificate: %w", err)
	}
	return encodeCert(der), nil
}

// NewKey generates an ECDSA P-256 private key.
func NewKey() (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate a key: %w", err)
	}
	return key, nil
}

// EncodeKey returns key as a PKCS #8 PEM block.
func EncodeKey(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode a key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockKey, Bytes: der}), nil
}

// ParseKey reads a private key from PEM: PKCS #8, or the EC and RSA forms
// of OpenSSL.
func ParseKey(data []byte) (crypto.Signer, error) {
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return nil, fmt.Errorf("private key: %w", ErrNoPEM)
		}
		var key any
		var err error
		switch block.Type {
		case blockKey:
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("private key: %w", err)
		}
		signer, ok := key.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("private key: %T cannot sign", key)
		}
		return signer, nil
	}
}

// NewCertificateRequest returns a certificate request (PEM) for name,
// signed with key: what a worker sends at registration.
func NewCertificateRequest(name string, key crypto.Signer) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
	}, key)
	if err != nil {
		return nil, fmt.Errorf("create a certificate request: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: blockRequest, Bytes: der}), nil
}

// ParseCertificates reads every certificate of data (PEM), in order. It
// fails when there is none.
func ParseCertificates(data []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		if block.Type != blockCertificate {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate: %w", err)
		}
		out = append(out, cert)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("certificate: %w", ErrNoPEM)
	}
	return out, nil
}

// Hash names a CA by its public key: "sha256:" and the hex SHA-256 of
// its DER SubjectPublicKeyInfo, the form of kubeadm's
// discovery-token-ca-cert-hash (openssl x509 -pubkey | openssl pkey
// -pubin -outform der | sha256sum).
func Hash(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// KeyPair builds the certificate a TLS server presents from its
// certificate chain and key (PEM), followed by the certificates of extra
// that the chain does not hold yet (the CA, which pinning clients look
// for in the chain). It fails when the key is not the certificate's.
func KeyPair(certPEM, keyPEM []byte, extra ...*x509.Certificate) (tls.Certificate, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ParseKey(keyPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	if !samePublicKey(certs[0].PublicKey, key.Public()) {
		return tls.Certificate{}, ErrKeyMismatch
	}
	out := tls.Certificate{PrivateKey: key, Leaf: certs[0]}
	for _, c := range certs {
		out.Certificate = append(out.Certificate, c.Raw)
	}
	for _, c := range extra {
		if !slices.ContainsFunc(certs, c.Equal) {
			out.Certificate = append(out.Certificate, c.Raw)
		}
	}
	return out, nil
}

// Reusable reports whether a serving certificate can go on being served:
// ca signed it, it names every host of hosts, and more than a third of its
// life is left.
func Reusable(cert, ca *x509.Certificate, hosts []string, now time.Time) bool {
	if cert.CheckSignatureFrom(ca) != nil || RenewDue(cert, now) {
		return false
	}
	for _, h := range hosts {
		if h != "" && cert.VerifyHostname(h) != nil {
			return false
		}
	}
	return true
}

// RenewDue reports whether less than a third of cert's life is left: it
// is time to get a new one.
func RenewDue(cert *x509.Certificate, now time.Time) bool {
	life := cert.NotAfter.Sub(cert.NotBefore)
	return now.After(cert.NotAfter.Add(-life / 3))
}

// VerifyPinned returns a tls.Config VerifyConnection function for a
// client that trusts one CA, named by its hash (Hash), and calls host (an
// IP address or a DNS name): the server must present that CA in its
// certificate chain, and its certificate must verify up to it for host.
// With it the client sets InsecureSkipVerify, which turns off only the
// verification against the system's roots; this one takes its place. A
// failure is a *tls.CertificateVerificationError, as the standard
// verification's is.
func VerifyPinned(caHash, host string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		fail := func(err error) error {
			return &tls.CertificateVerificationError{UnverifiedCertificates: cs.PeerCertificates, Err: err}
		}
		if len(cs.PeerCertificates) == 0 {
			return fail(errors.New("the server presented no certificate"))
		}
		roots, inter := x509.NewCertPool(), x509.NewCertPool()
		pinned := false
		for i, c := range cs.PeerCertificates {
			switch {
			case c.IsCA && Hash(c) == caHash:
				roots.AddCert(c)
				pinned = true
			case i > 0:
				inter.AddCert(c)
			}
		}
		if !pinned {
			return fail(fmt.Errorf("%w %s", ErrPinMismatch, caHash))
		}
		if _, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{
			Roots: roots, Intermediates: inter, DNSName: host,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			return fail(err)
		}
		return nil
	}
}

func encodeCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: blockCertificate, Bytes: der})
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails
	return n
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ka, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ka.Equal(b)
}
