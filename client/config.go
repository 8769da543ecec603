package client

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Environment variables that name the manager and the token; they come
// after the flags and before the config file.
const (
	EnvServer = "MINKUBE_SERVER"
	EnvToken  = "MINKUBE_TOKEN"
)

// Where Resolve found the server address.
const (
	SourceFlag    = "--server"
	SourceEnv     = "$" + EnvServer
	SourceDefault = "default"
)

// Config is the content of ~/.minkube/config: how mkctl reaches a manager.
type Config struct {
	// Server is the manager's base URL, e.g. http://127.0.0.1:7070.
	Server string `json:"server,omitempty"`
	// Token is the bearer token for the manager's API.
	Token string `json:"token,omitempty"`
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
// error, so a misspelt key does not go unnoticed. A missing file returns an
// error wrapping fs.ErrNotExist.
func LoadConfig(path string) (Config, error) {
	var cfg Config
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("read config %s: %w", path, err)
	}
	if err := yaml.UnmarshalStrict(data, &cfg); err != nil {
		return Config{}, fmt.Errorf("parse config %s: %w", path, err)
	}
	return cfg, nil
}

// WriteConfig writes cfg to path as YAML, readable by its owner only (mode
// 0600, in a directory created with mode 0700). The file is replaced
// atomically: a reader sees the old content or the new, never a part.
func WriteConfig(path string, cfg Config) error {
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

// Resolve decides which manager to call and with which token. Each of the
// two is taken from the first place that sets it: the flag value, then the
// environment ($MINKUBE_SERVER, $MINKUBE_TOKEN), then the config file
// (DefaultConfigPath), and for the server finally DefaultServer. source
// says where the server came from, for error messages: SourceFlag,
// SourceEnv, the config file's path (with the home directory shown as ~),
// or SourceDefault. A missing config file is not an error; an unreadable
// or malformed one is.
func Resolve(flagServer, flagToken string) (server, token, source string, err error) {
	server, token = flagServer, flagToken
	if server != "" {
		source = SourceFlag
	} else if v := os.Getenv(EnvServer); v != "" {
		server, source = v, SourceEnv
	}
	if token == "" {
		token = os.Getenv(EnvToken)
	}
	if server == "" || token == "" {
		path, perr := DefaultConfigPath()
		if perr == nil {
			cfg, lerr := LoadConfig(path)
			switch {
			case lerr == nil:
				if server == "" && cfg.Server != "" {
					server, source = cfg.Server, displayPath(path)
				}
				if token == "" {
					token = cfg.Token
				}
			case !errors.Is(lerr, fs.ErrNotExist):
				return "", "", "", lerr
			}
		}
	}
	if server == "" {
		server, source = DefaultServer, SourceDefault
	}
	return server, token, source, nil
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
