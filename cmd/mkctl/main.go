package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/cmd/internal/buildinfo"
)

// version and gitCommit are mkctl's build, set with -ldflags
// "-X main.version=v1.2.3 -X main.gitCommit=abc123"; without, buildinfo
// reads what the toolchain recorded.
var (
	version   = buildinfo.UnsetVersion
	gitCommit = buildinfo.UnsetCommit
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second one ends mkctl at once.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes mkctl with args and returns the exit status: 0 on success,
// 1 after printing every error as an "error: " line on stderr, or the exit
// code of the command exec ran.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	c := &cli{in: stdin, out: stdout, errOut: stderr}
	root := c.newRootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	var exit *exitCodeError
	switch {
	case errors.As(err, &exit):
		fmt.Fprintln(stderr, exit.Error())
		return exit.code
	case err != nil:
		c.report(err)
		return 1
	}
	return 0
}

// errReported says the command already printed its errors and only the
// exit status is left to set.
var errReported = errors.New("errors were reported")

// usageError is a mistake in how mkctl was called; it is reported with a
// pointer to the command's help.
type usageError struct {
	commandPath string
	err         error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usageErrorf returns a usageError for the command at path.
func usageErrorf(commandPath, format string, args ...any) error {
	return &usageError{commandPath: commandPath, err: fmt.Errorf(format, args...)}
}

// cli holds what every command shares: the streams, the global flags and
// the manager client, made on first use.
type cli struct {
	in          io.Reader
	out, errOut io.Writer

	serverFlag, tokenFlag, tokenFileFlag, caFlag, contextFlag string

	api   *client.Client
	token string
}

// client returns the manager client, resolving the server and token from
// the flags, the environment and the config file on first use.
func (c *cli) client() (*client.Client, error) {
	if c.api != nil {
		return c.api, nil
	}
	target, err := client.Resolve(client.Flags{Server: c.serverFlag, Token: c.tokenFlag, TokenFile: c.tokenFileFlag,
		CertificateAuthority: c.caFlag, Context: c.contextFlag})
	if err != nil {
		return nil, err
	}
	note := sourceNote(target.Source)
	// Every server of the context's cluster, tried in turn when one does
	// not answer: they are the same cluster's managers.
	servers, err := client.NewServers(target.Servers...)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, note)
	}
	for _, u := range servers.List() {
		if host, ok := strings.CutPrefix(u, "http://"); ok {
			return nil, fmt.Errorf("the manager at %s (%s) is called over plain HTTP, which would send the token in clear; managers serve HTTPS: use https://%s", u, note, host)
		}
	}
	api, err := client.NewWithServers(servers, target.Token, client.WithUserAgent("mkctl/"+buildinfo.Get(version, gitCommit).Version),
		client.WithSource(note), client.WithTLS(client.TLS{CAData: string(target.CAData)}))
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, note)
	}
	c.api, c.token = api, target.Token
	return api, nil
}

// sourceNote says where the server address came from, for messages.
func sourceNote(source string) string {
	if source == client.SourceDefault {
		return "the default; set --server, $MINKUBE_SERVER or a context in ~/.minkube/config"
	}
	return "from " + source
}

// report prints err as one or more "error: " lines.
func (c *cli) report(err error) {
	if errors.Is(err, errReported) {
		return
	}
	var docErrs v1.DocumentErrors
	if errors.As(err, &docErrs) {
		for _, e := range docErrs {
			c.printError(e)
		}
		return
	}
	c.printError(c.explain(err))
	var ue *usageError
	if errors.As(err, &ue) && ue.commandPath != "" {
		fmt.Fprintf(c.errOut, "See '%s --help' for usage.\n", ue.commandPath)
	}
}

// printError prints one "error: " line.
func (c *cli) printError(err error) {
	fmt.Fprintf(c.errOut, "error: %s\n", oneLine(err.Error()))
}

// explain adds what a person needs to act on errors whose cause is the
// setup rather than the command, and words an interrupt (Ctrl-C) as one.
func (c *cli) explain(err error) error {
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted")
	}
	var ue *client.UnreachableError
	if errors.As(err, &ue) && client.Untrusted(err) {
		return fmt.Errorf("%w; check --certificate-authority, $%s or the certificate-authority-data of the context in ~/.minkube/config (the manager writes its CA to DATA-DIR/ca.crt)", err, client.EnvCA)
	}
	if !client.IsUnauthorized(err) || c.api == nil {
		return err
	}
	if c.token == "" {
		return fmt.Errorf("the manager at %s wants a token and none was given; set --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config", c.api.Server())
	}
	return fmt.Errorf("the manager at %s rejected the token (%w); check --token, $MINKUBE_TOKEN or the token of the context in ~/.minkube/config", c.api.Server(), err)
}

// fatal reports whether err makes every further request pointless: the
// manager cannot be reached, refuses the token, or the command was
// interrupted.
func fatal(ctx context.Context, err error) bool {
	var ue *client.UnreachableError
	return errors.As(err, &ue) || client.IsUnauthorized(err) || ctx.Err() != nil
}

// oneLine folds a message onto one line.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	lines := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
	}
	return strings.Join(lines, "; ")
}
