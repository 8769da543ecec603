package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/net/netutil"
	"golang.org/x/sys/unix"
)

// Default limits of a Server.
const (
	// ReadHeaderTimeout bounds the arrival of a request's headers (and
	// of a TLS handshake).
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the arrival of a whole request, body included.
	ReadTimeout = 30 * time.Second
	// IdleTimeout closes a keep-alive connection left idle this long.
	IdleTimeout = 2 * time.Minute
	// MaxHeaderBytes bounds a request's headers.
	MaxHeaderBytes = 64 << 10
	// shutdownGrace is how long requests in flight may finish when the
	// server stops.
	shutdownGrace = 5 * time.Second
)

// Options configures a Server; the zero value serves plain HTTP with the
// default limits.
type Options struct {
	// TLS, when set, serves HTTPS with this configuration.
	TLS *tls.Config
	// ReadTimeout, ReadHeaderTimeout and IdleTimeout replace the defaults
	// when positive.
	ReadTimeout, ReadHeaderTimeout, IdleTimeout time.Duration
	// MaxConns caps the open connections; MaxConns() when 0.
	MaxConns int
	// BaseContext, when set, is the parent of every request's context:
	// requests end when it does.
	BaseContext context.Context
	// Logger receives the server's own errors (TLS handshakes that
	// failed, at debug level); slog.Default() when nil.
	Logger *slog.Logger
}

// Server is an http.Server with the package's limits.
type Server struct {
	srv      *http.Server
	maxConns int
}

// New returns a server of h with opts.
func New(h http.Handler, opts Options) *Server {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	srv := &http.Server{
		Handler:           h,
		TLSConfig:         opts.TLS,
		ReadHeaderTimeout: orDefault(opts.ReadHeaderTimeout, ReadHeaderTimeout),
		ReadTimeout:       orDefault(opts.ReadTimeout, ReadTimeout),
		IdleTimeout:       orDefault(opts.IdleTimeout, IdleTimeout),
		MaxHeaderBytes:    MaxHeaderBytes,
		// A non-nil empty map turns HTTP/2 off.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.New(debugWriter{logger}, "", 0),
	}
	if opts.BaseContext != nil {
		srv.BaseContext = func(net.Listener) context.Context { return opts.BaseContext }
	}
	n := opts.MaxConns
	if n <= 0 {
		n = MaxConns()
	}
	return &Server{srv: srv, maxConns: n}
}

// RegisterOnShutdown calls f when the server stops, for connections it no
// longer tracks (an upgraded exec session): see http.Server.
func (s *Server) RegisterOnShutdown(f func()) { s.srv.RegisterOnShutdown(f) }

// Serve serves on l (with TLS when Options.TLS is set) until ctx ends,
// then stops: requests in flight get a few seconds to finish. It returns
// nil after a stop that ctx asked for.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	l = LimitListener(l, s.maxConns)
	served := make(chan error, 1)
	go func() {
		if s.srv.TLSConfig != nil {
			served <- s.srv.ServeTLS(l, "", "")
		} else {
			served <- s.srv.Serve(l)
		}
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := s.srv.Shutdown(sctx); err != nil {
		_ = s.srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// MaxConns is the default cap on a server's open connections: a quarter
// of the process's file descriptor limit, between 256 and 16384.
var MaxConns = sync.OnceValue(func() int {
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	return int(min(max(lim.Cur/4, 256), 16384))
})

// LimitListener caps the connections l hands out at n at once; Accept
// waits while n are open.
func LimitListener(l net.Listener, n int) net.Listener { return netutil.LimitListener(l, n) }

// ErrorID returns a short random id under which an internal error is
// logged and answered, so an answer can point to the log without carrying
// the error's text.
func ErrorID() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ClientIP is the address a request came from, without its port.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// debugWriter sends the http.Server's own log lines (TLS handshake
// errors of clients that went away or spoke plain HTTP) to the logger at
// debug level: they say nothing the operator can act on.
type debugWriter struct{ log *slog.Logger }

func (d debugWriter) Write(p []byte) (int, error) {
	d.log.Debug("http server", "msg", string(bytes.TrimRight(p, "\r\n")))
	return len(p), nil
}
