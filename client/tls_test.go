package client_test

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/pki/pkitest"
)

// tlsManager serves a manager list over TLS with a certificate ca issued
// for hosts, the CA in its chain.
func tlsManager(t *testing.T, ca *pki.CA, hosts ...string) string {
	t.Helper()
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.IssueServer("manager", hosts, key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pair, err := pki.KeyPair(certPEM, keyPEM, ca.Cert)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v1.ManagerList{Items: []v1.Manager{{Name: "m1"}}})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestWithTLS verifies the manager's certificate each way a client can:
// against a CA, against a CA and a name that is not the URL's host, and
// against a pinned CA hash. A certificate that does not verify is refused
// before anything is sent.
func TestWithTLS(t *testing.T) {
	ca, other := pkitest.NewCA(t), pkitest.NewCA(t)
	byAddress := tlsManager(t, ca, "127.0.0.1")
	byName := tlsManager(t, ca, "worker-1")
	tests := []struct {
		name   string
		server string
		tls    client.TLS
		ok     bool
	}{
		{"the CA", byAddress, client.TLS{CAData: string(ca.CertPEM)}, true},
		{"another CA", byAddress, client.TLS{CAData: string(other.CertPEM)}, false},
		{"the system's roots", byAddress, client.TLS{}, false},
		{"the worker's name", byName, client.TLS{CAData: string(ca.CertPEM), ServerName: "worker-1"}, true},
		{"another worker's name", byName, client.TLS{CAData: string(ca.CertPEM), ServerName: "worker-2"}, false},
		{"a name, not the address", byName, client.TLS{CAData: string(ca.CertPEM)}, false},
		{"the pinned CA", byAddress, client.TLS{CAHash: ca.Hash()}, true},
		{"another pinned CA", byAddress, client.TLS{CAHash: other.Hash()}, false},
		{"the pinned CA and a name", byName, client.TLS{CAHash: ca.Hash(), ServerName: "worker-1"}, true},
		{"the pinned CA, not for this address", byName, client.TLS{CAHash: ca.Hash()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.server, "tok", client.WithTLS(tt.tls))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListManagers(t.Context())
			if tt.ok {
				if err != nil {
					t.Fatalf("ListManagers: %v", err)
				}
				return
			}
			var ue *client.UnreachableError
			if !errors.As(err, &ue) || !client.NotSent(err) || !strings.Contains(err.Error(), "certificate is not trusted") {
				t.Fatalf("ListManagers: %v; want an UnreachableError saying the certificate is not trusted, with nothing sent", err)
			}
		})
	}
}

func TestWithTLS_BadCA(t *testing.T) {
	_, err := client.New("https://127.0.0.1:1", "tok", client.WithTLS(client.TLS{CAData: "not a certificate"}))
	if !errors.Is(err, client.ErrNoCertificates) {
		t.Errorf("New with a CA that holds no certificate: %v, want ErrNoCertificates", err)
	}
}

// TestPlainHTTPToTLS: a client that calls an HTTPS server with http://
// is told to use https://.
func TestPlainHTTPToTLS(t *testing.T) {
	ca := pkitest.NewCA(t)
	url := strings.Replace(tlsManager(t, ca, "127.0.0.1"), "https://", "http://", 1)
	c, err := client.New(url, "tok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListManagers(t.Context())
	want := "serves HTTPS, not plain HTTP: use https://" + strings.TrimPrefix(url, "http://")
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("ListManagers over http://: %v, want %q", err, want)
	}
}
