package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
)

// tour is a cluster started as `make run` starts one (minkube dev with
// the repository's manifests directory), in a directory laid out like the
// repository's (bin/, manifests/, .minkube/), with HOME of its own, on
// free ports. The commands of the documents run there as written, after
// subst has put the test's ports, names and image in place of the
// documents'; their output goes through subst the other way before it is
// compared.
type tour struct {
	t     *testing.T
	root  string
	env   []string
	subst []pair // document text -> this run's
	procs []*proc
}

type pair struct{ doc, real string }

// newTour starts the dev cluster and waits until the manifests' Tasks
// have settled (hello and ticker Running, job Succeeded).
func newTour(t *testing.T) *tour {
	t.Helper()
	root := t.TempDir()
	for _, dir := range []string{"bin", "home"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"minkube", "mkctl"} {
		if err := os.Symlink(filepath.Join(binDir, b), filepath.Join(root, "bin", b)); err != nil {
			t.Fatal(err)
		}
	}
	suffix := randomSuffix()
	// Every address minkube dev listens on by default (the API, the
	// worker's, any other) gets a free port in its place.
	var listen []string
	tr := &tour{t: t, root: root}
	for _, l := range devListenFlags(t) {
		addr := freeAddr(t)
		listen = append(listen, "--"+l.flag, addr)
		tr.subst = append(tr.subst, pair{l.addr, addr})
	}
	tr.subst = append(tr.subst, []pair{
		{"127.0.0.1:7072", freeAddr(t)},
		{"127.0.0.1:7999", freeAddr(t)}, // nothing listens there
		{"18080", strconv.Itoa(freePort(t))},
		{"/tmp/w2", filepath.Join(root, "w2")},
		// Worker names are unique per run: containers of every test share
		// one engine, and a worker removes what carries its name.
		{"--name w2", "--name w2-" + suffix},
		{"w2", "w2-" + suffix},
		{"dev", "dev-" + suffix},
		{"minkube/testapp:dev", testImage},
	}...)
	tr.env = []string{"HOME=" + filepath.Join(root, "home"), "PATH=" + filepath.Join(root, "bin") + ":" + os.Getenv("PATH"),
		"MINKUBE_EDITOR=true", "EDITOR=true"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINKUBE_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "PATH=") {
			tr.env = append(tr.env, kv)
		}
	}
	tr.copyManifests()
	t.Cleanup(tr.stop)
	// What `make run` runs, on this run's ports and worker name.
	tr.start("dev", append([]string{"dev", "--data-dir", ".minkube", "--manifests-dir", "manifests",
		"--name", "dev-" + suffix, "--context-name", "dev-" + suffix}, listen...)...)
	waitFor(t, 60*time.Second, "the manifests' tasks to settle", func() bool {
		var list v1.TaskList
		if tr.json(&list, "get", "tasks") != nil || len(list.Items) != 3 {
			return false
		}
		for _, task := range list.Items {
			want := v1.PhaseRunning
			if task.Metadata.Name == "job" {
				want = v1.PhaseSucceeded
			}
			if task.Status.Phase != want {
				return false
			}
		}
		return true
	})
	return tr
}

// listenFlag is a flag of minkube dev whose default is a loopback address.
type listenFlag struct{ flag, addr string }

// devListenFlags reads minkube dev --help for the flags whose default is
// an address on 127.0.0.1: --listen (7070), --worker-listen (7071), and
// any other a later change adds.
func devListenFlags(t *testing.T) []listenFlag {
	t.Helper()
	out, err := exec.Command(filepath.Join(binDir, "minkube"), "dev", "--help").Output()
	if err != nil {
		t.Fatalf("minkube dev --help: %v", err)
	}
	var flags []listenFlag
	for _, m := range regexp.MustCompile(`(?m)^\s+--(\S+) string .*\(default "(127\.0\.0\.1:\d+)"\)$`).FindAllStringSubmatch(string(out), -1) {
		flags = append(flags, listenFlag{m[1], m[2]})
	}
	if len(flags) < 2 {
		t.Fatalf("minkube dev --help shows %d listen addresses; want the API's and the worker's at least:\n%s", len(flags), out)
	}
	return flags
}

