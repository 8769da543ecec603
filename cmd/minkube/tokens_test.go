package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minkube/minkube/pki"
)

func TestReadOrCreateJoinToken(t *testing.T) {
	hash := "sha256:" + strings.Repeat("ab", 32)
	other := "sha256:" + strings.Repeat("cd", 32)
	tests := []struct {
		name     string
		content  string // "" means no file
		want     string // the secret; "" for a new one
		wantFile string // what the file holds after; "" to skip
		wantErr  string
	}{
		{name: "no file: a new token, pinned", want: ""},
		{name: "a bare secret is pinned in place", content: "s3cret\n", want: "s3cret", wantFile: "mk1:" + hash + ":s3cret\n"},
		{name: "pinned to this CA", content: "mk1:" + hash + ":s3cret\n", want: "s3cret", wantFile: "mk1:" + hash + ":s3cret\n"},
		{name: "pinned to another CA", content: "mk1:" + other + ":s3cret\n", wantErr: "pins the CA " + other + ", but this manager's CA is " + hash},
		{name: "empty", content: "\n", wantErr: "the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "join-token")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			tok, err := readOrCreateJoinToken("--join-token-file", path, hash)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if data, _ := os.ReadFile(path); string(data) != tt.content {
					t.Errorf("the file changed to %q", data)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tok.CAHash != hash || tok.Secret == "" || (tt.want != "" && tok.Secret != tt.want) {
				t.Errorf("token = %+v, want secret %q pinned to %s", tok, tt.want, hash)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantFile != "" && string(data) != tt.wantFile {
				t.Errorf("file = %q, want %q", data, tt.wantFile)
			}
			if back, err := readJoinToken("--join-token-file", path); err != nil || back != tok {
				t.Errorf("a worker reads %+v, %v; want %+v", back, err, tok)
			}
			if info, err := os.Stat(path); err != nil || info.Mode().Perm() != 0o600 {
				t.Errorf("file mode %v (%v), want 0600", info.Mode().Perm(), err)
			}
		})
	}
}

// TestReadJoinToken_RefusesNoPin: a worker needs the CA pinned, or it
// could not verify the manager before sending the secret.
func TestReadJoinToken_RefusesNoPin(t *testing.T) {
	path := filepath.Join(t.TempDir(), "join-token")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readJoinToken("--join-token-file", path); err == nil || !strings.Contains(err.Error(), "pins no CA") {
		t.Errorf("readJoinToken of a bare secret = %v, want it refused", err)
	}
}

// TestTokenFiles_Reload: a token changed in its file is applied; a file
// that cannot be read keeps the token in use.
func TestTokenFiles_Reload(t *testing.T) {
	dir := t.TempDir()
	hash := "sha256:" + strings.Repeat("ab", 32)
	admin, join := filepath.Join(dir, "token"), filepath.Join(dir, "join-token")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(admin, "a1\n")
	write(join, "mk1:"+hash+":j1\n")
	var applied [][2]string
	f := &tokenFiles{adminPath: admin, joinPath: join, caHash: hash, admin: "a1", join: "j1",
		apply: func(a, j string) { applied = append(applied, [2]string{a, j}) },
		log:   slog.New(slog.NewTextHandler(io.Discard, nil))}

	f.reload()
	if len(applied) != 0 {
		t.Fatalf("applied %v with nothing changed", applied)
	}
	write(admin, "a2\n")
	f.reload()
	write(join, "j2\n") // a bare secret: pinned in place
	f.reload()
	if err := os.Remove(admin); err != nil {
		t.Fatal(err)
	}
	f.reload()
	want := [][2]string{{"a2", "j1"}, {"a2", "j2"}}
	if len(applied) != len(want) || applied[0] != want[0] || applied[1] != want[1] {
		t.Errorf("applied %v, want %v", applied, want)
	}
	if tok, err := pki.ParseJoinToken(mustRead(t, join)); err != nil || tok.CAHash != hash {
		t.Errorf("the join token file is %+v (%v), want it pinned", tok, err)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
