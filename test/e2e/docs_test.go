package e2e

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The documents the tests hold to what the binaries do.
const (
	readmePath = "../../README.md"
	docsDir    = "../../docs"
)

// example is one command of a ```console block of a document, with the
// output the document shows for it.
type example struct {
	file    string
	line    int
	section string // the "## " heading it is under
	block   int    // which console block of the file it is in, from 1
	// cmd is the command as typed: its first line without the "$ ", and
	// the lines of a here-document.
	cmd string
	// comment is the text after " # " on the first line: why it is shown.
	comment string
	want    []string
}

func (e example) String() string { return e.file + ":" + strconv.Itoa(e.line) + ": $ " + e.cmd }

// consoleExamples reads the examples of every ```console block of the
// file, in order. A "$ " line starts one; the lines of its here-document
// (<<'END' ... END) and of its "\" continuations are part of the command;
// the lines after it, up to the next "$ " line or the block's end, are its
// output, without trailing blank lines.
func consoleExamples(t *testing.T, path string) []example {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out     []example
		section string
		block   int
		inBlock bool
		cur     *example
		heredoc string
		cont    bool
	)
	flush := func() {
		if cur == nil {
			return
		}
		for len(cur.want) > 0 && strings.TrimSpace(cur.want[len(cur.want)-1]) == "" {
			cur.want = cur.want[:len(cur.want)-1]
		}
		out = append(out, *cur)
		cur = nil
	}
	heredocStart := regexp.MustCompile(`<<-?'?([A-Z]+)'?`)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock && strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case !inBlock && line == "```console":
			inBlock = true
			block++
		case !inBlock:
		case heredoc != "":
			cur.cmd += "\n" + line
			if line == heredoc {
				heredoc = ""
			}
		case cont:
			cur.cmd += "\n" + line
			cont = strings.HasSuffix(line, "\\")
		case line == "```":
			flush()
			inBlock = false
		case strings.HasPrefix(line, "$ "):
			flush()
			cur = &example{file: filepath.Base(path), line: n, section: section, block: block, cmd: strings.TrimPrefix(line, "$ ")}
			if m := regexp.MustCompile(`\s+#\s+(.*)$`).FindStringSubmatch(cur.cmd); m != nil && !strings.Contains(cur.cmd, "'#") {
				cur.comment = m[1]
			}
			if m := heredocStart.FindStringSubmatch(cur.cmd); m != nil {
				heredoc = m[1]
			}
			cont = strings.HasSuffix(line, "\\")
		case cur != nil:
			cur.want = append(cur.want, line)
		}
	}
	flush()
	return out
}

// codeBlocks returns the bodies of the ```LANG blocks of the file.
func codeBlocks(t *testing.T, path, lang string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)```" + lang + "\n(.*?)```")
	var out []string
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out = append(out, m[1])
	}
	return out
}

// shapeRules turn what changes from run to run into placeholders: ids,
// times, ages, counters of log lines.
var shapeRules = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`), "<uid>"},
	{regexp.MustCompile(`\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b`), "<id>"},
	{regexp.MustCompile(`\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}`), "<time>"},
	{regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`), "<time>"},
	{regexp.MustCompile(`(^|[\s(])(\d+[dhms])+(\s|\)|$)`), "$1<age>$3"},
	{regexp.MustCompile(`(^|\s)line \d+$`), "${1}line <n>"},
	{regexp.MustCompile(`(^|\s)\d+%(\s|$)`), "$1<pct>$2"},
}

// shape is the line with what changes from run to run replaced, and its
// spacing (the alignment of columns) collapsed.
func shape(line string) string {
	for _, r := range shapeRules {
		for { // twice: matches next to each other share a space
			next := r.re.ReplaceAllString(line, r.with)
			if next == line {
				break
			}
			line = next
		}
	}
	return strings.Join(strings.Fields(line), " ")
}

// helpBlocks returns, for each "## minkube CMD" or "### mkctl CMD"
// section of a document (heading is "## minkube" or "### mkctl"), the
// ``` block that follows it.
func helpBlocks(t *testing.T, path, heading string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)" + regexp.QuoteMeta(heading) + " (\\S+)\n\n```\n(.*?)```")
	out := map[string]string{}
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out[m[1]] = m[2]
	}
	return out
}

// rewriteHelpBlocks replaces the ``` block after each heading section of
// the document at path with what current returns for its command.
func rewriteHelpBlocks(t *testing.T, path, heading string, current func(name string) string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)(" + regexp.QuoteMeta(heading) + " (\\S+)\n\n```\n)(.*?)(```)")
	out := re.ReplaceAllStringFunc(string(data), func(block string) string {
		m := re.FindStringSubmatch(block)
		return m[1] + current(m[2]) + m[4]
	})
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

// help runs BINARY CMD --help and returns what it prints, without the
// global flags when global is false.
func help(t *testing.T, binary, cmd string, global bool) string {
	t.Helper()
	c := exec.Command(filepath.Join(binDir, binary), cmd, "--help")
	c.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
	out, err := c.Output()
	if err != nil {
		t.Fatalf("%s %s --help: %v", binary, cmd, err)
	}
	if global {
		return string(out)
	}
	before, _, _ := strings.Cut(string(out), "Global Flags:")
	return before
}

// updateDocs rewrites the --help blocks of docs/cli.md and docs/flags.md
// from the built binaries instead of comparing them:
//
//	go test ./test/e2e -run TestDocs_Help -update
var updateDocs = flag.Bool("update", false, "rewrite the --help blocks of docs/cli.md and docs/flags.md from the built binaries")

// TestDocs_Help checks that docs/cli.md and docs/flags.md show every
// command's --help as the built binaries print it, and that no command is
// left out. With -update it writes what the binaries print instead.
func TestDocs_Help(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		binary, doc, heading string
		global               bool // the doc shows the global flags too
		skip                 []string
	}{
		{"mkctl", "cli.md", "### mkctl", false, []string{"help"}},
		{"minkube", "flags.md", "## minkube", true, []string{"help", "completion"}},
	} {
		blocks := helpBlocks(t, filepath.Join(docsDir, d.doc), d.heading)
		out, err := exec.Command(filepath.Join(binDir, d.binary), "--help").Output()
		if err != nil {
			t.Fatal(err)
		}
		_, cmds, _ := strings.Cut(string(out), "Available Commands:\n")
		cmds, _, _ = strings.Cut(cmds, "\n\n")
		for _, l := range strings.Split(cmds, "\n") {
			name := strings.Fields(l)[0]
			if _, ok := blocks[name]; !ok && !slices.Contains(d.skip, name) {
				t.Errorf("docs/%s has no section %s %s", d.doc, d.heading, name)
			}
		}
		if *updateDocs {
			rewriteHelpBlocks(t, filepath.Join(docsDir, d.doc), d.heading, func(name string) string { return help(t, d.binary, name, d.global) })
			continue
		}
		for name, want := range blocks {
			if got := help(t, d.binary, name, d.global); got != want {
				t.Errorf("docs/%s, %s %s: the block differs from `%s %s --help`; it prints:\n%s", d.doc, d.heading, name, d.binary, name, got)
			}
		}
	}
}
