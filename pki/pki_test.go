package pki_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/pki/pkitest"
)

// now is when the certificates of the tests are issued: the CAs of pkitest
// are valid from the moment they are made.
var now = time.Now()

func mustCert(t *testing.T, data []byte) *x509.Certificate {
	t.Helper()
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		t.Fatal(err)
	}
	return certs[0]
}

func TestParseCA_RefusesAnotherKey(t *testing.T) {
	certPEM, _, err := pki.NewCA("a", now)
	if err != nil {
		t.Fatal(err)
	}
	_, otherKey, err := pki.NewCA("b", now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.ParseCA(certPEM, otherKey); !errors.Is(err, pki.ErrKeyMismatch) {
		t.Errorf("ParseCA with another CA's key: %v, want ErrKeyMismatch", err)
	}
	if _, err := pki.ParseCA([]byte("junk"), otherKey); !errors.Is(err, pki.ErrNoPEM) {
		t.Errorf("ParseCA of junk: %v, want ErrNoPEM", err)
	}
}

func TestIssueServer(t *testing.T) {
	ca := pkitest.NewCA(t)
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.IssueServer("manager", []string{"127.0.0.1", "localhost", "10.0.0.1", "127.0.0.1"}, key.Public(), now)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustCert(t, certPEM)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, host := range []string{"127.0.0.1", "localhost", "10.0.0.1"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "10.0.0.2", CurrentTime: now}); err == nil {
		t.Error("the certificate verifies for 10.0.0.2, which it was not issued for")
	}
	if len(cert.IPAddresses) != 2 {
		t.Errorf("IP addresses %v: want each once", cert.IPAddresses)
	}
}

func TestIssueWorker_NamesOnlyTheWorker(t *testing.T) {
	ca := pkitest.NewCA(t)
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	// A request that asks for another worker's name gets its own only.
	csr, err := pki.NewCertificateRequest("worker-2", key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.IssueWorker("worker-1", "10.0.0.7", csr, now)
	if err != nil {
		t.Fatal(err)
	}
	cert := mustCert(t, certPEM)
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "worker-1", CurrentTime: now}); err != nil {
		t.Errorf("verify as worker-1: %v", err)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "worker-2", CurrentTime: now}); err == nil {
		t.Error("a certificate issued to worker-1 verifies as worker-2")
	}
	if _, err := pki.KeyPair(certPEM, must(pki.EncodeKey(key))); err != nil {
		t.Errorf("KeyPair of the worker's key and certificate: %v", err)
	}
	otherKey, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pki.KeyPair(certPEM, must(pki.EncodeKey(otherKey))); !errors.Is(err, pki.ErrKeyMismatch) {
		t.Errorf("KeyPair with another key: %v, want ErrKeyMismatch", err)
	}

	if _, err := ca.IssueWorker("worker-1", "", []byte("junk"), now); err == nil {
		t.Error("IssueWorker of a junk request: no error")
	}
	// A request whose signature does not verify does not prove the key.
	block, _ := pem.Decode(csr)
	block.Bytes[len(block.Bytes)-1] ^= 0xff
	if _, err := ca.IssueWorker("worker-1", "", pem.EncodeToMemory(block), now); err == nil {
		t.Error("IssueWorker of a request with a broken signature: no error")
	}
}