// copyManifests copies the repository's manifests/ into the tour's root,
// with this run's host port and image.
func (tr *tour) copyManifests() {
	src := "../../manifests"
	entries, err := os.ReadDir(src)
	if err != nil {
		tr.t.Fatal(err)
	}
	dst := filepath.Join(tr.root, "manifests")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		tr.t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			tr.t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "hostPort: 18080", "hostPort: "+tr.real("18080"))
		text = strings.ReplaceAll(text, "minkube/testapp:dev", testImage)
		if err := os.WriteFile(filepath.Join(dst, e.Name()), []byte(text), 0o644); err != nil {
			tr.t.Fatal(err)
		}
	}
}

// real returns what the document's text stands for in this run.
func (tr *tour) real(doc string) string {
	for _, p := range tr.subst {
		if p.doc == doc {
			return p.real
		}
	}
	return doc
}

// toReal puts this run's values in a document's command. Worker names are
// replaced as words only, and not in file names (manifests/hello.yaml).
func (tr *tour) toReal(cmd string) string {
	for _, p := range tr.subst {
		switch p.doc {
		case "w2", "dev":
			cmd = regexp.MustCompile(`(^|[\s/])`+p.doc+`(\s|$)`).ReplaceAllString(cmd, "${1}"+p.real+"${2}")
		case "--name w2":
			cmd = strings.ReplaceAll(cmd, p.doc+" ", p.real+" ")
		default:
			cmd = strings.ReplaceAll(cmd, p.doc, p.real)
		}
	}
	return cmd
}

// toDoc puts the document's values back in output.
func (tr *tour) toDoc(out string) string {
	pairs := append([]pair(nil), tr.subst...)
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i].real) > len(pairs[j].real) })
	for _, p := range pairs {
		if p.doc == "--name w2" {
			continue
		}
		out = strings.ReplaceAll(out, p.real, p.doc)
	}
	return out
}

// start starts bin/minkube in the tour's root.
func (tr *tour) start(name string, args ...string) *proc {
	tr.t.Helper()
	p := startProc(tr.t, tr.root, "", tr.env, name, args...)
	tr.procs = append(tr.procs, p)
	return p
}

func (tr *tour) stop() {
	for i := len(tr.procs) - 1; i >= 0; i-- {
		tr.procs[i].stop()
		if tr.t.Failed() {
			tr.t.Logf("%s log:\n%s", tr.procs[i].name, tr.procs[i].log.String())
		}
	}
	for _, w := range []string{"dev", "w2"} {
		removeContainers(tr.t, tr.real(w))
		removeNetworks(tr.t, tr.real(w))
	}
}

// json runs bin/mkctl ARGS -o json into v.
func (tr *tour) json(v any, args ...string) error {
	cmd := exec.Command(filepath.Join(tr.root, "bin", "mkctl"), append(args, "-o", "json")...)
	cmd.Dir, cmd.Env = tr.root, tr.env
	out, err := cmd.Output()
	if err != nil {
		return err
	}
	return json.Unmarshal(out, v)
}

// command returns the shell command of an example, with this run's
// values.
func (tr *tour) command(e example) *exec.Cmd {
	cmd := exec.Command("bash", "-c", tr.toReal(e.cmd))
	cmd.Dir, cmd.Env = tr.root, tr.env
	return cmd
}

// run runs an example and returns its output (stdout and stderr in the
// order written), in the document's terms, one line per element.
func (tr *tour) run(e example) []string {
	tr.t.Helper()
	cmd := tr.command(e)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the output says what went wrong; the exit status is the document's business
	return lines(tr.toDoc(out.String()))
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// background is an example running while others do: get -w, logs -f.
type background struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
}

