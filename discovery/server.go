package discovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/minkube/minkube/serve"
)

// Server serves a dns.Handler over UDP and TCP on one address.
type Server struct {
	addr    string
	handler dns.Handler
	log     *slog.Logger

	udp net.PacketConn
	tcp net.Listener
}

// NewServer returns a server of h on addr (host:port; port 0 picks one free
// for both UDP and TCP). A nil logger means slog.Default().
func NewServer(addr string, h dns.Handler, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{addr: addr, handler: h, log: logger}
}

// Listen binds the UDP and TCP sockets and returns the address, the same
// port for both; Start calls it when it has not been called.
func (s *Server) Listen() (net.Addr, error) {
	if s.udp != nil {
		return s.udp.LocalAddr(), nil
	}
	host, port, err := net.SplitHostPort(s.addr)
	if err != nil {
		return nil, fmt.Errorf("DNS listen address %q: %w", s.addr, err)
	}
	// With port 0 the TCP port is chosen first and UDP must get the same
	// one; another socket may hold it, so a few tries.
	for attempt := 0; ; attempt++ {
		tcp, err := net.Listen("tcp", s.addr)
		if err != nil {
			return nil, fmt.Errorf("DNS listen on %s (TCP): %w", s.addr, err)
		}
		tcpPort := strconv.Itoa(tcp.Addr().(*net.TCPAddr).Port)
		udp, err := net.ListenPacket("udp", net.JoinHostPort(host, tcpPort))
		if err == nil {
			s.tcp, s.udp = tcp, udp
			return udp.LocalAddr(), nil
		}
		tcp.Close()
		if port != "0" || attempt == 4 {
			return nil, fmt.Errorf("DNS listen on %s (UDP): %w", net.JoinHostPort(host, tcpPort), err)
		}
	}
}

// Addr returns the bound address, nil before Listen.
func (s *Server) Addr() net.Addr {
	if s.udp == nil {
		return nil
	}
	return s.udp.LocalAddr()
}

// Close releases the sockets of a server that was bound with Listen but
// will not be started.
func (s *Server) Close() error {
	if s.udp == nil {
		return nil
	}
	return errors.Join(s.udp.Close(), s.tcp.Close())
}

// Start serves until ctx ends, then shuts both sockets down and returns
// once the servers have stopped.
func (s *Server) Start(ctx context.Context) error {
	if _, err := s.Listen(); err != nil {
		return err
	}
	servers := []*dns.Server{
		// The read buffer takes the largest query a client may send over
		// UDP, not only 512 bytes.
		{PacketConn: s.udp, Handler: s.handler, UDPSize: dns.MaxMsgSize},
		// TCP is bounded as the HTTP servers are: a query must arrive
		// within the read timeout, an idle connection closes, and the
		// connections open at once are capped.
		{Listener: serve.LimitListener(s.tcp, serve.MaxConns()), Handler: s.handler, ReadTimeout: 5 * time.Second, IdleTimeout: func() time.Duration { return 10 * time.Second }},
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(servers))
	for i, srv := range servers {
		started, done := make(chan struct{}), make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		wg.Go(func() {
			defer close(done)
			if err := srv.ActivateAndServe(); err != nil && ctx.Err() == nil {
				errs[i] = err
				cancel()
			}
		})
		// Shutdown before the server has started is refused; wait for it.
		select {
		case <-started:
		case <-done:
		}
	}
	s.log.Info("DNS server started", "listen", s.udp.LocalAddr().String())
	<-ctx.Done()
	for _, srv := range servers {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := srv.ShutdownContext(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			s.log.Debug("DNS server shutdown", "err", err)
		}
		cancel()
	}
	wg.Wait()
	return errors.Join(errs...)
}
