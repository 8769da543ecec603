package v1

import "time"

// KindCredential is the kind of a Credential. Credentials are kept by the
// manager for its own use and are never served by the API.
const KindCredential = "Credential"

// Credential holds the secrets of one registered worker: the hash of the
// token the worker presents to the manager, and the token the manager
// presents to the worker. Its name is the worker's name. Whoever holds the
// token is that worker: registering again under its name takes the token.
//
// A deleted worker's credential stays, revoked, so that its token is
// recognised and refused for good rather than taken for a stranger's.
type Credential struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	// TokenHash is the hex SHA-256 of the worker's token.
	TokenHash string `json:"tokenHash"`
	// ManagerToken authenticates the manager to the worker's API; empty
	// once revoked.
	ManagerToken string `json:"managerToken,omitempty"`
	// RevokedAt is when the worker was deleted; its token works no more.
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	// TokenKept is true for a credential whose worker keeps its token
	// (in its credential file) to prove it is itself when it registers
	// again. A credential of an older release lacks it: its worker
	// registers again with the join token, once, and keeps a token from
	// then on.
	TokenKept bool `json:"tokenKept,omitempty"`
}

// Revoked reports whether the worker was deleted.
func (c *Credential) Revoked() bool { return c.RevokedAt != nil }

// GetObjectMeta returns the credential's metadata.
func (c *Credential) GetObjectMeta() *ObjectMeta { return &c.Metadata }
