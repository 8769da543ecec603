package client

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mustHome points $HOME at a fresh directory and clears the environment
// variables Resolve reads.
func mustHome(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv(EnvServer, "")
	t.Setenv(EnvToken, "")
	return home
}

func mustWriteFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultConfigPath(t *testing.T) {
	home := mustHome(t)
	got, err := DefaultConfigPath()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(home, ".minkube", "config"); got != want {
		t.Errorf("DefaultConfigPath() = %q, want %q", got, want)
	}
}

func TestWriteConfig_LoadConfig(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", ".minkube")
	path := filepath.Join(dir, "config")
	want := Config{Server: "http://10.0.0.1:7070", Token: "abc"}
	if err := WriteConfig(path, want); err != nil {
		t.Fatalf("WriteConfig: %v", err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if got != want {
		t.Errorf("LoadConfig = %+v, want %+v", got, want)
	}
	for p, mode := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != mode {
			t.Errorf("mode of %s = %v, want %v", p, fi.Mode().Perm(), mode)
		}
	}

	// Overwriting replaces the content and leaves no temporary file behind.
	want2 := Config{Server: "http://10.0.0.2:7070"}
	if err := WriteConfig(path, want2); err != nil {
		t.Fatalf("WriteConfig again: %v", err)
	}
	if got, err := LoadConfig(path); err != nil || got != want2 {
		t.Errorf("LoadConfig after overwrite = %+v, %v; want %+v", got, err, want2)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("the config directory holds %d entries, want only the config", len(entries))
	}
}

func TestLoadConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name     string
		content  string // "" means no file
		wantErr  string
		notExist bool
	}{
		{name: "missing", notExist: true, wantErr: "read config"},
		{name: "unknown field", content: "sever: http://x:7070\n", wantErr: `unknown field "sever"`},
		{name: "not yaml", content: "server: [\n", wantErr: "parse config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if tt.content != "" {
				mustWriteFile(t, path, tt.content)
			}
			_, err := LoadConfig(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("LoadConfig error = %v, want one naming %s and containing %q", err, path, tt.wantErr)
			}
			if errors.Is(err, fs.ErrNotExist) != tt.notExist {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", !tt.notExist, tt.notExist)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	const fileCfg = "server: http://file:7070\ntoken: file-token\n"
	tests := []struct {
		name                  string
		flagServer, flagToken string
		envServer, envToken   string
		file                  string
		wantServer, wantToken string
		wantSource            string
		wantErr               string
	}{
		{name: "nothing set", wantServer: DefaultServer, wantSource: SourceDefault},
		{name: "file only", file: fileCfg, wantServer: "http://file:7070", wantToken: "file-token", wantSource: "~/.minkube/config"},
		{name: "env over file", file: fileCfg, envServer: "http://env:7070", envToken: "env-token",
			wantServer: "http://env:7070", wantToken: "env-token", wantSource: SourceEnv},
		{name: "flags over env", file: fileCfg, envServer: "http://env:7070", envToken: "env-token",
			flagServer: "http://flag:7070", flagToken: "flag-token",
			wantServer: "http://flag:7070", wantToken: "flag-token", wantSource: SourceFlag},
		{name: "each field on its own", file: fileCfg, flagServer: "http://flag:7070",
			wantServer: "http://flag:7070", wantToken: "file-token", wantSource: SourceFlag},
		{name: "file without server", file: "token: t\n", wantServer: DefaultServer, wantToken: "t", wantSource: SourceDefault},
		{name: "broken file", file: "server: [\n", wantErr: "parse config"},
		{name: "broken file not needed", file: "server: [\n", flagServer: "http://flag:7070", flagToken: "x",
			wantServer: "http://flag:7070", wantToken: "x", wantSource: SourceFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := mustHome(t)
			t.Setenv(EnvServer, tt.envServer)
			t.Setenv(EnvToken, tt.envToken)
			if tt.file != "" {
				mustWriteFile(t, filepath.Join(home, ".minkube", "config"), tt.file)
			}
			server, token, source, err := Resolve(tt.flagServer, tt.flagToken)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if server != tt.wantServer || token != tt.wantToken || source != tt.wantSource {
				t.Errorf("Resolve = %q, %q, %q; want %q, %q, %q", server, token, source, tt.wantServer, tt.wantToken, tt.wantSource)
			}
		})
	}
}
