// Command testapp is the program inside the minkube/testapp:dev test image:
// one static binary whose behaviour is chosen by a subcommand, so that tests
// can run a well-behaved server, a crashing container, a process that
// ignores SIGTERM or one that fills the disk from the same image.
//
// Usage:
//
//	testapp [serve] [--port 8080]          HTTP server (the default)
//	testapp exit --code N --after D        print a line, sleep D, exit N
//	testapp crash                          print to stderr and exit 1 at once
//	testapp ignore-sigterm [--port 8080]   HTTP server that ignores SIGTERM
//	testapp fill-disk --mib N --path P     write N MiB to P, then serve
//	testapp log --every D                  print a numbered line every D
//	testapp cat                            copy stdin to stdout until EOF
//	testapp tty                            say whether stdin is a terminal, then
//	                                       answer lines: "size" with the terminal
//	                                       size, "exit N" by exiting N, others
//	                                       with "got: LINE"; exit 0 at EOF
//
// cat and tty are what tests run with mkctl exec: the image has no shell.
//
// The server answers / with a greeting (hostname and $MESSAGE), /healthz
// with 200 (500 once $HEALTHZ_FAIL_AFTER has passed since start, when set),
// /env with its environment, /lookup?name=N[&srv=S] with what the
// container's resolver gives for N (addresses, or the _S._tcp SRV targets
// and ports) and /fetch?url=U with the body of U fetched from inside the
// container, and logs one line per request to stdout.
// Every mode except ignore-sigterm exits 0 promptly on SIGTERM or SIGINT.
//
// It uses the standard library only and is built with CGO_ENABLED=0 so it
// runs in a FROM scratch image (see hack/images.sh).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes the subcommand in args and returns the process exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}

	stopSignals := []os.Signal{syscall.SIGTERM, syscall.SIGINT}
	if cmd == "ignore-sigterm" {
		// Notify would re-enable SIGTERM, so it is left out of stopSignals.
		signal.Ignore(syscall.SIGTERM)
		stopSignals = stopSignals[1:]
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()

	fs := flag.NewFlagSet("testapp "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var err error
	switch cmd {
	case "serve", "ignore-sigterm":
		port := fs.Int("port", 8080, "TCP port to listen on")
		if fs.Parse(args) != nil {
			return 2
		}
		if cmd == "ignore-sigterm" {
			fmt.Fprintln(stdout, "ignoring SIGTERM")
		}
		err = serve(ctx, *port, stdout)
	case "exit":
		code := fs.Int("code", 0, "exit code")
		after := fs.Duration("after", 0, "how long to wait before exiting")
		if fs.Parse(args) != nil {
			return 2
		}
		fmt.Fprintf(stdout, "exiting with code %d after %s\n", *code, *after)
		select {
		case <-time.After(*after):
			return *code
		case <-ctx.Done():
			fmt.Fprintln(stdout, "terminated")
			return 0
		}
	case "crash":
		fmt.Fprintln(stderr, "crashing on start")
		return 1
	case "fill-disk":
		mib := fs.Int("mib", 0, "MiB to write")
		path := fs.String("path", "/data/fill", "file to write")
		port := fs.Int("port", 8080, "TCP port to listen on once written")
		if fs.Parse(args) != nil {
			return 2
		}
		if err := fill(*path, *mib); err != nil {
			fmt.Fprintf(stderr, "fill-disk: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %d MiB to %s\n", *mib, *path)
		err = serve(ctx, *port, stdout)
	case "log":
		every := fs.Duration("every", time.Second, "interval between lines")
		if fs.Parse(args) != nil {
			return 2
		}
		if *every <= 0 {
			fmt.Fprintln(stderr, "log: --every must be positive")
			return 2
		}
		tick := time.NewTicker(*every)
		defer tick.Stop()
		for n := 1; ; n++ {
			fmt.Fprintf(stdout, "line %d\n", n)
			select {
			case <-tick.C:
			case <-ctx.Done():
				return 0
			}
		}
	case "cat":
		if _, err := io.Copy(stdout, stdin); err != nil {
			fmt.Fprintf(stderr, "cat: %v\n", err)
			return 1
		}
		return 0
	case "tty":
		return answer(stdin, stdout)
	default:
		fmt.Fprintf(stderr, "testapp: unknown command %q (want serve, exit, crash, ignore-sigterm, fill-disk, log, cat or tty)\n", cmd)
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	return 0
}

// serve runs the HTTP server until ctx ends, then shuts it down.
func serve(ctx context.Context, port int, stdout io.Writer) error {
	var failAfter time.Duration
	if v := os.Getenv("HEALTHZ_FAIL_AFTER"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("HEALTHZ_FAIL_AFTER=%q: %w", v, err)
		}
		failAfter = d
	}
	var failAt time.Time
	if failAfter > 0 {
		failAt = time.Now().Add(failAfter)
	}
	hostname, _ := os.Hostname()

	srv := &http.Server{
		Addr:              ":" + strconv.Itoa(port),
		Handler:           newHandler(hostname, failAt, stdout),
		ReadHeaderTimeout: 5 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(stdout, "listening on %s\n", srv.Addr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdownCtx)
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newHandler returns the server's routes, logging each request to out.
// /healthz fails from failAt on, unless failAt is zero.
func newHandler(hostname string, failAt time.Time, out io.Writer) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		msg := "hello from " + hostname
		if m := os.Getenv("MESSAGE"); m != "" {
			msg += ": " + m
		}
		fmt.Fprintln(w, msg)
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !failAt.IsZero() && !time.Now().Before(failAt) {
			http.Error(w, "unhealthy", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/env", func(w http.ResponseWriter, r *http.Request) {
		env := os.Environ()
		slices.Sort(env)
		for _, kv := range env {
			fmt.Fprintln(w, kv)
		}
	})
	// /lookup and /fetch let a test see what a container resolves and
	// reaches, with the container's own resolver (/etc/resolv.conf).
	mux.HandleFunc("/lookup", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		name := r.URL.Query().Get("name")
		var (
			lines []string
			err   error
		)
		if service := r.URL.Query().Get("srv"); service != "" {
			var srvs []*net.SRV
			if _, srvs, err = net.DefaultResolver.LookupSRV(ctx, service, "tcp", name); err == nil {
				for _, s := range srvs {
					lines = append(lines, fmt.Sprintf("%s %d", s.Target, s.Port))
				}
			}
		} else {
			lines, err = net.DefaultResolver.LookupHost(ctx, name)
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		slices.Sort(lines)
		for _, l := range lines {
			fmt.Fprintln(w, l)
		}
	})
	mux.HandleFunc("/fetch", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL.Query().Get("url"), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 1<<20))
	})
	return logRequests(mux, out)
}

