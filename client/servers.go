package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// DefaultAttemptTimeout is how long a Client with several servers waits
// for one server's answer (its response headers) before it tries the next:
// a manager that is frozen or cut off accepts connections and never
// answers.
const DefaultAttemptTimeout = 5 * time.Second

// Servers is the list of manager URLs a Client fails over between, in the
// order they are tried. It is safe for concurrent use and may be shared by
// several Clients (a worker's join client and its own) and changed while
// they run: a worker replaces it with the list the managers send back.
// Calls start with the server that last answered.
type Servers struct {
	mu      sync.Mutex
	list    []*url.URL
	current string // the server that last answered
}

// NewServers returns the list of the given URLs ("http://127.0.0.1:7070",
// or "127.0.0.1:7070" for plain HTTP); each may itself be a comma-separated
// list. It fails when there is none or one is not a usable address.
func NewServers(servers ...string) (*Servers, error) {
	s := &Servers{}
	if err := s.Set(servers); err != nil {
		return nil, err
	}
	return s, nil
}

// Set replaces the list. Entries may be comma-separated lists; duplicates
// are dropped, the first place kept. It fails, leaving the list as it was,
// when the result is empty or an entry is not a usable address.
func (s *Servers) Set(servers []string) error {
	var list []*url.URL
	seen := map[string]bool{}
	for _, entry := range servers {
		for _, one := range strings.Split(entry, ",") {
			if strings.TrimSpace(one) == "" {
				continue
			}
			u, err := parseServer(one)
			if err != nil {
				return err
			}
			if !seen[u.String()] {
				seen[u.String()] = true
				list = append(list, u)
			}
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("no server address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = list
	return nil
}

// List returns the URLs in the order they are tried.
func (s *Servers) List() []string {
	var out []string
	for _, u := range s.order() {
		out = append(out, u.String())
	}
	return out
}

// Current returns the server calls start with: the one that last
// answered, or the first.
func (s *Servers) Current() string { return s.order()[0].String() }

// order returns the list starting with the current server.
func (s *Servers) order() []*url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.list, func(u *url.URL) bool { return u.String() == s.current })
	if i <= 0 {
		return slices.Clone(s.list)
	}
	return append(slices.Clone(s.list[i:]), s.list[:i]...)
}

func (s *Servers) use(u *url.URL) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = u.String()
}

// NewWithServers returns a client of the managers in servers that
// authenticates with token. A call goes to the server that last answered;
// when that one gives no answer (connection refused or broken, no
// response within WithAttemptTimeout) or answers 503, the call is made
// again on the next, until one answers or every one has been tried. A
// POST is made again only when it could not have reached the server (the
// connection was refused), so a create is never sent twice.
func NewWithServers(servers *Servers, token string, opts ...Option) (*Client, error) {
	if servers == nil {
		return nil, errors.New("no servers")
	}
	r, err := newRequester(servers.Current(), token, "the manager", managerHTTPClient(), opts)
	if err != nil {
		return nil, err
	}
	r.servers = servers
	return &Client{r: r}, nil
}

// WithAttemptTimeout sets how long a client with several servers waits for
// one server's response headers before trying the next;
// DefaultAttemptTimeout when not set. The last server tried gets the rest
// of the call's context.
func WithAttemptTimeout(d time.Duration) Option {
	return func(o *options) { o.attemptTimeout = d }
}

// sendFailover tries the servers in turn, as NewWithServers describes.
func (r *requester) sendFailover(ctx context.Context, req request) (*http.Response, error) {
	bases := r.servers.order()
	var tried []string
	var last error
	for i, base := range bases {
		timeout := time.Duration(0)
		if i < len(bases)-1 {
			timeout = r.attemptTimeout
		}
		resp, err := r.sendTo(ctx, base, req, timeout)
		if err == nil {
			r.servers.use(base)
			return resp, nil
		}
		if ctx.Err() != nil || !retryable(req, err) {
			return nil, err
		}
		tried = append(tried, base.String())
		last = err
	}
	var ue *UnreachableError
	if errors.As(last, &ue) && len(tried) > 1 {
		return nil, &UnreachableError{Peer: r.peer, Server: strings.Join(tried, ", "), Source: r.source, Err: ue.Err}
	}
	return nil, last
}

// retryable reports whether a failed call may be made again on another
// server: it got no answer (a POST only when it cannot have been sent) or
// the server said it cannot serve now.
func retryable(req request, err error) bool {
	var ue *UnreachableError
	if errors.As(err, &ue) {
		if req.method != http.MethodPost {
			return true
		}
		var op *net.OpError
		return errors.As(ue.Err, &op) && op.Op == "dial"
	}
	var st *v1.Status
	return errors.As(err, &st) && st.Code == http.StatusServiceUnavailable
}

// errNoAnswer is the network error of an attempt whose server sent no
// response headers within the attempt timeout.
type errNoAnswer struct{ after time.Duration }

func (e errNoAnswer) Error() string   { return fmt.Sprintf("no answer within %s", e.after) }
func (e errNoAnswer) Timeout() bool   { return true }
func (e errNoAnswer) Temporary() bool { return true }

// cancelingBody cancels its attempt's context once it is closed.
type cancelingBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelingBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}
