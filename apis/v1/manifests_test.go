package v1

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func taskYAML(name string) string {
	return fmt.Sprintf("apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: %s}\nspec: {image: nginx}\n", name)
}

// mustWriteFiles creates each file (path relative to dir, parents made)
// with its content.
func mustWriteFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func TestIsManifestName(t *testing.T) {
	tests := map[string]bool{
		"a.yaml": true, "a.yml": true, "a.b.yaml": true,
		"a.json": false, "a.YAML": false, "a": false, "": false,
		".a.yaml": false, "..data": false, ".a.yaml.swp": false, "a.yaml.swp": false, "a.yaml.swx": false,
		"a.yaml~": false, ".#a.yaml": false, "#a.yaml#": false, "4913": false,
	}
	for name, want := range tests {
		if got := IsManifestName(name); got != want {
			t.Errorf("IsManifestName(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestManifestFiles(t *testing.T) {
	dir := t.TempDir()
	mustWriteFiles(t, dir, map[string]string{
		"b.yaml":              "",
		"a.yml":               "",
		"notes.txt":           "",
		".hidden.yaml":        "",
		".a.yaml.swp":         "",
		"b.yaml~":             "",
		".#b.yaml":            "",
		"#b.yaml#":            "",
		"sub/c.yaml":          "",
		"sub/deeper/d.yaml":   "",
		".git/config.yaml":    "",
		"sub/.cache/e.yaml":   "",
		"elsewhere/f.yaml":    "",
		"a/z.yaml":            "",
		"cm/..2026_01/g.yaml": "",
	})
	// A symlinked directory, a link back up (a loop), a dangling link, and
	// the ConfigMap layout: ..data -> ..2026_01, g.yaml -> ..data/g.yaml.
	mustSymlink(t, filepath.Join(dir, "elsewhere"), filepath.Join(dir, "sub", "linked"))
	mustSymlink(t, "..", filepath.Join(dir, "sub", "deeper", "up"))
	mustSymlink(t, "missing.yaml", filepath.Join(dir, "dangling.yaml"))
	mustSymlink(t, "..2026_01", filepath.Join(dir, "cm", "..data"))
	mustSymlink(t, filepath.Join("..data", "g.yaml"), filepath.Join(dir, "cm", "g.yaml"))

	tests := []struct {
		name      string
		root      string
		recursive bool
		want      []string
	}{
		{"flat", dir, false, []string{"a.yml", "b.yaml"}},
		{"recursive", dir, true, []string{
			"a.yml", "a/z.yaml", "b.yaml", "cm/g.yaml", "elsewhere/f.yaml",
			"sub/c.yaml", "sub/deeper/d.yaml",
		}},
		{"ConfigMap directory", filepath.Join(dir, "cm"), false, []string{"cm/g.yaml"}},
		{"a file is itself, whatever its name", filepath.Join(dir, "notes.txt"), false, []string{"notes.txt"}},
		{"an explicit dotfile", filepath.Join(dir, ".hidden.yaml"), true, []string{".hidden.yaml"}},
		{"a link to a file", filepath.Join(dir, "cm", "g.yaml"), false, []string{"cm/g.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ManifestFiles(tt.root, tt.recursive)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, filepath.Join(dir, w))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %q\nwant %q", got, want)
			}
		})
	}
	// The linked directory is listed once, under the first name it was met
	// by; sub/linked and sub/deeper/up lead to directories already seen.
	t.Run("missing root", func(t *testing.T) {
		_, err := ManifestFiles(filepath.Join(dir, "nope"), false)
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v, want ErrNotExist", err)
		}
	})
}

