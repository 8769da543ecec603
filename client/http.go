package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Size limits of response bodies. The server refuses request bodies over
// 1 MiB, so one object is well under maxObjectBytes; lists grow with the
// cluster.
const (
	maxObjectBytes = 8 << 20
	maxListBytes   = 512 << 20
	maxErrorBytes  = 64 << 10
)

// Option configures a Client or a WorkerClient.
type Option func(*options)

type options struct {
	httpClient     *http.Client
	tls            TLS
	userAgent      string
	source         string
	attemptTimeout time.Duration
}

// WithHTTPClient makes the client send its requests through hc. The default
// is shared by every client of the package and keeps connections alive. hc
// must not set a Timeout if watches or followed logs are used: bound calls
// with their context instead.
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) { o.httpClient = hc }
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(o *options) { o.userAgent = ua }
}

// WithSource notes where the server address came from ("from
// ~/.minkube/config"); an UnreachableError shows it after the address.
func WithSource(source string) Option {
	return func(o *options) { o.source = source }
}

const defaultUserAgent = "minkube-client"

// newTransport returns a keep-alive transport sized for one process talking
// to a hundred hosts, or to one host from a hundred goroutines.
func newTransport(proxy func(*http.Request) (*url.URL, error)) *http.Transport {
	return &http.Transport{
		Proxy: proxy,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          2048,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// httpClients holds the clients shared by every Client and WorkerClient,
// one per way of verifying servers and of using a proxy: a manager's
// clients of its workers, or a process's many simulated workers, share
// their keep-alive connections.
var httpClients sync.Map // clientKey -> *http.Client

type clientKey struct {
	tls   TLS
	proxy bool
}

// httpClient returns the shared client for t; with proxy it honours
// HTTP_PROXY and friends the way kubectl does (loopback addresses never
// go through a proxy), which a pinning client never does.
func httpClient(t TLS, proxy bool) (*http.Client, error) {
	key := clientKey{tls: t, proxy: proxy && t.CAHash == ""}
	if hc, ok := httpClients.Load(key); ok {
		return hc.(*http.Client), nil
	}
	var p func(*http.Request) (*url.URL, error)
	if key.proxy {
		p = http.ProxyFromEnvironment
	}
	tr := newTransport(p)
	if err := t.configure(tr); err != nil {
		return nil, err
	}
	hc, _ := httpClients.LoadOrStore(key, &http.Client{Transport: tr})
	return hc.(*http.Client), nil
}

// parseServer turns "127.0.0.1:7070" (HTTPS) or "https://127.0.0.1:7070/"
// into a base URL.
func parseServer(server string) (*url.URL, error) {
	s := strings.TrimSpace(server)
	if s == "" {
		return nil, fmt.Errorf("server address is empty")
	}
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("server address %q: %w", server, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("server address %q: scheme must be http or https", server)
	case u.Host == "":
		return nil, fmt.Errorf("server address %q: no host", server)
	case u.User != nil, u.RawQuery != "", u.Fragment != "":
		return nil, fmt.Errorf("server address %q: must be [http[s]://]HOST:PORT[/PATH]", server)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// requester sends JSON requests to one server, or fails over between
// several (servers). Client and WorkerClient are thin typed layers over it.
type requester struct {
	base           *url.URL
	servers        *Servers // nil: base only
	attemptTimeout time.Duration
	peer           string // "the manager" or "the worker", for messages
	source         string
	token          string
	hc             *http.Client
	userAgent      string

	upgradeOnce sync.Once
	upgradeHC   *http.Client
}

// server returns the base URL calls go to now; nil when a list of
// servers has none yet.
func (r *requester) server() *url.URL {
	if r.servers != nil {
		if list := r.servers.order(); len(list) > 0 {
			return list[0]
		}
		return nil
	}
	return r.base
}

// upgradeClient returns the client for requests that switch protocols: a
// copy of hc that speaks only HTTP/1.1, since an HTTP/2 connection cannot
// be switched to another protocol.
func (r *requester) upgradeClient() *http.Client {
	r.upgradeOnce.Do(func() {
		r.upgradeHC = r.hc
		t, ok := r.hc.Transport.(*http.Transport)
		if !ok {
			return
		}
		t = t.Clone()
		t.ForceAttemptHTTP2 = false
		t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		if t.TLSClientConfig != nil {
			t.TLSClientConfig.NextProtos = []string{"http/1.1"}
		}
		hc := *r.hc
		hc.Transport = t
		r.upgradeHC = &hc
	})
	return r.upgradeHC
}

// serverString is server as text, for messages.
func (r *requester) serverString() string {
	if u := r.server(); u != nil {
		return u.String()
	}
	return "no address yet"
}

// newRequester returns a requester of base, or of the servers when base
// is nil; proxy says whether the peer may be reached through a proxy.
func newRequester(base *url.URL, servers *Servers, token, peer string, proxy bool, opts []Option) (*requester, error) {
	o := options{userAgent: defaultUserAgent, attemptTimeout: DefaultAttemptTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		hc, err := httpClient(o.tls, proxy)
		if err != nil {
			return nil, err
		}
		o.httpClient = hc
	}
	return &requester{
		base:           base,
		servers:        servers,
		attemptTimeout: o.attemptTimeout,
		peer:           peer,
		source:         o.source,
		token:          token,
		hc:             o.httpClient,
		userAgent:      o.userAgent,
	}, nil
}

// request describes one call.
type request struct {
	method string
	// path is joined to the base URL; callers escape its segments.
	path  string
	query url.Values
	// body, when not nil, is sent as JSON.
	body any
	// rawBody, when not nil, is sent as it is: JSON the caller encoded.
	rawBody []byte
	// idempotent marks a POST that may be made twice (an apply): it is
	// made again on another server as a PUT is.
	idempotent bool
	// token, when not empty, replaces the requester's bearer token.
	token string
	// noAuth sends no Authorization header (healthz).
	noAuth bool
	// upgrade, when set, asks to switch the connection to this protocol;
	// the answer must be 101 Switching Protocols.
	upgrade string
}

// send performs req and returns the response when its status is 2xx. Any
// other status is returned as a *v1.Status error, with the body consumed
// and closed. The caller closes the body of a returned response.
func (r *requester) send(ctx context.Context, req request) (*http.Response, error) {
	if r.servers != nil {
		return r.sendFailover(ctx, req)
	}
	return r.sendTo(ctx, r.base, req, 0)
}

// sendTo performs req against one server. A positive timeout bounds the
// wait for the response headers: past it the attempt fails as
// unreachable.
func (r *requester) sendTo(ctx context.Context, base *url.URL, req request, timeout time.Duration) (*http.Response, error) {
	u := *base
	u.Path = base.Path + req.path
	if len(req.query) > 0 {
		u.RawQuery = req.query.Encode()
	}
	var body io.Reader
	switch {
	case req.rawBody != nil:
		body = bytes.NewReader(req.rawBody)
	case req.body != nil:
		data, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", req.method, req.path, err)
		}
		body = bytes.NewReader(data)
	}
	hreq, err := http.NewRequestWithContext(ctx, req.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.method, req.path, err)
	}
	hreq.Header.Set("Accept", "application/json")
	hreq.Header.Set("User-Agent", r.userAgent)
	if body != nil {
		hreq.Header.Set("Content-Type", "application/json")
	}
	hc := r.hc
	if req.upgrade != "" {
		hreq.Header.Set("Connection", "Upgrade")
		hreq.Header.Set("Upgrade", req.upgrade)
		hc = r.upgradeClient()
	}
	if !req.noAuth {
		token := r.token
		if req.token != "" {
			token = req.token
		}
		if token != "" {
			hreq.Header.Set("Authorization", "Bearer "+token)
		}
	}
	var resp *http.Response
	if req.upgrade != "" {
		// The switched connection is the response body: no attempt
		// timeout on it, and its write side must stay visible.
		resp, err = hc.Do(hreq)
	} else {
		resp, err = r.do(ctx, hreq, timeout)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s %s at %s: %w", req.method, req.path, base, context.Cause(ctx))
		}
		return nil, &UnreachableError{Peer: r.peer, Server: base.String(), Source: r.source, Err: err}
	}
	switch {
	case req.upgrade != "" && resp.StatusCode == http.StatusSwitchingProtocols:
		return resp, nil
	case req.upgrade != "" && resp.StatusCode < 300:
		closeBody(resp.Body)
		return nil, fmt.Errorf("%s at %s answered %s %s with %s instead of switching to %s", r.peer, base, req.method, req.path, resp.Status, req.upgrade)
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return resp, nil
	}
	defer closeBody(resp.Body)
	return nil, r.statusFromResponse(base, req, resp)
}

// do sends hreq; a positive timeout bounds the wait for the response
// headers, not the reading of the body.
func (r *requester) do(ctx context.Context, hreq *http.Request, timeout time.Duration) (*http.Response, error) {
	if timeout <= 0 {
		return r.hc.Do(hreq)
	}
	actx, cancel := context.WithCancel(ctx)
	fired := make(chan struct{})
	timer := time.AfterFunc(timeout, func() { close(fired); cancel() })
	resp, err := r.hc.Do(hreq.WithContext(actx))
	if !timer.Stop() {
		<-fired
		if err == nil {
			closeBody(resp.Body)
		}
		return nil, &url.Error{Op: hreq.Method, URL: hreq.URL.String(), Err: errNoAnswer{after: timeout}}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = &cancelingBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// call performs req and decodes the JSON answer into out (when not nil),
// reading at most limit bytes. It returns the response for its status and
// headers; its body is already closed.
func (r *requester) call(ctx context.Context, req request, out any, limit int64) (*http.Response, error) {
	body, err := r.open(ctx, req, limit)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if out == nil {
		return body.resp, nil
	}
	// Read whole, then decoded at once: the stream decoder reads in small
	// pieces and scans the value again from its start after each.
	data, err := io.ReadAll(body)
	if err == nil {
		if err = json.Unmarshal(data, out); err != nil {
			err = body.fail(err)
		}
	}
	if err != nil {
		return nil, err
	}
	return body.resp, nil
}

// callRaw performs req and returns its JSON answer as it came, checked to
// be one valid JSON value but not decoded, reading at most limit bytes.
// Reading it whole and checking it costs a fraction of what a
// json.Decoder into a json.RawMessage does (it scans as it refills).
func (r *requester) callRaw(ctx context.Context, req request, limit int64) ([]byte, error) {
	body, err := r.open(ctx, req, limit)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err == nil && !json.Valid(data) {
		err = body.fail(errors.New("not one valid JSON value"))
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}

// open performs req and returns its answer's body to read as it arrives,
// at most limit bytes of it. Its read errors name the request.
func (r *requester) open(ctx context.Context, req request, limit int64) (*answer, error) {
	resp, err := r.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return &answer{resp: resp, r: &limitedReader{r: resp.Body, n: limit, limit: limit}, ctx: ctx, req: req, rq: r}, nil
}

// answer is the body of a response being read. A read error, or one the
// reader finds in what it read (fail), is worded as an error of the
// request: the context's cause when it ended.
type answer struct {
	resp *http.Response
	r    *limitedReader
	ctx  context.Context
	req  request
	rq   *requester
}

func (a *answer) Read(p []byte) (int, error) {
	n, err := a.r.Read(p)
	if err != nil && err != io.EOF {
		err = a.fail(err)
	}
	return n, err
}

// fail words err, met reading the answer, as an error of the request.
func (a *answer) fail(err error) error {
	if a.ctx.Err() != nil {
		return fmt.Errorf("%s %s at %s: %w", a.req.method, a.req.path, a.rq.serverString(), context.Cause(a.ctx))
	}
	return fmt.Errorf("decode the answer of %s to %s %s: %w", a.rq.peer, a.req.method, a.req.path, err)
}

// Close drains a little of what is left, so that the connection can serve
// again, and closes the body.
func (a *answer) Close() error {
	closeBody(a.resp.Body)
	return nil
}

// statusFromResponse returns the *v1.Status an error response carries, or
// one built from the HTTP status when the body is not a Status.
func (r *requester) statusFromResponse(base *url.URL, req request, resp *http.Response) *v1.Status {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	var st v1.Status
	if err := json.Unmarshal(data, &st); err == nil && (st.Kind == v1.KindStatus || st.Reason != "" || st.Code != 0) {
		if st.Code == 0 {
			st.Code = resp.StatusCode
		}
		if st.Reason == "" {
			st.Reason = reasonForCode(st.Code)
		}
		if st.Status == "" {
			st.Status = "Failure"
		}
		if st.Message == "" {
			st.Message = fmt.Sprintf("%s at %s answered %s %s with %s", r.peer, base, req.method, req.path, resp.Status)
		}
		return &st
	}
	msg := fmt.Sprintf("%s at %s answered %s %s with %s", r.peer, base, req.method, req.path, resp.Status)
	if snippet := firstLine(data); snippet == plainHTTPAnswer && base.Scheme == "http" {
		msg = fmt.Sprintf("%s at %s serves HTTPS, not plain HTTP: use https://%s", r.peer, base, base.Host)
	} else if snippet != "" {
		msg += ": " + snippet
	}
	return &v1.Status{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus},
		Status:   "Failure",
		Reason:   reasonForCode(resp.StatusCode),
		Code:     resp.StatusCode,
		Message:  msg,
	}
}

// firstLine returns the first non-empty line of data, cut to 200 bytes of
// valid UTF-8.
func firstLine(data []byte) string {
	s := strings.TrimSpace(string(data))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > 200 {
		s = s[:200]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	return s
}

// closeBody drains a little of body, so the connection can be reused, and
// closes it.
func closeBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}

// limitedReader reads at most n bytes and then fails with
// ErrResponseTooLarge, unlike io.LimitReader, which ends quietly.
type limitedReader struct {
	r     io.Reader
	n     int64
	limit int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, l.limit)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// pathEscape escapes one path segment and refuses an empty one, which
// would silently address the collection instead of an object.
func pathEscape(what, name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("%s name is empty", what)
	}
	return url.PathEscape(name), nil
}
