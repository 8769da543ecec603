package serve

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// mustServe serves h with opts on a loopback port until the test ends and
// returns the address.
func mustServe(t *testing.T, h http.Handler, opts Options) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := New(h, opts)
	go func() { done <- srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return l.Addr().String()
}

// TestServer_SlowBodyIsCut: a client that sends its headers and then one
// byte of its body at a time is cut off once the read timeout passes,
// long before its body would be whole.
func TestServer_SlowBodyIsCut(t *testing.T) {
	readErr := make(chan error, 1)
	addr := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.ReadAll(r.Body)
		readErr <- err
	}), Options{ReadTimeout: time.Second})

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const bodyLen = 100 // at one byte per 300ms: 30s to send it whole
	fmt.Fprintf(conn, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", bodyLen)
	cut := make(chan int, 1)
	go func() {
		sent := 0
		for ; sent < bodyLen; sent++ {
			if _, err := conn.Write([]byte("a")); err != nil {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		cut <- sent
	}()
	select {
	case err := <-readErr:
		if err == nil {
			t.Fatal("the handler read the whole trickled body")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler is still reading the trickled body after 20s")
	}
	// The server closed the connection: the client's next writes fail.
	select {
	case sent := <-cut:
		if sent >= bodyLen {
			t.Fatalf("the whole body was sent (%d bytes)", sent)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the connection is still open 20s after the handler gave up")
	}
}

// TestServer_StreamOutlivesReadTimeout: once the request is read, a
// handler streams for as long as it needs, with or without a body.
func TestServer_StreamOutlivesReadTimeout(t *testing.T) {
	const lines = 12 // 12 x 150ms: well past the 500ms read timeout
	addr := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.ReadAll(r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc := http.NewResponseController(w)
		for i := range lines {
			fmt.Fprintf(w, "line %d\n", i)
			_ = rc.Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(150 * time.Millisecond):
			}
		}
	}), Options{ReadTimeout: 500 * time.Millisecond})
	for _, method := range []string{http.MethodGet, http.MethodPut} {
		t.Run(method, func(t *testing.T) {
			var body io.Reader
			if method == http.MethodPut {
				body = strings.NewReader(`{"a": 1}`)
			}
			req, _ := http.NewRequestWithContext(t.Context(), method, "http://"+addr+"/watch", body)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			n := 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				n++
			}
			if n != lines {
				t.Errorf("got %d lines (%v), want %d: the stream was cut", n, sc.Err(), lines)
			}
		})
	}
}

// TestServer_MaxConns: past the cap a new connection waits until one
// closes.
func TestServer_MaxConns(t *testing.T) {
	var served atomic.Int32
	addr := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
	}), Options{MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	// Make sure both held connections were accepted.
	for _, c := range held {
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, err := http.ReadResponse(bufio.NewReader(c), nil); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/third")
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a third connection was served while two were open (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	held[0].Close()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the third connection was not served after one closed")
	}
	if n := served.Load(); n != 3 {
		t.Errorf("served %d requests, want 3", n)
	}
}

// TestServer_HTTP1Only: a TLS client that offers HTTP/2 gets HTTP/1.1.
func TestServer_HTTP1Only(t *testing.T) {
	ts := httptest.NewUnstartedServer(nil)
	ts.StartTLS() // only for its certificate
	cert := ts.TLS.Certificates[0]
	ts.Close()
	addr := mustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Proto)
	}), Options{TLS: &tls.Config{Certificates: []tls.Certificate{cert}}})
	hc := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := hc.Get("https://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "HTTP/1.1" {
		t.Errorf("protocol %q, want HTTP/1.1", body)
	}
}

func TestThrottle(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := newThrottle(3, 6*time.Second, func() time.Time { return now })
	req := func(addr string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = addr
		return r
	}
	steps := []struct {
		advance time.Duration
		addr    string
		want    time.Duration
	}{
		{0, "10.0.0.1:1000", 0},
		{0, "10.0.0.1:1001", 0},
		{0, "10.0.0.1:1002", 0},
		{0, "10.0.0.1:1003", 6 * time.Second}, // the allowance is spent: throttled, whatever the port
		{0, "10.0.0.2:1000", 0},               // another client is not
		{2 * time.Second, "10.0.0.1:1004", 4 * time.Second},
		{4 * time.Second, "10.0.0.1:1005", 0}, // one try earned back
		{0, "10.0.0.1:1006", 6 * time.Second},
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		if got := th.Failed(req(s.addr)); got != s.want {
			t.Errorf("step %d (%s): Failed = %s, want %s", i, s.addr, got, s.want)
		}
	}
	if got := RetryAfter(4100 * time.Millisecond); got != "5" {
		t.Errorf("RetryAfter(4.1s) = %q, want 5", got)
	}
}