func (tr *tour) runBackground(e example) *background {
	tr.t.Helper()
	b := &background{cmd: tr.command(e), done: make(chan struct{})}
	// A process group of its own, for the Ctrl-C to reach mkctl, not bash.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pipe, err := b.cmd.StdoutPipe()
	if err != nil {
		tr.t.Fatal(err)
	}
	b.cmd.Stderr = b.cmd.Stdout
	if err := b.cmd.Start(); err != nil {
		tr.t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			b.mu.Lock()
			b.out = append(b.out, tr.toDoc(sc.Text()))
			b.mu.Unlock()
		}
		_ = b.cmd.Wait()
		close(b.done)
	}()
	tr.t.Cleanup(b.interrupt)
	return b
}

func (b *background) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.out...)
}

// interrupt sends Ctrl-C's SIGINT and waits for the end.
func (b *background) interrupt() {
	_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.done
	}
}

// match compares what an example printed with what the document shows,
// by shape (see shape), line for line.
func match(t *testing.T, e example, got []string) {
	t.Helper()
	if len(got) == len(e.want) {
		same := true
		for i := range got {
			same = same && shape(got[i]) == shape(e.want[i])
		}
		if same {
			return
		}
	}
	t.Errorf("%s\nthe document shows:\n%s\nthe command printed:\n%s", e, indent(e.want), indent(got))
}

// matchInOrder checks that every line the document shows was printed, in
// that order, among others: for output whose extra lines depend on timing
// (get -w, events).
func matchInOrder(t *testing.T, e example, got []string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(e.want) && shape(g) == shape(e.want[i]) {
			i++
		}
	}
	if i < len(e.want) {
		t.Errorf("%s\nthe document shows (in order, among other lines):\n%s\nthe command printed:\n%s\nthe first line not found: %q", e, indent(e.want), indent(got), e.want[i])
	}
}

// matchEvents compares a describe page line for line up to its Events,
// which must all be there, in order, among others: an event recorded or
// not depends on timing (a Task applied before the dev worker has
// registered first fails to be scheduled).
func matchEvents(t *testing.T, e example, got []string) {
	t.Helper()
	split := func(ls []string) ([]string, []string) {
		i := slices.Index(ls, "Events:")
		if i < 0 {
			return ls, nil
		}
		return ls[:i], ls[i:]
	}
	wantHead, wantEvents := split(e.want)
	gotHead, gotEvents := split(got)
	match(t, example{file: e.file, line: e.line, cmd: e.cmd, want: wantHead}, gotHead)
	matchInOrder(t, example{file: e.file, line: e.line, cmd: e.cmd, want: wantEvents}, gotEvents)
}

// matchColumns compares the first n columns of each line: for tables
// whose other columns are measurements (get workers).
func matchColumns(t *testing.T, e example, got []string, n int) {
	t.Helper()
	cut := func(ls []string) []string {
		out := make([]string, len(ls))
		for i, l := range ls {
			f := strings.Fields(l)
			out[i] = strings.Join(f[:min(n, len(f))], " ")
		}
		return out
	}
	match(t, example{file: e.file, line: e.line, cmd: e.cmd, want: cut(e.want)}, cut(got))
}

func indent(ls []string) string {
	var b strings.Builder
	for _, l := range ls {
		fmt.Fprintf(&b, "    %s\n", l)
	}
	return b.String()
}

