// Package pkitest makes the CAs and certificate requests tests need.
package pkitest

import (
	"sync"
	"testing"
	"time"

	"github.com/minkube/minkube/pki"
)

// NewCA returns a new CA, failing the test when it cannot be made.
func NewCA(tb testing.TB) *pki.CA {
	tb.Helper()
	ca, err := newCA()
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

// CA returns a CA made once for the whole test binary: the cluster CA of
// tests that need one and do not care which.
var CA = sync.OnceValue(func() *pki.CA {
	ca, err := newCA()
	if err != nil {
		panic(err)
	}
	return ca
})

func newCA() (*pki.CA, error) {
	certPEM, keyPEM, err := pki.NewCA("test CA", time.Now())
	if err != nil {
		return nil, err
	}
	return pki.ParseCA(certPEM, keyPEM)
}

// CSR returns a certificate request for name, signed with a new key. It
// panics when no key can be made, which only a broken crypto/rand does.
func CSR(name string) string {
	key, err := pki.NewKey()
	if err != nil {
		panic(err)
	}
	csr, err := pki.NewCertificateRequest(name, key)
	if err != nil {
		panic(err)
	}
	return string(csr)
}
