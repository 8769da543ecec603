package pki

import (
	"encoding/hex"
	"fmt"
	"strings"
)

// joinTokenPrefix starts a join token that pins a CA.
const joinTokenPrefix = "mk1:sha256:"

// JoinToken is what a worker needs to join a cluster: the secret the
// manager accepts for a registration, and the hash of the CA that
// verifies the manager. Written out (String) it is
//
//	mk1:sha256:HEX:SECRET
//
// the one line an operator copies from the manager's join-token file to a
// worker host.
type JoinToken struct {
	// CAHash is the pinned CA's hash (Hash), "" when the token pins none.
	CAHash string
	// Secret authenticates the registration; it alone is sent.
	Secret string
}

// ParseJoinToken reads a join token: the pinned form, or a bare secret
// (an operator's own token, or one of an older release) that pins no CA.
func ParseJoinToken(s string) (JoinToken, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return JoinToken{}, fmt.Errorf("%w: empty", ErrJoinToken)
	}
	rest, pinned := strings.CutPrefix(s, joinTokenPrefix)
	if !pinned {
		if strings.ContainsAny(s, ": \t\r\n") {
			return JoinToken{}, fmt.Errorf("%w: a bare secret has no colon or space; a pinned token is %sHEX:SECRET", ErrJoinToken, joinTokenPrefix)
		}
		return JoinToken{Secret: s}, nil
	}
	sum, secret, ok := strings.Cut(rest, ":")
	if b, err := hex.DecodeString(sum); !ok || err != nil || len(b) != 32 {
		return JoinToken{}, fmt.Errorf("%w: want %s and 64 hex digits, then :SECRET", ErrJoinToken, joinTokenPrefix)
	}
	if secret == "" || strings.ContainsAny(secret, ": \t\r\n") {
		return JoinToken{}, fmt.Errorf("%w: the secret after the hash is empty or holds a colon or space", ErrJoinToken)
	}
	return JoinToken{CAHash: "sha256:" + strings.ToLower(sum), Secret: secret}, nil
}

// String writes the token out: the pinned form, or the bare secret when
// it pins no CA.
func (t JoinToken) String() string {
	if t.CAHash == "" {
		return t.Secret
	}
	return "mk1:" + t.CAHash + ":" + t.Secret
}
