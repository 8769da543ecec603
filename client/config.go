package client

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"
)

// Environment variables that name the manager, the token (or a file
// holding it), the CA that verifies the manager (a PEM file), the config
// file and the context; they come after the flags and before the config
// file.
const (
	EnvServer    = "MINKUBE_SERVER"
	EnvToken     = "MINKUBE_TOKEN"
	EnvTokenFile = "MINKUBE_TOKEN_FILE"
	EnvCA        = "MINKUBE_CERTIFICATE_AUTHORITY"
	EnvConfig    = "MINKUBE_CONFIG"
	EnvContext   = "MINKUBE_CONTEXT"
)

// Where Resolve found the server address.
const (
	SourceFlag    = "--server"
	SourceEnv     = "$" + EnvServer
	SourceDefault = "default"
)

// Config is the content of the config file (~/.minkube/config, or
// $MINKUBE_CONFIG): the clusters mkctl knows, the contexts that name them,
// and the current context. Several managers and clusters share one file:
// each manager adds or updates only its own cluster (UpdateConfig,
// AddManager).
type Config struct {
	// CurrentContext names the context used when none is asked for.
	CurrentContext string `json:"current-context,omitempty"`
	// Clusters are the clusters, each with its managers' addresses and
	// its admin token.
	Clusters []Cluster `json:"clusters,omitempty"`
	// Contexts name a cluster to use.
	Contexts []Context `json:"contexts,omitempty"`

	// Server and Token are the single-manager config of older releases.
	// LoadConfig turns them into a cluster and context named "default";
	// they are never written.
	Server string `json:"server,omitempty"`
	Token  string `json:"token,omitempty"`
}

// Cluster is one cluster: where its managers listen, the CA that
// verifies them and the token they accept.
type Cluster struct {
	// Name is unique among the clusters of the file.
	Name string `json:"name"`
	// Servers are the base URLs of the cluster's managers, any of which
	// serves the API.
	Servers []string `json:"servers"`
	// CertificateAuthorityData is the PEM of the CA that verifies the
	// managers' certificates (base64 in the file, as in a kubeconfig);
	// none means the system's roots.
	CertificateAuthorityData []byte `json:"certificate-authority-data,omitempty"`
	// Token is the admin bearer token.
	Token string `json:"token,omitempty"`
}

// Context names the cluster mkctl talks to when it is the current one.
type Context struct {
	// Name is unique among the contexts of the file.
	Name string `json:"name"`
	// Cluster is the name of a cluster of the file.
	Cluster string `json:"cluster"`
}

// legacyName is the name given to a single-server config of an older
// release, and to a cluster added by a manager when the file has none.
const legacyName = "default"

// Cluster returns the cluster called name, or nil.
func (c *Config) Cluster(name string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Name == name {
			return &c.Clusters[i]
		}
	}
	return nil
}

// Context returns the context called name, or nil.
func (c *Config) Context(name string) *Context {
	for i := range c.Contexts {
		if c.Contexts[i].Name == name {
			return &c.Contexts[i]
		}
	}
	return nil
}

// ContextNames returns the names of the contexts, in the file's order.
func (c *Config) ContextNames() []string {
	names := make([]string, len(c.Contexts))
	for i, ctx := range c.Contexts {
		names[i] = ctx.Name
	}
	return names
}

// UseContext makes name the current context. It fails, listing the known
// names, when there is no such context.
func (c *Config) UseContext(name string) error {
	if c.Context(name) == nil {
		return fmt.Errorf("no context %q in the config; the contexts are: %s", name, strings.Join(c.ContextNames(), ", "))
	}
	c.CurrentContext = name
	return nil
}

// upgrade turns the single-server form of older releases into a cluster
// and a context, both named "default" (or the first free name).
func (c *Config) upgrade() {
	if c.Server == "" && c.Token == "" {
		return
	}
	name := c.freeName(legacyName)
	var servers []string
	if c.Server != "" {
		servers = []string{c.Server}
	}
	c.Clusters = append(c.Clusters, Cluster{Name: name, Servers: servers, Token: c.Token})
	c.Contexts = append(c.Contexts, Context{Name: name, Cluster: name})
	if c.CurrentContext == "" {
		c.CurrentContext = name
	}
	c.Server, c.Token = "", ""
}

// freeName returns base, or base-2, base-3... whichever no cluster or
// context is called yet.
func (c *Config) freeName(base string) string {
	name := base
	for i := 2; c.Cluster(name) != nil || c.Context(name) != nil; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	return name
}