// statusRecorder remembers the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// logRequests writes one line per request to out.
func logRequests(next http.Handler, out io.Writer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		fmt.Fprintf(out, "%s %s %d %s\n", r.Method, r.URL.RequestURI(), rec.code, r.RemoteAddr)
	})
}

// fill writes mib MiB of zeros to path, creating its directory, and syncs.
func fill(path string, mib int) error {
	if mib < 0 {
		return fmt.Errorf("--mib must not be negative, got %d", mib)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := 0; i < mib; i++ {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return fmt.Errorf("write %s after %d MiB: %w", path, i, err)
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// answer says whether stdin is a terminal, then answers each line: "size"
// with the terminal's size, "exit N" by returning N, any other with
// "got: LINE". It returns 0 at the end of stdin.
func answer(stdin io.Reader, stdout io.Writer) int {
	f, _ := stdin.(*os.File)
	_, isTTY := winsize(f)
	fmt.Fprintf(stdout, "tty: %t\n", isTTY)
	sc := bufio.NewScanner(stdin)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		switch {
		case line == "size":
			ws, ok := winsize(f)
			if !ok {
				fmt.Fprintln(stdout, "size: not a terminal")
				continue
			}
			fmt.Fprintf(stdout, "size: %dx%d\n", ws.Row, ws.Col)
		case strings.HasPrefix(line, "exit "):
			code, err := strconv.Atoi(strings.TrimPrefix(line, "exit "))
			if err != nil {
				fmt.Fprintf(stdout, "bad exit code: %v\n", err)
				continue
			}
			return code
		default:
			fmt.Fprintf(stdout, "got: %s\n", line)
		}
	}
	return 0
}

// winsize returns the size of the terminal f is, and false when f is not a
// terminal.
func winsize(f *os.File) (*unix.Winsize, bool) {
	if f == nil {
		return nil, false
	}
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	return ws, err == nil
}
