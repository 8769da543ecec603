package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/pki"
)

// tokenReload is how often a manager reads its token files again, so that
// a rotation (minkube token rotate) takes effect without a restart.
const tokenReload = time.Second

// newToken returns a fresh random token.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// readOrCreateToken reads the token in path, or generates one and writes it
// there with mode 0600 when the file does not exist.
func readOrCreateToken(flag, path string) (string, error) {
	tok, err := readToken(flag, path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	tok = newToken()
	if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
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
		return "", fmt.Errorf("%s %s: the file is empty; remove it to have a token generated", flag, path)
	}
	return tok, nil
}

// readOrCreateJoinToken returns the join token of the manager whose CA
// has hash caHash, from path: generated and written when the file does
// not exist, and pinned to the CA when the file holds a bare secret (the
// file is rewritten, its secret kept), so that the file is the one thing
// a worker host needs. A file that pins another CA is refused.
func readOrCreateJoinToken(flag, path, caHash string) (pki.JoinToken, error) {
	raw, err := readToken(flag, path)
	if errors.Is(err, fs.ErrNotExist) {
		raw, err = newToken(), nil
	}
	if err != nil {
		return pki.JoinToken{}, err
	}
	return pinJoinToken(flag, path, raw, caHash)
}

// pinJoinToken parses raw, the join token read from (or generated for)
// path, and pins it to caHash as readOrCreateJoinToken says.
func pinJoinToken(flag, path, raw, caHash string) (pki.JoinToken, error) {
	tok, err := pki.ParseJoinToken(raw)
	if err != nil {
		return pki.JoinToken{}, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	switch tok.CAHash {
	case caHash:
		return tok, nil
	case "":
		tok.CAHash = caHash
		if err := writeFileAtomic(path, []byte(tok.String()+"\n"), 0o600); err != nil {
			return pki.JoinToken{}, fmt.Errorf("%s: %w", flag, err)
		}
		return tok, nil
	}
	return pki.JoinToken{}, fmt.Errorf("%s %s pins the CA %s, but this manager's CA is %s: the file is another cluster's, or the CA changed; "+
		"to keep the secret and pin this CA, leave only the part after the last colon in the file", flag, path, tok.CAHash, caHash)
}

// readJoinToken reads the join token a worker joins with; it must pin the
// manager's CA.
func readJoinToken(flag, path string) (pki.JoinToken, error) {
	raw, err := readToken(flag, path)
	if err != nil {
		return pki.JoinToken{}, err
	}
	tok, err := pki.ParseJoinToken(raw)
	if err != nil {
		return pki.JoinToken{}, fmt.Errorf("%s %s: %w", flag, path, err)
	}
	if tok.CAHash == "" {
		return pki.JoinToken{}, fmt.Errorf("%s %s pins no CA, so the worker cannot verify the manager before it sends the token: "+
			"copy the join-token file the manager wrote in its data dir (it starts with mk1:sha256:)", flag, path)
	}
	return tok, nil
}

// writeClientConfig records this manager in mkctl's config file
// ($MINKUBE_CONFIG or ~/.minkube/config): its cluster is added, or updated
// when it is there already, under the context name base (base-2... when
// another cluster has that name); nothing else in the file changes. It
// returns the file's path, the context and whether it is mkctl's current
// context.
func writeClientConfig(base, server, token string, caPEM []byte) (path, context string, current bool, err error) {
	path, err = client.ConfigPath()
	if err != nil {
		return "", "", false, err
	}
	err = client.UpdateConfig(path, func(cfg *client.Config) error {
		context, _ = cfg.AddManager(base, server, token, caPEM)
		current = cfg.CurrentContext == context
		return nil
	})
	return path, context, current, err
}

// tokenFiles are the manager's token files, read again every tokenReload:
// a token rotated in its file takes effect without a restart.
type tokenFiles struct {
	adminPath, joinPath string
	caHash              string
	admin, join         string // the tokens in use
	apply               func(admin, join string)
	log                 *slog.Logger
}

// Start reads the files every tokenReload until ctx ends, and applies
// tokens that changed. A file that cannot be read keeps the token in use.
func (f *tokenFiles) Start(ctx context.Context) error {
	every(ctx, tokenReload, f.reload)
	return nil
}

// every calls fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}

func (f *tokenFiles) reload() {
	admin, err := readToken("--token-file", f.adminPath)
	if err != nil {
		f.log.Warn("cannot read the admin token file; keeping the token in use", "err", err)
		admin = f.admin
	}
	join := f.join
	if raw, err := readToken("--join-token-file", f.joinPath); err != nil {
		f.log.Warn("cannot read the join token file; keeping the token in use", "err", err)
	} else if tok, err := pinJoinToken("--join-token-file", f.joinPath, raw, f.caHash); err != nil {
		f.log.Warn("cannot read the join token file; keeping the token in use", "err", err)
	} else {
		join = tok.Secret
	}
	if admin == f.admin && join == f.join {
		return
	}
	if admin != f.admin {
		f.log.Info("the admin token changed; the old one no longer works", "file", f.adminPath)
	}
	if join != f.join {
		f.log.Info("the join token changed; registered workers keep their own tokens", "file", f.joinPath)
	}
	f.admin, f.join = admin, join
	f.apply(admin, join)
}

// newTokenCommand is minkube token: rotate the admin or the join token.
func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Manage the cluster's tokens",
		Args:  cobra.NoArgs,
	}
	var dataDir, tokenFile, joinFile string
	var join bool
	rotate := &cobra.Command{
		Use:   "rotate [--join]",
		Short: "Replace the admin token (or, with --join, the join token's secret) in its file; running managers that read the file use it within a second",
		Long: `Replace the admin token in --token-file (default DATA-DIR/token) with a new
random one. Every manager that reads that file uses the new token within a
second, with no restart; the old token stops working. The contexts of mkctl's
config ($MINKUBE_CONFIG or ~/.minkube/config) that held the old token get the
new one. Workers are not affected: they use tokens of their own.

With --join, replace the secret of the join token in --join-token-file
(default DATA-DIR/join-token), keeping the CA it pins: registered workers keep
working; new workers need the new file.

Managers on other hosts read their own copy of the file: copy it there.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if join {
				path := defaultPath(joinFile, dataDir, "join-token")
				old, err := readToken("--join-token-file", path)
				if err != nil {
					return err
				}
				tok, err := pki.ParseJoinToken(old)
				if err != nil {
					return fmt.Errorf("--join-token-file %s: %w", path, err)
				}
				tok.Secret = newToken()
				if err := writeFileAtomic(path, []byte(tok.String()+"\n"), 0o600); err != nil {
					return err
				}
				fmt.Fprintf(out, "the join token in %s is new; registered workers keep working, new workers need this file\n", path)
				return nil
			}
			path := defaultPath(tokenFile, dataDir, "token")
			old, err := readToken("--token-file", path)
			if err != nil {
				return err
			}
			tok := newToken()
			if err := writeFileAtomic(path, []byte(tok+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(out, "the admin token in %s is new; managers that read it use it within a second\n", path)
			cfgPath, err := client.ConfigPath()
			if err != nil {
				return nil // no home: no config to update
			}
			var names []string
			err = client.UpdateConfig(cfgPath, func(cfg *client.Config) error {
				if names = cfg.ReplaceToken(old, tok); len(names) == 0 {
					return errNothingToUpdate
				}
				return nil
			})
			switch {
			case errors.Is(err, errNothingToUpdate):
			case err != nil:
				return fmt.Errorf("the token is rotated, but mkctl's config was not updated: %w", err)
			default:
				fmt.Fprintf(out, "mkctl's config %s: cluster %s has the new token\n", cfgPath, strings.Join(names, ", "))
			}
			return nil
		},
	}
	f := rotate.Flags()
	f.StringVar(&dataDir, "data-dir", "/var/lib/minkube", "the manager's data dir")
	f.StringVar(&tokenFile, "token-file", "", "admin token file (default DATA-DIR/token)")
	f.StringVar(&joinFile, "join-token-file", "", "join token file (default DATA-DIR/join-token)")
	f.BoolVar(&join, "join", false, "rotate the join token instead of the admin token")
	cmd.AddCommand(rotate)
	return cmd
}

// errNothingToUpdate leaves a config file as it was.
var errNothingToUpdate = errors.New("nothing to update")

// defaultPath is flag, or name in dataDir when the flag is empty.
func defaultPath(flag, dataDir, name string) string {
	if flag != "" {
		return flag
	}
	return filepath.Join(dataDir, name)
}
