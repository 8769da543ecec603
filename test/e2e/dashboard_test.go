package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/minkube/minkube/pki"
)

// screenshotDir is where TestDashboard saves its screenshots: bin/ of the
// repository (never committed), or $MINKUBE_SCREENSHOT_DIR.
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("MINKUBE_SCREENSHOT_DIR")
	if dir == "" {
		abs, err := filepath.Abs("../../bin/screenshots")
		if err != nil {
			t.Fatal(err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts Debian's Chromium, headless, under chromedp; it is
// stopped when the test ends. flags are added to chromedp's defaults.
func newBrowser(t *testing.T, flags ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is not installed: make test installs it (hack/tools.sh), or apt-get install chromium")
	}
	// Chromium keeps its singleton socket in a directory of its own under
	// TMPDIR, which it leaves behind when it is stopped: give it one the
	// test removes.
	opts := append(append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...),
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.WindowSize(1280, 900), chromedp.UserDataDir(t.TempDir()),
		chromedp.Env("TMPDIR="+t.TempDir()))
	opts = append(opts, flags...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser before any timeout is set
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// within runs an action with a timeout, failing the test with what it was
// waiting for.
func within[T any](t *testing.T, ctx context.Context, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// saveScreenshot writes a PNG of the whole page to path.
func saveScreenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png := within(t, ctx, 20*time.Second, "take a screenshot", chromedp.FullScreenshot(100))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// phaseOf is a JavaScript expression: the phase shown in the row of a task.
func phaseOf(task string) string {
	return fmt.Sprintf(`document.querySelector('#tasks tr[data-task=%q] .phase')?.textContent`, task)
}

// TestDashboard drives the dashboard in Chromium: it signs in with the
// address mkctl dashboard prints, sees the example tasks, watches a task
// go from Pending to Running without a reload, opens a task's page with
// its conditions, events and log lines, and checks the page on a
// phone-sized window; screenshots go to bin/screenshots. The https
// subtest reaches the same manager through TLS with a CA of its own that
// Chromium is told to trust.
func TestDashboard(t *testing.T) {
	c := newCluster(t)
	worker := c.addWorker("w1")
	examples, err := os.ReadFile("../../manifests/hello.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ticker, err := os.ReadFile("../../manifests/ticker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The examples as they are, but on a free host port: other clusters share this host.
	hello := strings.Replace(string(examples), "hostPort: 18080", fmt.Sprintf("hostPort: %d", freePort(t)), 1)
	hello = strings.ReplaceAll(hello, "minkube/testapp:dev", testImage)
	c.mkctl("apply", "-f", c.writeFile("examples/hello.yaml", hello))
	c.mkctl("apply", "-f", c.writeFile("examples/ticker.yaml", strings.ReplaceAll(string(ticker), "minkube/testapp:dev", testImage)))

	signIn := strings.TrimSpace(c.mkctl("dashboard", "--url-only"))
	if !strings.HasPrefix(signIn, c.server+"/ui/#code=") || strings.Contains(signIn, c.token) {
		t.Fatalf("mkctl dashboard --url-only = %q: want %s/ui/#code=CODE, and never the admin token", signIn, c.server)
	}
	ctx := newBrowser(t, trustManager(t, c))
	shots := screenshotDir(t)
	within(t, ctx, 30*time.Second, "open the sign-in address", chromedp.Navigate(signIn))
	within(t, ctx, 60*time.Second, "see the example tasks hello and ticker Running", chromedp.Poll[bool](
		phaseOf("hello")+` === 'Running' && `+phaseOf("ticker")+` === 'Running'`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	loc := within(t, ctx, 5*time.Second, "read the address", chromedp.Location())
	session := within(t, ctx, 5*time.Second, "read the session", chromedp.Evaluate[string](`sessionStorage.getItem('minkube.session')`))
	if strings.Contains(loc, "code=") || session == "" || session == c.token {
		t.Fatalf("after sign-in: address %q (the code must be gone), session %q (must be a token of its own)", loc, session)
	}
	within(t, ctx, 30*time.Second, "the worker listed", chromedp.WaitVisible(`//table[@id="workers"]//td[contains(., "`+worker+`")]`))

	// A task that waits for a label, then runs once the worker has it.
	within(t, ctx, 5*time.Second, "mark the page", chromedp.Evaluate[bool](`window.__sameDocument = true`))
	c.mkctl("apply", "-f", c.writeFile("phased.yaml", fmt.Sprintf(`apiVersion: minkube.io/v1
kind: Task
metadata: {name: phased, labels: {app: phased}}
spec:
  image: %s
  args: [log, --every, 200ms]
  nodeSelector: {dashboard: "yes"}
`, testImage)))
	within(t, ctx, 30*time.Second, "see phased Pending", chromedp.Poll[bool](phaseOf("phased")+` === 'Pending'`, chromedp.WithPollingTimeout(30*time.Second)))
	c.mkctl("label", "worker", worker, "dashboard=yes")
	within(t, ctx, 60*time.Second, "see phased turn Running", chromedp.Poll[bool](phaseOf("phased")+` === 'Running'`, chromedp.WithPollingTimeout(60*time.Second)))
	if same := within(t, ctx, 5*time.Second, "read the mark", chromedp.Evaluate[bool](`window.__sameDocument === true`)); !same {
		t.Fatal("the page was reloaded: the phase must change through the watch")
	}

	// Filters: by phase, then by label (a selector the server applies).
	within(t, ctx, 10*time.Second, "filter by phase", chromedp.SetValue(`#f-phase`, "Pending"))
	within(t, ctx, 10*time.Second, "fire change", chromedp.Evaluate[bool](`document.getElementById('f-phase').dispatchEvent(new Event('change'))`))
	within(t, ctx, 10*time.Second, "no Running task under phase=Pending", chromedp.Poll[bool](`document.querySelectorAll('#tasks tr[data-task]').length === 0`))
	within(t, ctx, 10*time.Second, "clear the phase", chromedp.SetValue(`#f-phase`, ""))
	within(t, ctx, 10*time.Second, "fire change", chromedp.Evaluate[bool](`document.getElementById('f-phase').dispatchEvent(new Event('change'))`))
	within(t, ctx, 10*time.Second, "filter by label", chromedp.SendKeys(`#f-labels`, "app in (hello,ticker)"))
	within(t, ctx, 15*time.Second, "only hello and ticker", chromedp.Poll[bool](
		`[...document.querySelectorAll('#tasks tr[data-task]')].map(r => r.dataset.task).join() === 'hello,ticker'`, chromedp.WithPollingTimeout(15*time.Second)))
	saveScreenshot(t, ctx, filepath.Join(shots, "dashboard.png"))

	// The task page: spec, conditions, events and the log as it grows.
	within(t, ctx, 10*time.Second, "open ticker", chromedp.Click(`#tasks tr[data-task="ticker"] a`))
	within(t, ctx, 15*time.Second, "ticker's page", chromedp.Poll[bool](`document.getElementById('t-name').textContent === 'ticker' && document.getElementById('t-phase').textContent === 'Running'`))
	within(t, ctx, 15*time.Second, "its conditions and events", chromedp.Poll[bool](
		`document.querySelector('#t-conditions td')?.textContent === 'Scheduled' && [...document.querySelectorAll('#t-events td')].some(td => td.textContent === 'Scheduled')`, chromedp.WithPollingTimeout(15*time.Second)))
	first := within(t, ctx, 30*time.Second, "a log line", chromedp.Poll[int](`document.getElementById('t-logs').textContent.length`, chromedp.WithPollingTimeout(30*time.Second)))
	within(t, ctx, 30*time.Second, "the log growing (live tail)", chromedp.Poll[bool](
		fmt.Sprintf(`document.getElementById('t-logs').textContent.length > %d`, first), chromedp.WithPollingTimeout(30*time.Second)))
	spec := within(t, ctx, 5*time.Second, "read the spec", chromedp.Text(`#t-spec`))
	if !strings.Contains(spec, `"image": "`+testImage+`"`) {
		t.Errorf("the spec shown lacks the image:\n%s", spec)
	}
	taskShot := filepath.Join(shots, "dashboard-task.png")
	saveScreenshot(t, ctx, taskShot)
	t.Logf("screenshots in %s", shots)

	// A phone-sized window: no sideways scrolling, tables as cards.
	within(t, ctx, 10*time.Second, "a phone-sized window", chromedp.EmulateViewport(390, 844))
	within(t, ctx, 10*time.Second, "back to the list", chromedp.Click(`a[href="#/"]`))
	within(t, ctx, 15*time.Second, "the list fits the phone's width", chromedp.Poll[bool](
		`!document.getElementById('overview').hidden && document.querySelector('#tasks tr[data-task]') !== null && document.documentElement.scrollWidth <= window.innerWidth`))
	saveScreenshot(t, ctx, filepath.Join(shots, "dashboard-phone.png"))

	// Signing in with the form: the admin token goes in a POST body and
	// is exchanged for a session.
	t.Run("form", func(t *testing.T) {
		ctx := newBrowser(t, trustManager(t, c))
		within(t, ctx, 30*time.Second, "open the dashboard", chromedp.Navigate(c.server+"/ui/"))
		within(t, ctx, 15*time.Second, "the sign-in form", chromedp.WaitVisible(`#token`))
		within(t, ctx, 10*time.Second, "type the token", chromedp.SendKeys(`#token`, c.token))
		within(t, ctx, 10*time.Second, "sign in", chromedp.Click(`#signin-form button`))
		within(t, ctx, 30*time.Second, "see hello over https", chromedp.Poll[bool](phaseOf("hello")+` === 'Running' && location.protocol === 'https:'`,
			chromedp.WithPollingTimeout(30*time.Second)))
		session := within(t, ctx, 5*time.Second, "read the session", chromedp.Evaluate[string](`sessionStorage.getItem('minkube.session')`))
		loc := within(t, ctx, 5*time.Second, "read the address", chromedp.Location())
		if session == c.token || strings.Contains(loc, c.token) {
			t.Fatalf("the admin token is kept by the page (session %q, address %q)", session, loc)
		}
	})
}

// trustManager makes Chromium trust the manager's serving key, and only
// it: --ignore-certificate-errors-spki-list takes the base64 SHA-256 of a
// public key in the chain the server presents. Certificate checks stay on
// for every other key.
func trustManager(t *testing.T, c *cluster) chromedp.ExecAllocatorOption {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(c.caFile), "server.crt"))
	if err != nil {
		t.Fatalf("the manager's serving certificate: %v", err)
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		t.Fatalf("the manager's serving certificate: %v", err)
	}
	sum := sha256.Sum256(certs[0].RawSubjectPublicKeyInfo)
	return chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(sum[:]))
}

// TestDevPrintsDashboard runs minkube dev, as make run does, and reads the
// dashboard's address from what it prints, then opens the page there.
func TestDevPrintsDashboard(t *testing.T) {
	dir := t.TempDir()
	listen, name := freeAddr(t), "dev-"+randomSuffix()
	cmd := exec.Command(filepath.Join(binDir, "minkube"), "dev", "--data-dir", filepath.Join(dir, "data"),
		"--listen", listen, "--worker-listen", freeAddr(t), "--dns-listen", freeAddr(t), "--name", name)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		removeNetworks(t, name) // the worker's network for its containers' DNS
		if t.Failed() {
			t.Logf("minkube dev printed:\n%s", out.String())
		}
	})
	want := "Dashboard: https://" + listen + "/ui/ (run `mkctl dashboard` to open it signed in)"
	waitFor(t, 20*time.Second, "minkube dev to print the dashboard's address", func() bool { return strings.Contains(out.String(), want) })
	c := &cluster{t: t, server: "https://" + listen, caFile: filepath.Join(dir, "data", "ca.crt")}
	waitFor(t, 20*time.Second, "the dashboard page", func() bool {
		code, body, err := c.get("/ui/", "")
		return err == nil && code == 200 && strings.Contains(string(body), "<title>Minkube</title>")
	})
}