// TestReadmeTour runs the README's tour on a fresh cluster started as
// `make run` starts one, plus the second worker the tour starts, and
// checks that every command prints what the README shows, by shape:
// the commands, column headers, names, phases and messages, not ages,
// ids or times. Then it runs the examples of docs/ that need a cluster,
// and checks that every Task manifest the documents show is valid.
func TestReadmeTour(t *testing.T) {
	t.Parallel()
	tr := newTour(t)
	examples := consoleExamples(t, readmePath)
	var tour []example
	for _, e := range examples {
		if e.section == "mkctl tour" {
			tour = append(tour, e)
		}
	}
	if len(tour) < 20 {
		t.Fatalf("found %d examples in the README's mkctl tour section; the parser or the README changed", len(tour))
	}

	// The second worker, started as the tour's first block says.
	var w2 string
	for _, block := range codeBlocks(t, readmePath, "sh") {
		if strings.Contains(block, "minkube worker --name w2") {
			w2 = strings.ReplaceAll(strings.TrimSpace(block), "\\\n", " ")
		}
	}
	args := strings.Fields(tr.toReal(w2))
	if len(args) < 2 || args[0] != "bin/minkube" {
		t.Fatalf("the README's tour starts no second worker: %q", w2)
	}
	tr.start("w2", append(args[1:], "--manager", "https://"+tr.real("127.0.0.1:7070"))...)
	waitFor(t, 30*time.Second, "worker w2 Ready", func() bool {
		var w v1.Worker
		return tr.json(&w, "get", "worker", tr.real("w2")) == nil && w.Status.Phase == v1.WorkerReady
	})

	// get -w runs "in another terminal" while the other commands of its
	// block run.
	watches := map[int]example{}
	lastOfBlock := map[int]int{}
	for _, e := range tour {
		if strings.Contains(e.comment, "meanwhile") {
			watches[e.block] = e
		} else {
			lastOfBlock[e.block] = e.line
		}
	}
	var watcher *background
	for _, e := range tour {
		watch, hasWatch := watches[e.block]
		if e.line == watch.line {
			continue
		}
		if hasWatch && watcher == nil {
			watcher = tr.runBackground(watch)
			waitFor(t, 30*time.Second, "get -w to list the tasks", func() bool { return len(watcher.lines()) > 1 })
		}
		switch {
		case strings.Contains(e.comment, "Ctrl-C"):
			b := tr.runBackground(e)
			shown := 0
			for _, l := range e.want {
				if l == "..." || l == "^C" {
					break
				}
				shown++
			}
			waitFor(t, 30*time.Second, e.cmd+" to print "+strconv.Itoa(shown)+" lines", func() bool { return len(b.lines()) >= shown })
			b.interrupt()
			match(t, example{file: e.file, line: e.line, cmd: e.cmd, want: e.want[:shown]}, b.lines()[:shown])
		case strings.Contains(e.cmd, "get workers"):
			matchColumns(t, e, tr.run(e), 3)
		case strings.Contains(e.cmd, "get events"):
			matchInOrder(t, e, tr.run(e))
		case strings.Contains(e.cmd, "describe"):
			matchEvents(t, e, tr.run(e))
		default:
			match(t, e, tr.run(e))
		}
		if watcher != nil && e.line == lastOfBlock[e.block] {
			last := shape(watch.want[len(watch.want)-1])
			_ = poll(20*time.Second, func() bool {
				return slices.ContainsFunc(watcher.lines(), func(l string) bool { return shape(l) == last })
			})
			watcher.interrupt()
			matchInOrder(t, watch, watcher.lines())
			watcher = nil
		}
	}

	t.Run("docs examples", func(t *testing.T) {
		for _, doc := range []string{"cli.md", "task.md"} {
			for _, e := range consoleExamples(t, filepath.Join(docsDir, doc)) {
				if len(e.want) == 0 {
					// Shown for what it does, with nothing to compare: it
					// must work.
					if out, err := tr.command(e).CombinedOutput(); err != nil {
						t.Errorf("%s: %v\n%s", e, err, out)
					}
					continue
				}
				match(t, e, tr.run(e))
			}
		}
	})

	t.Run("manifests in the documents are valid", func(t *testing.T) {
		docs := []string{readmePath}
		entries, _ := os.ReadDir(docsDir)
		for _, d := range entries {
			docs = append(docs, filepath.Join(docsDir, d.Name()))
		}
		for _, doc := range docs {
			for _, m := range codeBlocks(t, doc, "yaml") {
				if !strings.Contains(m, "kind: Task") {
					continue
				}
				e := example{file: filepath.Base(doc), cmd: "bin/mkctl apply --dry-run=server -f - <<'END'\n" + m + "END"}
				if out := tr.run(e); len(out) == 0 || !strings.HasSuffix(out[len(out)-1], "(server dry run)") {
					t.Errorf("%s: a Task manifest is refused:\n%s\n%s", doc, m, indent(out))
				}
			}
		}
	})
}
