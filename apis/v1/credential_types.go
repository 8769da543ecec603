package v1

// KindCredential is the kind of a Credential. Credentials are kept by the
// manager for its own use and are never served by the API.
const KindCredential = "Credential"

// Credential holds the secrets of one registered worker: the hash of the
// token the worker presents to the manager, and the token the manager
// presents to the worker. Its name is the worker's name.
type Credential struct {
	TypeMeta `json:",inline"`
	Metadata ObjectMeta `json:"metadata"`
	// TokenHash is the hex SHA-256 of the worker's token.
	TokenHash string `json:"tokenHash"`
	// ManagerToken authenticates the manager to the worker's API.
	ManagerToken string `json:"managerToken"`
}

// GetObjectMeta returns the credential's metadata.
func (c *Credential) GetObjectMeta() *ObjectMeta { return &c.Metadata }