func TestReusable(t *testing.T) {
	ca, other := pkitest.NewCA(t), pkitest.NewCA(t)
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	cert := mustCert(t, must(ca.IssueServer("m", []string{"127.0.0.1", "m1"}, key.Public(), now)))
	tests := []struct {
		name  string
		ca    *x509.Certificate
		hosts []string
		at    time.Time
		want  bool
	}{
		{"fits", ca.Cert, []string{"127.0.0.1", "m1"}, now, true},
		{"a host is missing", ca.Cert, []string{"127.0.0.1", "10.0.0.1"}, now, false},
		{"another CA", other.Cert, []string{"127.0.0.1"}, now, false},
		{"two thirds of its life gone", ca.Cert, []string{"127.0.0.1"}, now.Add(pki.CertLifetime * 7 / 10), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := pki.Reusable(cert, tt.ca, tt.hosts, tt.at); got != tt.want {
				t.Errorf("Reusable = %v, want %v", got, tt.want)
			}
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestVerifyPinned talks TLS to a real server: a client that pins the CA
// connects to a server whose chain holds it, and refuses one whose chain
// does not, or whose certificate is not for the name asked for.
func TestVerifyPinned(t *testing.T) {
	ca, other := pkitest.NewCA(t), pkitest.NewCA(t)
	serve := func(t *testing.T, signer *pki.CA, hosts []string, withCA bool) string {
		t.Helper()
		key, err := pki.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		certPEM := must(signer.IssueServer("m", hosts, key.Public(), time.Now()))
		keyPEM := must(pki.EncodeKey(key))
		var extra []*x509.Certificate
		if withCA {
			extra = append(extra, signer.Cert)
		}
		pair, err := pki.KeyPair(certPEM, keyPEM, extra...)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
		srv.Config.ErrorLog = log.New(io.Discard, "", 0)
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	tests := []struct {
		name    string
		signer  *pki.CA
		hosts   []string
		withCA  bool
		wantErr string
	}{
		{name: "pinned CA in the chain", signer: ca, hosts: []string{"127.0.0.1"}, withCA: true},
		{name: "CA not in the chain", signer: ca, hosts: []string{"127.0.0.1"}, withCA: false, wantErr: "pinned hash"},
		{name: "another CA", signer: other, hosts: []string{"127.0.0.1"}, withCA: true, wantErr: "pinned hash"},
		{name: "not for this address", signer: ca, hosts: []string{"10.0.0.1"}, withCA: true, wantErr: "valid for 10.0.0.1, not 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url := serve(t, tt.signer, tt.hosts, tt.withCA)
			hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
				InsecureSkipVerify: true, VerifyConnection: pki.VerifyPinned(ca.Hash(), "127.0.0.1"),
			}}}
			resp, err := hc.Get(url)
			if err == nil {
				resp.Body.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("GET %s: %v", url, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("GET %s: %v, want an error with %q", url, err, tt.wantErr)
			case tt.wantErr != "" && !errors.As(err, new(*tls.CertificateVerificationError)):
				t.Fatalf("GET %s: %v, want a *tls.CertificateVerificationError", url, err)
			}
		})
	}
}

func TestParseJoinToken(t *testing.T) {
	hash := "sha256:" + strings.Repeat("ab", 32)
	tests := []struct {
		in      string
		want    pki.JoinToken
		wantErr bool
	}{
		{in: "s3cret", want: pki.JoinToken{Secret: "s3cret"}},
		{in: " s3cret\n", want: pki.JoinToken{Secret: "s3cret"}},
		{in: "mk1:" + hash + ":s3cret", want: pki.JoinToken{CAHash: hash, Secret: "s3cret"}},
		{in: "mk1:sha256:" + strings.Repeat("AB", 32) + ":s3cret", want: pki.JoinToken{CAHash: hash, Secret: "s3cret"}},
		{in: "", wantErr: true},
		{in: "a:b", wantErr: true},
		{in: "mk1:sha256:abcd:s3cret", wantErr: true},
		{in: "mk1:" + hash + ":", wantErr: true},
		{in: "mk1:" + hash, wantErr: true},
		{in: "mk1:" + hash + ":a:b", wantErr: true},
	}
	for _, tt := range tests {
		got, err := pki.ParseJoinToken(tt.in)
		if tt.wantErr {
			if !errors.Is(err, pki.ErrJoinToken) {
				t.Errorf("ParseJoinToken(%q) = %+v, %v; want ErrJoinToken", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseJoinToken(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if back, err := pki.ParseJoinToken(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %+v, %v", tt.in, back, err)
		}
	}
}