// AddManager records a manager in the config: the cluster with its token,
// or the one that lists only its address, is updated (the server added to
// its list, the token and CA set); otherwise a cluster and a context are
// added under base, or base-2, base-3... when base is taken. Other
// clusters and contexts are never changed or removed. When the file had
// no current context, the manager's becomes current. It returns the
// context's name and whether the cluster is new.
func (c *Config) AddManager(base, server, token string, caData []byte) (context string, added bool) {
	cl := c.ownCluster(server, token)
	if cl == nil {
		name := c.freeName(base)
		c.Clusters = append(c.Clusters, Cluster{Name: name, Servers: []string{server}, Token: token})
		c.Contexts = append(c.Contexts, Context{Name: name, Cluster: name})
		cl, added = &c.Clusters[len(c.Clusters)-1], true
	}
	if !slices.Contains(cl.Servers, server) {
		cl.Servers = append(cl.Servers, server)
	}
	cl.Token = token
	cl.CertificateAuthorityData = slices.Clone(caData)
	context = cl.Name
	for _, ctx := range c.Contexts {
		if ctx.Cluster == cl.Name {
			context = ctx.Name
			break
		}
	}
	if c.Context(context) == nil {
		c.Contexts = append(c.Contexts, Context{Name: c.freeName(cl.Name), Cluster: cl.Name})
		context = c.Contexts[len(c.Contexts)-1].Name
	}
	if c.CurrentContext == "" || c.Context(c.CurrentContext) == nil {
		c.CurrentContext = context
	}
	return context, added
}

// ownCluster finds the cluster a manager at server with token belongs to:
// the one with its token (a manager of the same cluster, or the same
// manager again), else the one that lists nothing but its address (what
// answers there now is this manager, whatever token was kept for it).
func (c *Config) ownCluster(server, token string) *Cluster {
	for i := range c.Clusters {
		if c.Clusters[i].Token == token {
			return &c.Clusters[i]
		}
	}
	for i := range c.Clusters {
		if slices.Equal(c.Clusters[i].Servers, []string{server}) {
			return &c.Clusters[i]
		}
	}
	return nil
}

// ReplaceToken gives every cluster whose token is old the token new, as
// after a rotation, and returns the names of those clusters.
func (c *Config) ReplaceToken(old, new string) []string {
	var names []string
	for i := range c.Clusters {
		if old != "" && c.Clusters[i].Token == old {
			c.Clusters[i].Token = new
			names = append(names, c.Clusters[i].Name)
		}
	}
	return names
}

// Redacted returns a copy of c with every token replaced by "REDACTED",
// for showing the config.
func (c Config) Redacted() Config {
	c.Clusters = slices.Clone(c.Clusters)
	for i := range c.Clusters {
		if c.Clusters[i].Token != "" {
			c.Clusters[i].Token = "REDACTED"
		}
	}
	return c
}

// ConfigPath returns the config file's path: $MINKUBE_CONFIG when set,
// else ~/.minkube/config with ~ taken from $HOME. It fails when neither is
// known.
func ConfigPath() (string, error) {
	if p := os.Getenv(EnvConfig); p != "" {
		return p, nil
	}
	return DefaultConfigPath()
}

// DefaultConfigPath returns ~/.minkube/config, with ~ taken from $HOME. It
// fails when no home directory is known.
func DefaultConfigPath() (string, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("find the config file: %w", err)
	}
	return filepath.Join(home, ".minkube", "config"), nil
}

// LoadConfig reads the YAML config file at path. Unknown fields are an
// error, so a misspelt key does not go unnoticed. The single-server form of
// older releases (server: and token: at the top) is read as a cluster and
// context named "default". A missing file returns an error wrapping
// fs.ErrNotExist.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	cfg.upgrade()
	return cfg, nil
}