func TestReadManifests(t *testing.T) {
	dir := t.TempDir()
	mustWriteFiles(t, dir, map[string]string{
		"good/a.yaml":       taskYAML("a") + "---\n" + taskYAML("b"),
		"good/sub/c.yaml":   taskYAML("c"),
		"bad/1.yaml":        "apiVersion: minkube.io/v1\nkind: Task\nmetadata: {name: x}\nspec:\n  image: nginx\n  bogus: 1\n",
		"bad/2.yaml":        "---\n" + taskYAML("a"),
		"bad/3.yaml":        "kind: Worker\n",
		"empty/readme.txt":  "",
		"dup/one.yaml":      taskYAML("same"),
		"dup/two.yaml":      taskYAML("other") + "---\n" + taskYAML("same"),
		"single/task.yml":   taskYAML("solo"),
		"big/huge.yaml":     strings.Repeat("#", MaxManifestSize+1),
		"stdin-dup/s.yaml":  taskYAML("from-stdin"),
		"noext/manifest.md": taskYAML("md"),
		"nested/sub/d.yaml": taskYAML("d"),
		"nested/sub/e.yml":  taskYAML("e"),
	})
	good := filepath.Join(dir, "good")
	stdin := func(s string) *strings.Reader { return strings.NewReader(s) }

	tests := []struct {
		name      string
		paths     []string
		recursive bool
		stdin     string
		wantDocs  []string // File:Index:Name
		wantErrs  []string // fragments of each error line, in order
	}{
		{"directory", []string{good}, false, "", []string{"good/a.yaml:1:a", "good/a.yaml:2:b"}, nil},
		{"recursive", []string{good}, true, "", []string{"good/a.yaml:1:a", "good/a.yaml:2:b", "good/sub/c.yaml:1:c"}, nil},
		{"stdin and a file", []string{"-", filepath.Join(dir, "single", "task.yml")}, false, taskYAML("in"),
			[]string{"<stdin>:1:in", "single/task.yml:1:solo"}, nil},
		{"explicit file of any name", []string{filepath.Join(dir, "noext", "manifest.md")}, false, "", []string{"noext/manifest.md:1:md"}, nil},
		{"every problem of every file", []string{filepath.Join(dir, "bad"), filepath.Join(dir, "missing"), filepath.Join(dir, "empty")}, false, "", nil, []string{
			`bad/1.yaml: document 1 (Task "x"): spec.bogus: unknown field`,
			`bad/3.yaml: document 1: kind: must be Task, got "Worker"`,
			`missing: cannot read: no such file or directory`,
			`empty: no *.yaml or *.yml files found`,
		}},
		{"a name defined in two places", []string{good, filepath.Join(dir, "bad", "2.yaml")}, false, "", nil, []string{
			`bad/2.yaml: document 1 (Task "a"): metadata.name: Task "a" is already defined in ` + filepath.Join(good, "a.yaml") + ` document 1`,
		}},
		{"duplicates across files of one directory", []string{filepath.Join(dir, "dup")}, false, "", nil, []string{
			`dup/two.yaml: document 2 (Task "same"): metadata.name: Task "same" is already defined in ` + filepath.Join(dir, "dup", "one.yaml") + ` document 1`,
		}},
		{"a file over the limit", []string{filepath.Join(dir, "big")}, false, "", nil, []string{
			fmt.Sprintf("big/huge.yaml: file is %d bytes, over the limit of %d bytes", MaxManifestSize+1, MaxManifestSize),
		}},
		{"stdin over the limit", []string{"-"}, false, strings.Repeat("#", MaxManifestSize+1), nil, []string{
			fmt.Sprintf("<stdin>: more than the limit of %d bytes", MaxManifestSize),
		}},
		{"subdirectories only, without -R", []string{filepath.Join(dir, "nested")}, false, "", nil, []string{
			"nested: no *.yaml or *.yml files directly in the directory; 2 in its subdirectories: use -R (--recursive) to read them",
		}},
		{"subdirectories only, with -R", []string{filepath.Join(dir, "nested")}, true, "", []string{"nested/sub/d.yaml:1:d", "nested/sub/e.yml:1:e"}, nil},
		{"stdin twice", []string{"-", "-"}, false, taskYAML("in"), nil, []string{"<stdin>: standard input can be read only once"}},
		{"empty stdin", []string{"-"}, false, "", nil, []string{"<stdin>: no Task documents found"}},
		{"nothing given", nil, false, "", nil, []string{"no manifest files given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			docs, err := ReadManifests(tt.paths, tt.recursive, stdin(tt.stdin))
			if tt.wantErrs == nil {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				var derrs DocumentErrors
				if !errors.As(err, &derrs) {
					t.Fatalf("err = %v (%T), want DocumentErrors", err, err)
				}
				if docs != nil {
					t.Errorf("got documents with the error")
				}
				lines := strings.Split(err.Error(), "\n")
				if len(lines) != len(tt.wantErrs) {
					t.Fatalf("got %d errors, want %d:\n%v", len(lines), len(tt.wantErrs), err)
				}
				for i, w := range tt.wantErrs {
					if !strings.Contains(lines[i], w) {
						t.Errorf("error %d = %q, want it to contain %q", i, lines[i], w)
					}
				}
			}
			var got []string
			for _, d := range docs {
				got = append(got, fmt.Sprintf("%s:%d:%s", strings.TrimPrefix(d.File, dir+string(filepath.Separator)), d.Index, d.Task.Metadata.Name))
			}
			if !reflect.DeepEqual(got, tt.wantDocs) {
				t.Errorf("documents %q, want %q", got, tt.wantDocs)
			}
		})
	}
}

func TestReadManifests_Unreadable(t *testing.T) {
	// A path below a regular file cannot be read by anyone, root included.
	dir := t.TempDir()
	mustWriteFiles(t, dir, map[string]string{"file.yaml": taskYAML("f")})
	path := filepath.Join(dir, "file.yaml", "x.yaml")
	_, err := ReadManifests([]string{path}, false, nil)
	if want := path + ": cannot read: not a directory"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestIsEmptyManifest(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{"", true},
		{"\n\n  \n", true},
		{"# a comment\n---\n# another\n...\n", true},
		{"\xef\xbb\xbf---\n", true},
		{"--- # comment\n", true},
		{"--- {}\n", false},
		{"---x\n", false},
		{"null\n", false},
		{"apiVersion: minkube.io/v1\n", false},
		{"  # indented comment\n\t\n", true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.data), func(t *testing.T) {
			if got := IsEmptyManifest([]byte(tt.data)); got != tt.want {
				t.Errorf("IsEmptyManifest = %v, want %v", got, tt.want)
			}
		})
	}
}
