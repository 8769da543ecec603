package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
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
	t.Setenv(EnvConfig, "")
	t.Setenv(EnvContext, "")
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
	want := Config{CurrentContext: "a", Clusters: []Cluster{{Name: "a", Servers: []string{"http://10.0.0.1:7070"}, Token: "abc"}},
		Contexts: []Context{{Name: "a", Cluster: "a"}}}
	if err := WriteConfig(path, want); err != nil {
		t.Fatalf("WriteConfig: %v", err)
	}
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
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
	want2 := Config{Clusters: []Cluster{{Name: "b", Servers: []string{"http://10.0.0.2:7070"}}}}
	if err := WriteConfig(path, want2); err != nil {
		t.Fatalf("WriteConfig again: %v", err)
	}
	if got, err := LoadConfig(path); err != nil || !reflect.DeepEqual(got, want2) {
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

// TestLoadConfig_Legacy reads the single-server config of older releases
// as a cluster and context named default.
func TestLoadConfig_Legacy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	mustWriteFile(t, path, "server: http://old:7070\ntoken: old-token\n")
	got, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{CurrentContext: "default", Clusters: []Cluster{{Name: "default", Servers: []string{"http://old:7070"}, Token: "old-token"}},
		Contexts: []Context{{Name: "default", Cluster: "default"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadConfig = %+v, want %+v", got, want)
	}
}

// TestConfig_AddManager checks that a manager updates only its own
// cluster: found by its token, or by its address alone, else added under
// a free name.
func TestConfig_AddManager(t *testing.T) {
	other := Cluster{Name: "prod", Servers: []string{"https://prod-1:7070", "https://prod-2:7070"}, Token: "prod-token"}
	base := func() Config {
		return Config{CurrentContext: "prod", Clusters: []Cluster{other}, Contexts: []Context{{Name: "prod", Cluster: "prod"}}}
	}
	tests := []struct {
		name                string
		cfg                 Config
		base, server, token string
		wantContext         string
		wantAdded           bool
		wantCurrent         string
		wantClusters        []Cluster
	}{
		{name: "empty file", base: "dev", server: "http://127.0.0.1:7070", token: "t1",
			wantContext: "dev", wantAdded: true, wantCurrent: "dev",
			wantClusters: []Cluster{{Name: "dev", Servers: []string{"http://127.0.0.1:7070"}, Token: "t1"}}},
		{name: "another cluster is kept and stays current", cfg: base(), base: "dev", server: "http://127.0.0.1:7070", token: "t1",
			wantContext: "dev", wantAdded: true, wantCurrent: "prod",
			wantClusters: []Cluster{other, {Name: "dev", Servers: []string{"http://127.0.0.1:7070"}, Token: "t1"}}},
		{name: "a name taken by another cluster", cfg: base(), base: "prod", server: "http://127.0.0.1:7070", token: "t1",
			wantContext: "prod-2", wantAdded: true, wantCurrent: "prod",
			wantClusters: []Cluster{other, {Name: "prod-2", Servers: []string{"http://127.0.0.1:7070"}, Token: "t1"}}},
		{name: "a second manager of the same cluster", cfg: base(), base: "minkube", server: "https://prod-3:7070", token: "prod-token",
			wantContext: "prod", wantCurrent: "prod",
			wantClusters: []Cluster{{Name: "prod", Servers: []string{"https://prod-1:7070", "https://prod-2:7070", "https://prod-3:7070"}, Token: "prod-token"}}},
		{name: "a new token at the same address", cfg: Config{CurrentContext: "dev", Clusters: []Cluster{{Name: "dev", Servers: []string{"http://127.0.0.1:7070"}, Token: "old"}},
			Contexts: []Context{{Name: "dev", Cluster: "dev"}}}, base: "dev", server: "http://127.0.0.1:7070", token: "new",
			wantContext: "dev", wantCurrent: "dev",
			wantClusters: []Cluster{{Name: "dev", Servers: []string{"http://127.0.0.1:7070"}, Token: "new"}}},
		{name: "a dangling current context is replaced", cfg: Config{CurrentContext: "gone"}, base: "dev", server: "http://127.0.0.1:7070", token: "t1",
			wantContext: "dev", wantAdded: true, wantCurrent: "dev",
			wantClusters: []Cluster{{Name: "dev", Servers: []string{"http://127.0.0.1:7070"}, Token: "t1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			ctx, added := cfg.AddManager(tt.base, tt.server, tt.token, nil)
			if ctx != tt.wantContext || added != tt.wantAdded || cfg.CurrentContext != tt.wantCurrent {
				t.Errorf("AddManager = %q, %v, current %q; want %q, %v, %q", ctx, added, cfg.CurrentContext, tt.wantContext, tt.wantAdded, tt.wantCurrent)
			}
			if !reflect.DeepEqual(cfg.Clusters, tt.wantClusters) {
				t.Errorf("clusters = %+v, want %+v", cfg.Clusters, tt.wantClusters)
			}
			if cfg.Context(ctx) == nil || cfg.Context(ctx).Cluster == "" {
				t.Errorf("no context %q: %+v", ctx, cfg.Contexts)
			}
		})
	}
}

// TestUpdateConfig_Concurrent has many writers add their cluster at once;
// the lock keeps every one.
func TestUpdateConfig_Concurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".minkube", "config")
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := UpdateConfig(path, func(c *Config) error {
				c.AddManager("dev", fmt.Sprintf("https://127.0.0.1:%d", 7000+i), fmt.Sprint("token-", i), nil)
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cfg, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Clusters) != n || len(cfg.Contexts) != n {
		t.Errorf("%d clusters and %d contexts, want %d of each", len(cfg.Clusters), len(cfg.Contexts), n)
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
	const twoClusters = `current-context: a
clusters:
- {name: a, servers: ["http://a1:7070", "http://a2:7070"], token: a-token}
- {name: b, servers: ["http://b:7070"], token: b-token}
contexts:
- {name: a, cluster: a}
- {name: b, cluster: b}
`
	tests := []struct {
		name                  string
		flagServer, flagToken string
		context, envContext   string
		envServer, envToken   string
		file                  string
		wantServers           []string
		wantToken, wantSource string
		wantErr               string
	}{
		{name: "nothing set", wantServers: []string{DefaultServer}, wantSource: SourceDefault},
		{name: "legacy file", file: fileCfg, wantServers: []string{"http://file:7070"}, wantToken: "file-token", wantSource: `context "default" in ~/.minkube/config`},
		{name: "env over file", file: fileCfg, envServer: "http://env:7070", envToken: "env-token",
			wantServers: []string{"http://env:7070"}, wantToken: "env-token", wantSource: SourceEnv},
		{name: "flags over env", file: fileCfg, envServer: "http://env:7070", envToken: "env-token",
			flagServer: "http://flag:7070", flagToken: "flag-token",
			wantServers: []string{"http://flag:7070"}, wantToken: "flag-token", wantSource: SourceFlag},
		{name: "each field on its own", file: fileCfg, flagServer: "http://flag:7070",
			wantServers: []string{"http://flag:7070"}, wantToken: "file-token", wantSource: SourceFlag},
		{name: "file without server", file: "token: t\n", wantServers: []string{DefaultServer}, wantToken: "t", wantSource: SourceDefault},
		{name: "every server of the current context", file: twoClusters,
			wantServers: []string{"http://a1:7070", "http://a2:7070"}, wantToken: "a-token", wantSource: `context "a" in ~/.minkube/config`},
		{name: "--context", file: twoClusters, context: "b",
			wantServers: []string{"http://b:7070"}, wantToken: "b-token", wantSource: `context "b" in ~/.minkube/config`},
		{name: "$MINKUBE_CONTEXT", file: twoClusters, envContext: "b",
			wantServers: []string{"http://b:7070"}, wantToken: "b-token", wantSource: `context "b" in ~/.minkube/config`},
		{name: "unknown context", file: twoClusters, context: "c", wantErr: `context "c" is not in ~/.minkube/config; the contexts are: a, b`},
		{name: "context without a file", context: "c", wantErr: `context "c": there is no config file ~/.minkube/config`},
		{name: "broken file", file: "server: [\n", wantErr: "parse config"},
		{name: "broken file not needed", file: "server: [\n", flagServer: "http://flag:7070", flagToken: "x",
			wantServers: []string{"http://flag:7070"}, wantToken: "x", wantSource: SourceFlag},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := mustHome(t)
			t.Setenv(EnvServer, tt.envServer)
			t.Setenv(EnvToken, tt.envToken)
			t.Setenv(EnvContext, tt.envContext)
			if tt.file != "" {
				mustWriteFile(t, filepath.Join(home, ".minkube", "config"), tt.file)
			}
			got, err := Resolve(Flags{Server: tt.flagServer, Token: tt.flagToken, Context: tt.context})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if !slices.Equal(got.Servers, tt.wantServers) || got.Token != tt.wantToken || got.Source != tt.wantSource {
				t.Errorf("Resolve = %+v; want %q, %q, %q", got, tt.wantServers, tt.wantToken, tt.wantSource)
			}
		})
	}
}

// TestResolve_ConfigVariable reads the file $MINKUBE_CONFIG names.
func TestResolve_ConfigVariable(t *testing.T) {
	mustHome(t)
	path := filepath.Join(t.TempDir(), "elsewhere.yaml")
	mustWriteFile(t, path, "server: http://there:7070\ntoken: x\n")
	t.Setenv(EnvConfig, path)
	t.Setenv(EnvContext, "")
	got, err := Resolve(Flags{})
	if err != nil || !slices.Equal(got.Servers, []string{"http://there:7070"}) || got.Token != "x" {
		t.Errorf("Resolve = %+v, %v", got, err)
	}
}

// TestResolve_TokenFileAndCA: the token may come from a file (kept out of
// ps), and the CA that verifies the managers from a flag, the
// environment, or the context's cluster, also when the server comes from
// a flag.
func TestResolve_TokenFileAndCA(t *testing.T) {
	const pemCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	const cfg = `current-context: a
clusters:
- {name: a, servers: ["https://a:7070"], token: a-token, certificate-authority-data: ` + "Y29udGV4dC1jYQ==" + `}
contexts:
- {name: a, cluster: a}
`
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	caFile := filepath.Join(dir, "ca.crt")
	notCA := filepath.Join(dir, "not-ca")
	mustWriteFile(t, tokenFile, "file-token\n")
	mustWriteFile(t, caFile, pemCA)
	mustWriteFile(t, notCA, "hello\n")
	tests := []struct {
		name              string
		flags             Flags
		envToken, envFile string
		envCA             string
		wantToken, wantCA string
		wantErr           string
	}{
		{name: "context", wantToken: "a-token", wantCA: "context-ca"},
		{name: "--token-file", flags: Flags{TokenFile: tokenFile}, wantToken: "file-token", wantCA: "context-ca"},
		{name: "--token over --token-file", flags: Flags{Token: "flag", TokenFile: tokenFile}, wantToken: "flag", wantCA: "context-ca"},
		{name: "$MINKUBE_TOKEN_FILE", envFile: tokenFile, wantToken: "file-token", wantCA: "context-ca"},
		{name: "--token-file over $MINKUBE_TOKEN", flags: Flags{TokenFile: tokenFile}, envToken: "env", wantToken: "file-token", wantCA: "context-ca"},
		{name: "a missing token file", flags: Flags{TokenFile: filepath.Join(dir, "none")}, wantErr: "--token-file: open"},
		{name: "--certificate-authority", flags: Flags{CertificateAuthority: caFile}, wantToken: "a-token", wantCA: pemCA},
		{name: "$MINKUBE_CERTIFICATE_AUTHORITY", envCA: caFile, wantToken: "a-token", wantCA: pemCA},
		{name: "the context's CA with --server", flags: Flags{Server: "https://b:7070", Token: "x"}, wantToken: "x", wantCA: "context-ca"},
		{name: "a CA file without a certificate", flags: Flags{CertificateAuthority: notCA}, wantErr: "--certificate-authority " + notCA + ": no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := mustHome(t)
			mustWriteFile(t, filepath.Join(home, ".minkube", "config"), cfg)
			t.Setenv(EnvServer, "")
			t.Setenv(EnvContext, "")
			t.Setenv(EnvToken, tt.envToken)
			t.Setenv(EnvTokenFile, tt.envFile)
			t.Setenv(EnvCA, tt.envCA)
			got, err := Resolve(tt.flags)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Resolve error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Token != tt.wantToken || string(got.CAData) != tt.wantCA {
				t.Errorf("Resolve = token %q, CA %q; want %q, %q", got.Token, got.CAData, tt.wantToken, tt.wantCA)
			}
		})
	}
}

// TestConfig_AddManagerCA: a manager records its CA with its cluster, and
// a later start replaces it.
func TestConfig_AddManagerCA(t *testing.T) {
	var cfg Config
	cfg.AddManager("dev", "https://127.0.0.1:7070", "t1", []byte("ca-1"))
	cfg.AddManager("dev", "https://127.0.0.1:7070", "t1", []byte("ca-2"))
	if len(cfg.Clusters) != 1 || string(cfg.Clusters[0].CertificateAuthorityData) != "ca-2" {
		t.Errorf("clusters = %+v, want one with ca-2", cfg.Clusters)
	}
	if names := cfg.ReplaceToken("t1", "t2"); len(names) != 1 || cfg.Clusters[0].Token != "t2" {
		t.Errorf("ReplaceToken = %v, clusters %+v", names, cfg.Clusters)
	}
}
