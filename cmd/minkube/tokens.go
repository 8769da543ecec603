package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/minkube/minkube/client"
)

// readOrCreateToken reads the token in path, or generates one and writes it
// there with mode 0600 when the file does not exist.
func readOrCreateToken(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		tok := strings.TrimSpace(string(data))
		if tok == "" {
			return "", fmt.Errorf("%s %s: the file is empty; remove it to have a token generated", flag, path)
		}
		return tok, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s %s: %w", flag, path, err)
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	tok := hex.EncodeToString(b[:])
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("%s %s: %w", flag, path, err)
	}
	return tok, nil
}

// readToken reads a token that must exist.
func readToken(flag, path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("%s %s: the file is empty", flag, path)
	}
	return tok, nil
}

// writeClientConfig records this manager in mkctl's config file
// ($MINKUBE_CONFIG or ~/.minkube/config): its cluster is added, or updated
// when it is there already, under the context name base (base-2... when
// another cluster has that name); nothing else in the file changes. It
// returns the file's path, the context and whether it is mkctl's current
// context.
func writeClientConfig(base, server, token string) (path, context string, current bool, err error) {
	path, err = client.ConfigPath()
	if err != nil {
		return "", "", false, err
	}
	err = client.UpdateConfig(path, func(cfg *client.Config) error {
		context, _ = cfg.AddManager(base, server, token)
		current = cfg.CurrentContext == context
		return nil
	})
	return path, context, current, err
}