// WriteConfig writes cfg to path as YAML, readable by its owner only (mode
// 0600, in a directory created with mode 0700). The file is replaced
// atomically: a reader sees the old content or the new, never a part.
// Writers that read the file first should use UpdateConfig, which keeps
// two of them from losing each other's changes.
func WriteConfig(path string, cfg Config) error {
	cfg.upgrade()
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("encode config: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // a no-op after the rename
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// UpdateConfig reads the config at path (an empty one when it does not
// exist), lets fn change it, and writes it back, holding an exclusive lock
// (path + ".lock") throughout, so that managers starting at once, or mkctl
// switching contexts meanwhile, do not lose each other's changes. An error
// from fn leaves the file as it was.
func UpdateConfig(path string, fn func(*Config) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	lock, err := os.OpenFile(path+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("lock config %s: %w", path, err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock config %s: %w", path, err)
	}
	defer func() { _ = unix.Flock(int(lock.Fd()), unix.LOCK_UN) }()
	cfg, err := LoadConfig(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := fn(&cfg); err != nil {
		return err
	}
	return WriteConfig(path, cfg)
}

// Target is what Resolve chose: the managers to call, how to verify them
// and the token.
type Target struct {
	// Servers are the managers' base URLs, in order of preference: one
	// from --server or $MINKUBE_SERVER, or every server of the cluster of
	// the chosen context.
	Servers []string
	Token   string
	// CAData is the PEM of the CA that verifies the managers: from
	// --certificate-authority, $MINKUBE_CERTIFICATE_AUTHORITY, or the
	// chosen context's cluster; empty for the system's roots.
	CAData []byte
	// Source says where the servers came from, for messages: SourceFlag,
	// SourceEnv, `context "NAME" in PATH` (the home directory shown as ~),
	// or SourceDefault.
	Source string
	// Context is the context used, "" when none was.
	Context string
}

// Flags are what a command line says about the manager to call; empty
// fields say nothing.
type Flags struct {
	// Server is --server.
	Server string
	// Token is --token; TokenFile is --token-file, a file holding it.
	Token, TokenFile string
	// CertificateAuthority is --certificate-authority: a PEM file of the
	// CA that verifies the managers.
	CertificateAuthority string
	// Context is --context.
	Context string
}

// Resolve decides which managers to call, how to verify them and with
// which token. The servers come from the flag, else $MINKUBE_SERVER, else
// the cluster of the context (the flag, else $MINKUBE_CONTEXT, else the
// config file's current context), else DefaultServer; the token from
// --token, --token-file, $MINKUBE_TOKEN, $MINKUBE_TOKEN_FILE, then the
// context's cluster; the CA from --certificate-authority,
// $MINKUBE_CERTIFICATE_AUTHORITY, then the context's cluster (also when
// the servers come from a flag, as kubectl does). The config file is
// ConfigPath. A missing config file is not an error; an unreadable or
// malformed one is, and so is a context that is named but does not exist,
// or a token or CA file that cannot be read.
func Resolve(f Flags) (Target, error) {
	var t Target
	if f.Server != "" {
		t.Servers, t.Source = []string{f.Server}, SourceFlag
	} else if v := os.Getenv(EnvServer); v != "" {
		t.Servers, t.Source = []string{v}, SourceEnv
	}
	var err error
	if t.Token, err = firstToken(f.Token, "--token-file", f.TokenFile); err != nil {
		return Target{}, err
	}
	if t.Token == "" {
		if t.Token, err = firstToken(os.Getenv(EnvToken), "$"+EnvTokenFile, os.Getenv(EnvTokenFile)); err != nil {
			return Target{}, err
		}
	}
	caFile, caFlag := f.CertificateAuthority, "--certificate-authority"
	if caFile == "" {
		caFile, caFlag = os.Getenv(EnvCA), "$"+EnvCA
	}
	if caFile != "" {
		if t.CAData, err = readCA(caFlag, caFile); err != nil {
			return Target{}, err
		}
	}
	context := f.Context
	if context == "" {
		context = os.Getenv(EnvContext)
	}
	// The file is needed for what the flags and environment leave open;
	// when that is only the CA, a file that cannot be read is passed over
	// (the system's roots verify the managers then).
	needed := len(t.Servers) == 0 || t.Token == "" || context != ""
	if needed || t.CAData == nil {
		path, err := ConfigPath()
		if err != nil && context != "" {
			return Target{}, err
		}
		if err == nil {
			cfg, lerr := LoadConfig(path)
			switch {
			case lerr == nil:
				if err := t.fromConfig(&cfg, context, path); err != nil && needed {
					return Target{}, err
				}
			case !needed:
			case !errors.Is(lerr, fs.ErrNotExist):
				return Target{}, lerr
			case context != "":
				return Target{}, fmt.Errorf("context %q: there is no config file %s", context, displayPath(path))
			}
		}
	}
	if len(t.Servers) == 0 {
		t.Servers, t.Source = []string{DefaultServer}, SourceDefault
	}
	return t, nil
}

// firstToken returns token, else the token in the file at path (named by
// flag in errors), else "".
func firstToken(token, flag, path string) (string, error) {
	if token != "" || path == "" {
		return token, nil
	}
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

// readCA reads a CA file (named by flag in errors) that must hold a PEM
// certificate.
func readCA(flag, path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	if !bytes.Contains(data, []byte("-----BEGIN CERTIFICATE-----")) {
		return nil, fmt.Errorf("%s %s: %w", flag, path, ErrNoCertificates)
	}
	return data, nil
}

// fromConfig fills in what the flags and environment left open from the
// named context, or the current one.
func (t *Target) fromConfig(cfg *Config, context, path string) error {
	name := context
	if name == "" {
		name = cfg.CurrentContext
	}
	if name == "" {
		return nil
	}
	ctx := cfg.Context(name)
	if ctx == nil {
		return fmt.Errorf("context %q is not in %s; the contexts are: %s", name, displayPath(path), strings.Join(cfg.ContextNames(), ", "))
	}
	cl := cfg.Cluster(ctx.Cluster)
	if cl == nil {
		return fmt.Errorf("context %q in %s names cluster %q, which is not in the file", name, displayPath(path), ctx.Cluster)
	}
	t.Context = name
	if len(t.Servers) == 0 && len(cl.Servers) > 0 {
		t.Servers = slices.Clone(cl.Servers)
		t.Source = fmt.Sprintf("context %q in %s", name, displayPath(path))
	}
	if t.Token == "" {
		t.Token = cl.Token
	}
	if t.CAData == nil && len(cl.CertificateAuthorityData) > 0 {
		t.CAData = slices.Clone(cl.CertificateAuthorityData)
	}
	return nil
}

// displayPath shows path with the home directory as ~.
func displayPath(path string) string {
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return path
	}
	if rel, ok := strings.CutPrefix(path, strings.TrimRight(home, string(filepath.Separator))+string(filepath.Separator)); ok {
		return "~" + string(filepath.Separator) + rel
	}
	return path
}
