package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/pki/pkitest"
)

// mustConfig writes $HOME/.minkube/config.
func mustConfig(t *testing.T, e *env, content string) {
	t.Helper()
	mustWriteFile(t, filepath.Join(e.home, ".minkube", "config"), content)
}

func TestServerResolution(t *testing.T) {
	tests := []struct {
		name string
		// where is which of the three managers gets the request.
		where     string
		flags     bool
		envVars   bool
		config    bool
		noToken   bool
		extraArgs []string
	}{
		{name: "config file", where: "file", config: true},
		{name: "env over config file", where: "env", config: true, envVars: true},
		{name: "flags over env", where: "flag", config: true, envVars: true, flags: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			managers := map[string]*fakeManager{"file": mustManager(t), "env": mustManager(t), "flag": mustManager(t)}
			var vars []string
			if tt.envVars {
				vars = append(vars, "MINKUBE_SERVER="+managers["env"].URL, "MINKUBE_TOKEN="+goodToken)
			}
			e := mustEnv(t, vars...)
			if tt.config {
				mustConfig(t, e, "server: "+managers["file"].URL+"\ntoken: "+goodToken+"\n")
			}
			a := []string{"get", "tasks", "-o", "name"}
			if tt.flags {
				a = append(a, "--server", managers["flag"].URL, "--token", goodToken)
			}
			e.mustSucceed(t, a...)
			for name, m := range managers {
				_, _, n := m.recorded()
				if want := map[bool]int{true: 1, false: 0}[name == tt.where]; n != want {
					t.Errorf("the %s manager got %d requests, want %d", name, n, want)
				}
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	addr := closedAddr(t)
	tests := []struct {
		name   string
		vars   []string
		config string
		args   []string
		want   string
	}{
		{
			name:   "from the config file",
			config: "server: https://" + addr + "\ntoken: x\n",
			want:   "error: cannot reach the manager at https://" + addr + " (from context \"default\" in ~/.minkube/config): connection refused\n",
		},
		{
			name: "from the environment",
			vars: []string{"MINKUBE_SERVER=" + addr},
			want: "error: cannot reach the manager at https://" + addr + " (from $MINKUBE_SERVER): connection refused\n",
		},
		{
			name: "from the flag",
			args: []string{"--server", "https://" + addr},
			want: "error: cannot reach the manager at https://" + addr + " (from --server): connection refused\n",
		},
		{
			name: "plain HTTP",
			args: []string{"--server", "http://" + addr},
			want: "error: the manager at http://" + addr + " (from --server) is called over plain HTTP, which would send the token in clear; managers serve HTTPS: use https://" + addr + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEnv(t, tt.vars...)
			if tt.config != "" {
				mustConfig(t, e, tt.config)
			}
			for _, cmd := range [][]string{{"get", "tasks"}, {"version"}} {
				res := e.mustFail(t, append(cmd, tt.args...)...)
				if res.stderr != tt.want {
					t.Errorf("mkctl %v: stderr = %q, want %q", cmd, res.stderr, tt.want)
				}
			}
		})
	}
}

func TestBadToken(t *testing.T) {
	m := mustManager(t)
	tests := []struct {
		name  string
		token []string
		want  string
	}{
		{
			name:  "wrong token",
			token: []string{"--token", "wrong"},
			want:  "error: the manager at " + m.URL + " rejected the token (invalid bearer token); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n",
		},
		{
			name: "no token",
			want: "error: the manager at " + m.URL + " wants a token and none was given; set --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := mustEnv(t)
			mustWriteFile(t, filepath.Join(e.dir, "web.yaml"), webYAML)
			for _, cmd := range [][]string{{"get", "tasks"}, {"apply", "-f", "web.yaml"}, {"delete", "task", "a", "b"}} {
				res := e.mustFail(t, append(append(cmd, "--server", m.URL), tt.token...)...)
				if res.stderr != tt.want {
					t.Errorf("mkctl %v: stderr = %q, want %q", cmd, res.stderr, tt.want)
				}
			}
		})
	}
}

func TestBadConfig(t *testing.T) {
	e := mustEnv(t)
	mustConfig(t, e, "sever: http://127.0.0.1:7070\n")
	res := e.mustFail(t, "get", "tasks")
	want := "error: parse config " + filepath.Join(e.home, ".minkube", "config") + ": "
	if !strings.HasPrefix(res.stderr, want) || !strings.Contains(res.stderr, `unknown field "sever"`) {
		t.Errorf("stderr = %q, want it to start %q and name the unknown field", res.stderr, want)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "unknown flag", args: []string{"get", "tasks", "--nope"}, want: "error: unknown flag: --nope\nSee 'mkctl get --help' for usage.\n"},
		{name: "unknown global flag", args: []string{"--nope"}, want: "error: unknown flag: --nope\nSee 'mkctl --help' for usage.\n"},
		{name: "flag without value", args: []string{"apply", "-f"}, want: "error: flag needs an argument: 'f' in -f\nSee 'mkctl apply --help' for usage.\n"},
		{name: "unknown command", args: []string{"aply"}, want: "error: unknown command \"aply\" for \"mkctl\"; did you mean \"apply\"?\nSee 'mkctl --help' for usage.\n"},
		{name: "stray argument", args: []string{"version", "extra"}, want: "error: unexpected arguments: extra\nSee 'mkctl version --help' for usage.\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustEnv(t).mustFail(t, tt.args...)
			if res.stderr != tt.want || res.stdout != "" {
				t.Errorf("stdout %q, stderr %q; want nothing, %q", res.stdout, res.stderr, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	e := mustEnv(t)
	for _, a := range [][]string{nil, {"--help"}, {"apply", "--help"}} {
		out := e.mustSucceed(t, a...)
		if !strings.Contains(out, "Usage:") {
			t.Errorf("mkctl %v printed no usage: %q", a, out)
		}
	}
}

func TestVersion(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	client := regexp.MustCompile(`^Client Version: ` + regexp.QuoteMeta(testVersion) + ` \(commit \S+, go[0-9.]+, \w+/\w+\)\n`)
	if out := e.mustSucceed(t, "version", "--client"); !client.MatchString(out) || strings.Count(out, "\n") != 1 {
		t.Errorf("version --client = %q", out)
	}
	out := e.mustSucceed(t, args(m, "version")...)
	if !client.MatchString(out) || !strings.HasSuffix(out, "\nServer Version: v9.9.9 (commit abc123, go1.26)\n") {
		t.Errorf("version = %q", out)
	}
	if _, _, n := m.recorded(); n != 1 {
		t.Errorf("the manager got %d requests, want 1", n)
	}
	var v struct {
		ClientVersion struct{ Version, GitCommit, GoVersion string }
		ServerVersion struct{ Version, GitCommit string }
	}
	if err := json.Unmarshal([]byte(e.mustSucceed(t, args(m, "version", "-o", "json")...)), &v); err != nil ||
		v.ClientVersion.Version != testVersion || v.ClientVersion.GoVersion == "" || v.ServerVersion.Version != "v9.9.9" || v.ServerVersion.GitCommit != "abc123" {
		t.Errorf("version -o json = %+v, %v", v, err)
	}
	if out := e.mustSucceed(t, "version", "--client", "-o", "yaml"); !strings.HasPrefix(out, "clientVersion:\n") || strings.Contains(out, "serverVersion") {
		t.Errorf("version --client -o yaml = %q", out)
	}
}

// TestTokenFileAndCA: the token may come from a file, kept out of ps, and
// a manager whose certificate the CA given does not verify is refused
// before the token is sent.
func TestTokenFileAndCA(t *testing.T) {
	m := mustManager(t)
	e := mustEnv(t)
	tokenFile := mustWriteFile(t, filepath.Join(e.dir, "token"), goodToken+"\n")
	m.addTask(v1.Task{Metadata: v1.ObjectMeta{Name: "web"}, Spec: v1.TaskSpec{Image: "nginx"}})
	if out := e.mustSucceed(t, "get", "tasks", "-o", "name", "--server", m.URL, "--token-file", tokenFile); out != "task/web\n" {
		t.Errorf("get tasks with --token-file = %q", out)
	}
	_, _, before := m.recorded()

	other := mustWriteFile(t, filepath.Join(e.dir, "other-ca.crt"), string(pkitest.NewCA(t).CertPEM))
	res := e.mustFail(t, "get", "tasks", "--server", m.URL, "--token-file", tokenFile, "--certificate-authority", other)
	if !strings.Contains(res.stderr, "certificate is not trusted") || !strings.Contains(res.stderr, "--certificate-authority") {
		t.Errorf("stderr %q, want it to say the certificate is not trusted and where the CA comes from", res.stderr)
	}
	if _, _, after := m.recorded(); after != before {
		t.Errorf("the manager got %d requests from a client that could not verify it", after-before)
	}
}
