package workerd

import (
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/moby/sys/atomicwriter"

	"github.com/minkube/minkube/pki"
)

// A worker is itself by what it holds, never by its name alone: the token
// the manager issued it at its last registration, which it presents to
// register again (a registration under a name in use that does not carry
// that name's token is refused), and the key and certificate it serves
// its API with (the manager verifies the certificate, issued by the
// cluster CA for the worker's name, before it sends a task). The three are
// kept in Options.CredentialFile, mode 0600, so they survive a restart.
//
// The key is made once, by the worker, and never leaves it: a
// registration sends a certificate request signed with it. When the
// manager no longer knows the token (401: a store that was wiped, a
// manager of another cluster) the worker forgets it and joins with the
// join token; when the manager says the worker was deleted, it stops
// everything it runs and stays out.

// credential is what the credential file holds.
type credential struct {
	// Token is the worker's own token; empty before its first
	// registration or after the manager forgot it.
	Token string `json:"token,omitempty"`
	// Key is the worker's private key (PEM).
	Key string `json:"key"`
	// Certificate is the worker's certificate (PEM), issued by the
	// cluster CA at the last registration.
	Certificate string `json:"certificate,omitempty"`
}

// identity holds the worker's credential in memory and in its file.
type identity struct {
	path string // "" keeps it in memory only

	mu   sync.Mutex
	cred credential
	key  crypto.Signer
	cert *tls.Certificate // self-signed until the CA issues one
}

// loadIdentity reads the credential file of worker name, or makes a new
// key when there is none. A file that cannot be read or holds no usable
// key is an error: the worker would otherwise lose the name it holds.
func loadIdentity(path, name string) (*identity, error) {
	id := &identity{path: path}
	if path != "" {
		data, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("read the credential file %s: %w", path, err)
		default:
			if err := json.Unmarshal(data, &id.cred); err != nil {
				return nil, fmt.Errorf("credential file %s: %w (remove it to join as a new worker)", path, err)
			}
		}
	}
	if id.cred.Key == "" {
		key, err := pki.NewKey()
		if err != nil {
			return nil, err
		}
		keyPEM, err := pki.EncodeKey(key)
		if err != nil {
			return nil, err
		}
		id.cred = credential{Key: string(keyPEM)}
	}
	key, err := pki.ParseKey([]byte(id.cred.Key))
	if err != nil {
		return nil, fmt.Errorf("credential file %s: %w (remove it to join as a new worker)", path, err)
	}
	id.key = key
	certPEM := []byte(id.cred.Certificate)
	if len(certPEM) == 0 {
		// Until the CA issues one, a certificate no verifying client
		// trusts: the API answers (503, not registered) to whoever looks
		// without verifying, and the manager sends it nothing.
		if certPEM, err = pki.SelfSigned(name, key, time.Now()); err != nil {
			return nil, err
		}
	}
	pair, err := pki.KeyPair(certPEM, []byte(id.cred.Key))
	if err != nil {
		return nil, fmt.Errorf("credential file %s: certificate: %w (remove it to join as a new worker)", path, err)
	}
	id.cert = &pair
	return id, nil
}

// token returns the worker's own token, "" when it has none.
func (id *identity) token() string {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.cred.Token
}

// renewDue reports whether the worker has no certificate from the CA, or
// one with less than a third of its life left. It reads the certificate
// parsed when it was issued: a worker asks at every report.
func (id *identity) renewDue(now time.Time) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.cred.Certificate == "" || id.cert.Leaf == nil || pki.RenewDue(id.cert.Leaf, now)
}

// request returns a certificate request for name, signed with the key.
func (id *identity) request(name string) ([]byte, error) {
	return pki.NewCertificateRequest(name, id.key)
}

// certificate serves the worker API's TLS handshakes.
func (id *identity) certificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	return id.cert, nil
}

// issued records what a registration gave: the token and the certificate.
func (id *identity) issued(token, certPEM string) error {
	pair, err := pki.KeyPair([]byte(certPEM), []byte(id.cred.Key))
	if err != nil {
		return fmt.Errorf("the certificate the manager issued: %w", err)
	}
	id.mu.Lock()
	id.cred.Token, id.cred.Certificate, id.cert = token, certPEM, &pair
	cred := id.cred
	id.mu.Unlock()
	return id.save(cred)
}

// forgetToken drops a token the manager no longer knows; the key and
// certificate stay.
func (id *identity) forgetToken() error {
	id.mu.Lock()
	id.cred.Token = ""
	cred := id.cred
	id.mu.Unlock()
	return id.save(cred)
}

// save writes cred to the file, replacing it atomically, mode 0600.
func (id *identity) save(cred credential) error {
	if id.path == "" {
		return nil
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	if err := atomicwriter.WriteFile(id.path, data, 0o600); err != nil {
		return fmt.Errorf("write the credential file %s: %w", id.path, err)
	}
	return nil
}
