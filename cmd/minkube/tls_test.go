package main

import (
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minkube/minkube/pki"
	"github.com/minkube/minkube/pki/pkitest"
	"github.com/minkube/minkube/store"
	"github.com/minkube/minkube/store/bolt"
)

func mustBolt(t *testing.T) store.Store {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "minkube.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestServingHosts(t *testing.T) {
	listen := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 7070}
	got := servingHosts(listen, "m1.example:7070", []string{"lb.example", "10.0.0.5"})
	for _, want := range []string{"127.0.0.1", "::1", "localhost", "10.0.0.5", "m1.example", "lb.example"} {
		if !slices.Contains(got, want) {
			t.Errorf("hosts %v lack %s", got, want)
		}
	}
	seen := map[string]bool{}
	for _, h := range got {
		if seen[h] {
			t.Errorf("hosts %v name %s twice", got, h)
		}
		seen[h] = true
	}
	all := servingHosts(&net.TCPAddr{IP: net.IPv4zero, Port: 7070}, "", nil)
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !slices.Contains(all, ipn.IP.String()) {
			t.Errorf("listening on every address, the hosts %v lack %s", all, ipn.IP)
		}
	}
}

// TestSetupTLS: the cluster CA is made once and kept in the store; the
// serving certificate is kept in the data dir while it fits, and issued
// again for new addresses.
func TestSetupTLS(t *testing.T) {
	db := mustBolt(t)
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	first, err := setupTLS(t.Context(), tlsFlags{}, dir, db, []string{"127.0.0.1"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, filepath.Join(dir, caFileName)); got != string(first.cluster.CertPEM) || first.caHash != first.cluster.Hash() {
		t.Errorf("ca.crt or the pinned hash is not the cluster CA's")
	}
	leaf := first.config.Certificates[0].Leaf
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil || leaf.CheckSignatureFrom(first.cluster.Cert) != nil {
		t.Errorf("serving certificate for %v: %v", leaf.IPAddresses, err)
	}
	if n := len(first.config.Certificates[0].Certificate); n != 2 {
		t.Errorf("the chain has %d certificates, want the leaf and the CA (pinning clients look for it)", n)
	}

	again, err := setupTLS(t.Context(), tlsFlags{}, dir, db, []string{"127.0.0.1"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if again.cluster.Hash() != first.cluster.Hash() || !again.config.Certificates[0].Leaf.Equal(leaf) {
		t.Errorf("a restart made a new CA or certificate")
	}
	moved, err := setupTLS(t.Context(), tlsFlags{}, dir, db, []string{"127.0.0.1", "10.0.0.9"}, log)
	if err != nil {
		t.Fatal(err)
	}
	if moved.config.Certificates[0].Leaf.Equal(leaf) || moved.config.Certificates[0].Leaf.VerifyHostname("10.0.0.9") != nil {
		t.Errorf("a new address did not get a new certificate")
	}
}

// TestSetupTLS_OwnCertificate: a certificate, key and CA brought with the
// flags are served and pinned; a set that does not go together is refused
// naming the flags.
func TestSetupTLS_OwnCertificate(t *testing.T) {
	dir := t.TempDir()
	ca, other := pkitest.NewCA(t), pkitest.NewCA(t)
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.IssueServer("mine", []string{"manager.example"}, key.Public(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cert, keyFile, caFile, otherCA := write("tls.crt", certPEM), write("tls.key", keyPEM), write("ca.pem", ca.CertPEM), write("other.pem", other.CertPEM)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))

	got, err := setupTLS(t.Context(), tlsFlags{certFile: cert, keyFile: keyFile, caFile: caFile}, filepath.Join(dir, "data"), mustBolt(t), nil, log)
	if err != nil {
		t.Fatal(err)
	}
	if got.caHash != ca.Hash() || string(got.caPEM) != string(ca.CertPEM) || got.cluster.Hash() == ca.Hash() {
		t.Errorf("pinned %s, want the CA brought (%s); the cluster CA still signs the workers", got.caHash, ca.Hash())
	}
	tests := []struct {
		name  string
		flags tlsFlags
		want  string
	}{
		{"no key", tlsFlags{certFile: cert, caFile: caFile}, "--tls-cert-file, --tls-key-file and --tls-ca-file go together"},
		{"no CA", tlsFlags{certFile: cert, keyFile: keyFile}, "go together"},
		{"another CA", tlsFlags{certFile: cert, keyFile: keyFile, caFile: otherCA}, "does not verify against --tls-ca-file"},
		{"a missing file", tlsFlags{certFile: cert + ".nope", keyFile: keyFile, caFile: caFile}, "--tls-cert-file: open"},
		{"the key of another", tlsFlags{certFile: cert, keyFile: write("other.key", mustKey(t)), caFile: caFile}, pki.ErrKeyMismatch.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := setupTLS(t.Context(), tt.flags, filepath.Join(dir, "data"), mustBolt(t), nil, log)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func mustKey(t *testing.T) []byte {
	t.Helper()
	key, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	data, err := pki.EncodeKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
