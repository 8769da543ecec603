package workerd

import (
	"testing"
	"time"

	"github.com/minkube/minkube/pki"
)

// TestIdentity_RenewDue: a worker asks for a new certificate while it has
// none from the CA, and once a third of the CA's is left; it reads the
// certificate parsed when it was issued.
func TestIdentity_RenewDue(t *testing.T) {
	now := time.Now()
	id, err := loadIdentity("", "w1")
	if err != nil {
		t.Fatal(err)
	}
	if !id.renewDue(now) {
		t.Error("a worker with only its self-signed certificate is not due to get one")
	}
	caPEM, caKey, err := pki.NewCA("test", now)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ParseCA(caPEM, caKey)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := id.request("w1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ca.IssueWorker("w1", "127.0.0.1", csr, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := id.issued("token", string(cert)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{now, false},
		{now.Add(pki.CertLifetime / 2), false},
		{now.Add(pki.CertLifetime * 3 / 4), true},
		{now.Add(2 * pki.CertLifetime), true},
	} {
		if got := id.renewDue(c.at); got != c.want {
			t.Errorf("%s after issue: renewal due %v, want %v", c.at.Sub(now), got, c.want)
		}
	}
}
