package e2e

import (
	"context"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// dockerProxy stands between one worker and the Docker engine: the worker
// reaches Docker through DOCKER_HOST pointing at the proxy's socket. The
// test counts the API calls that pass and can take the proxy down (every
// connection cut, nothing listening) and bring it back, as a Docker engine
// that stops and starts would.
type dockerProxy struct {
	t        testing.TB
	socket   string
	upstream string // the engine's unix socket

	mu    sync.Mutex
	ln    net.Listener
	srv   *http.Server
	conns map[net.Conn]struct{}
	calls map[string]int // by "METHOD /path" with ids and versions elided
}

// startDockerProxy starts a proxy to the engine the test process uses and
// stops it when the test ends.
func startDockerProxy(t testing.TB) *dockerProxy {
	t.Helper()
	upstream := "/var/run/docker.sock"
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		u, err := url.Parse(h)
		if err != nil || u.Scheme != "unix" {
			t.Skipf("the Docker proxy needs a unix socket DOCKER_HOST, not %q", h)
		}
		upstream = u.Path
	}
	// A short directory: a unix socket path is limited to about 100 bytes.
	dir, err := os.MkdirTemp("", "mkdp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &dockerProxy{t: t, socket: filepath.Join(dir, "docker.sock"), upstream: upstream, calls: map[string]int{}}
	p.start()
	t.Cleanup(p.stop)
	return p
}

// env is what a worker's environment needs to reach Docker through p.
func (p *dockerProxy) env() []string { return []string{"DOCKER_HOST=unix://" + p.socket} }

// start listens on the proxy's socket again.
func (p *dockerProxy) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		return
	}
	_ = os.Remove(p.socket)
	ln, err := net.Listen("unix", p.socket)
	if err != nil {
		p.t.Fatalf("docker proxy: listen on %s: %v", p.socket, err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme = "http"
			r.Out.URL.Host = "docker"
		},
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", p.upstream)
			},
		},
		FlushInterval: -1,                         // events and logs stream
		ErrorLog:      log.New(io.Discard, "", 0), // cut connections are the point
	}
	p.ln = &trackingListener{Listener: ln, p: p}
	p.conns = map[net.Conn]struct{}{}
	p.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.count(r)
			rp.ServeHTTP(w, r)
		}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	srv, l := p.srv, p.ln
	go func() { _ = srv.Serve(l) }()
}

// stop cuts every connection and stops listening: to the worker, Docker is
// gone.
func (p *dockerProxy) stop() {
	p.mu.Lock()
	srv, conns := p.srv, p.conns
	p.srv, p.ln, p.conns = nil, nil, nil
	p.mu.Unlock()
	if srv == nil {
		return
	}
	_ = srv.Close()
	for c := range conns { // hijacked and streaming ones too
		_ = c.Close()
	}
	_ = os.Remove(p.socket)
}

// trackingListener remembers every connection it accepts, so that stop
// can cut them all.
type trackingListener struct {
	net.Listener
	p *dockerProxy
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.p.mu.Lock()
	defer l.p.mu.Unlock()
	if l.p.conns == nil {
		_ = c.Close()
		return nil, errors.New("docker proxy stopped")
	}
	l.p.conns[c] = struct{}{}
	return c, nil
}

// apiPath elides the API version and ids from a Docker API path.
var (
	apiVersion = regexp.MustCompile(`^/v[0-9.]+/`)
	apiID      = regexp.MustCompile(`/[0-9a-f]{12,64}(/|$)`)
)

func (p *dockerProxy) count(r *http.Request) {
	path := apiVersion.ReplaceAllString(r.URL.Path, "/")
	path = apiID.ReplaceAllString(path, "/{id}$1")
	if strings.HasPrefix(path, "/containers/") && !strings.HasPrefix(path, "/containers/json") &&
		!strings.HasPrefix(path, "/containers/create") && !strings.Contains(path, "{id}") {
		// A container named rather than given by id.
		parts := strings.SplitN(path, "/", 4)
		parts[2] = "{name}"
		path = strings.Join(parts, "/")
	}
	p.mu.Lock()
	p.calls[r.Method+" "+path]++
	p.mu.Unlock()
}

// takeCalls returns the calls counted since the last takeCalls and resets
// the count.
func (p *dockerProxy) takeCalls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := maps.Clone(p.calls)
	clear(p.calls)
	return out
}

// total sums a count of calls.
func total(calls map[string]int) int {
	n := 0
	for _, c := range calls {
		n += c
	}
	return n
}
