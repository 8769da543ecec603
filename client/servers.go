package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// DefaultAttemptTimeout is how long a Client with several servers waits
// for one server's answer (its response headers) before it tries the next:
// a manager that is frozen or cut off accepts connections and never
// answers.
const DefaultAttemptTimeout = 5 * time.Second

// Servers is the list of manager URLs a Client fails over between, in the
// order they are tried. It is safe for concurrent use and may be shared by
// several Clients (a worker's join client and its own) and changed while
// they run. Calls start with the server that last answered.
//
// The list has two parts: what the managers say is up (Learn: a worker
// learns it from every registration and heartbeat reply, so it follows
// managers that join or leave after it started), and, after it, the base
// the list was made with: the URLs given (NewServers, Set), or those of
// Endpoints that are looked up (NewServersFrom: a dns+srv:// name). The
// base stays at the end, so a worker never forgets where it started; the
// Endpoints are looked up again when no server of the list answers.
type Servers struct {
	mu      sync.Mutex
	base    []*url.URL
	learned []*url.URL
	eps     Endpoints // nil: base is fixed
	current string    // the server that last answered
}

// Endpoints are manager URLs that are looked up rather than given:
// discovery.SRVEndpoints for a dns+srv:// address.
type Endpoints interface {
	// Endpoints returns the URLs of the last lookup, best first, without
	// looking anything up.
	Endpoints() []string
	// Refresh looks the URLs up again and returns them. On an error it
	// may still return the last good URLs.
	Refresh(ctx context.Context) ([]string, error)
}

// NewServers returns the list of the given URLs ("https://127.0.0.1:7070",
// or "127.0.0.1:7070" for the same); each may itself be a comma-separated
// list. It fails when there is none or one is not a usable address.
func NewServers(servers ...string) (*Servers, error) {
	s := &Servers{}
	if err := s.Set(servers); err != nil {
		return nil, err
	}
	return s, nil
}

// NewServersFrom returns a list whose base is what eps looks up. Nothing
// is looked up yet: a call with an empty list looks the endpoints up
// first.
func NewServersFrom(eps Endpoints) *Servers { return &Servers{eps: eps} }

// Set replaces the base of the list with the given URLs. Entries may be
// comma-separated lists; duplicates are dropped, the first place kept. It
// fails, leaving the list as it was, when the result is empty or an entry
// is not a usable address.
func (s *Servers) Set(servers []string) error {
	list, err := parseServers(servers)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		return fmt.Errorf("no server address")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.base, s.eps = list, nil
	return nil
}

// Learn records the managers' own list of the managers that are up: it
// comes first from now on, the base after it. An empty list changes
// nothing (a lone manager lists none). It fails, changing nothing, when
// an entry is not a usable address.
func (s *Servers) Learn(urls []string) error {
	list, err := parseServers(urls)
	if err != nil || len(list) == 0 {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learned = list
	return nil
}

// parseServers parses entries (each possibly comma-separated) into URLs,
// dropping duplicates.
func parseServers(entries []string) ([]*url.URL, error) {
	var list []*url.URL
	seen := map[string]bool{}
	for _, entry := range entries {
		for _, one := range strings.Split(entry, ",") {
			if strings.TrimSpace(one) == "" {
				continue
			}
			u, err := parseServer(one)
			if err != nil {
				return nil, err
			}
			if !seen[u.String()] {
				seen[u.String()] = true
				list = append(list, u)
			}
		}
	}
	return list, nil
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
// answered, or the first; "" while the list is empty.
func (s *Servers) Current() string {
	if list := s.order(); len(list) > 0 {
		return list[0].String()
	}
	return ""
}

// order returns the list (learned, then base, without duplicates)
// starting with the current server.
func (s *Servers) order() []*url.URL {
	s.mu.Lock()
	learned, base, eps, current := s.learned, s.base, s.eps, s.current
	s.mu.Unlock()
	if eps != nil {
		base, _ = parseServers(eps.Endpoints()) // looked up URLs are well formed
	}
	list := slices.Clone(learned)
	for _, u := range base {
		if !slices.ContainsFunc(list, func(l *url.URL) bool { return l.String() == u.String() }) {
			list = append(list, u)
		}
	}
	i := slices.IndexFunc(list, func(u *url.URL) bool { return u.String() == current })
	if i <= 0 {
		return list
	}
	return append(slices.Clone(list[i:]), list[:i]...)
}

// refresh looks the endpoints up again, when the base comes from them,
// and returns the list as order does; ok is false when there is nothing
// to look up.
func (s *Servers) refresh(ctx context.Context) (list []*url.URL, ok bool, err error) {
	s.mu.Lock()
	eps := s.eps
	s.mu.Unlock()
	if eps == nil {
		return nil, false, nil
	}
	_, err = eps.Refresh(ctx)
	return s.order(), true, err
}

// lookedUp reports whether the base comes from Endpoints.
func (s *Servers) lookedUp() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eps != nil
}

func (s *Servers) use(u *url.URL) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.current = u.String()
}

// NewWithServers returns a client of the managers in servers that
// authenticates with token. A call goes to the server that last answered;
// when that one gives no answer (connection refused or broken, no
// response within WithAttemptTimeout, a certificate that does not verify)
// or answers 503, the call is made again on the next, until one answers
// or every one has been tried; with Endpoints, they are then looked up
// again and the new ones tried. A POST is made again only when it could
// not have reached the server (NotSent), so a create is never sent twice.
func NewWithServers(servers *Servers, token string, opts ...Option) (*Client, error) {
	if servers == nil {
		return nil, errors.New("no servers")
	}
	r, err := newRequester(nil, servers, token, "the manager", true, opts)
	if err != nil {
		return nil, err
	}
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
	tried := map[string]bool{}
	var order []string
	var last error
	bases := r.servers.order()
	for round := 0; round < 2; round++ {
		if round == 1 || len(bases) == 0 {
			list, ok, err := r.servers.refresh(ctx)
			if !ok {
				break
			}
			if len(list) == 0 {
				if err == nil {
					err = errors.New("no manager address")
				}
				if last == nil {
					last = &UnreachableError{Peer: r.peer, Source: r.source, Err: err}
				}
				break
			}
			bases = list
		}
		untried := slices.DeleteFunc(slices.Clone(bases), func(u *url.URL) bool { return tried[u.String()] })
		for i, base := range untried {
			tried[base.String()] = true
			order = append(order, base.String())
			// The last server tried gets the rest of the call's context.
			timeout := time.Duration(0)
			if i < len(untried)-1 || (round == 0 && r.servers.lookedUp()) {
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
			last = err
		}
	}
	var ue *UnreachableError
	if errors.As(last, &ue) && len(order) > 1 {
		return nil, &UnreachableError{Peer: r.peer, Server: strings.Join(order, ", "), Source: r.source, Err: ue.Err}
	}
	return nil, last
}

// retryable reports whether a failed call may be made again on another
// server: it got no answer (a POST only when it cannot have been sent,
// unless it is idempotent) or the server said it cannot serve now.
func retryable(req request, err error) bool {
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return req.method != http.MethodPost || req.idempotent || NotSent(ue.Err)
	}
	return unavailable(err)
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
