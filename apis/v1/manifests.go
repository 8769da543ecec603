package v1

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// StdinName is the File of documents read from standard input.
const StdinName = "<stdin>"

// IsManifestName reports whether a directory entry named name holds
// manifests: it ends in .yaml or .yml and is not a dotfile or an editor's
// swap, backup or lock file (*.swp, *.swx, *~, .#*, #*#). The directory
// sync uses it to filter file events.
func IsManifestName(name string) bool {
	if name == "" || name[0] == '.' || name[0] == '#' || strings.HasSuffix(name, "~") {
		return false
	}
	switch filepath.Ext(name) {
	case ".yaml", ".yml":
		return true
	default:
		return false
	}
}

// ManifestFiles lists the manifest files at root. A file is returned as
// it is, whatever its name. For a directory it returns the files below it
// that IsManifestName accepts, in lexical order: only those directly in it,
// or in every subdirectory too when recursive is set. Dotfiles and
// dot-directories are skipped; symbolic links are followed, to files and
// to directories, each directory being listed once however many links lead
// to it, so a link loop ends. That makes a mounted Kubernetes ConfigMap
// work: its "a.yaml -> ..data/a.yaml" links are read while "..data" and
// the "..2026_..." directory it points to are not walked themselves.
// A link that leads nowhere is skipped. The error names the path that
// could not be read.
func ManifestFiles(root string, recursive bool) ([]string, error) {
	info, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{root}, nil
	}
	files, _, err := walkManifests(root, recursive)
	return files, err
}

// ManifestDir is a directory a walk of manifests listed: the path the
// walk reached it by, and where that path leads with links resolved.
type ManifestDir struct {
	Path, Real string
}

// WalkManifests is ManifestFiles of the directory root, recursive, that
// also returns the directories it listed (root first, each real directory
// once), for a caller that watches them: events then name files by the
// paths ManifestFiles returns.
func WalkManifests(root string) ([]string, []ManifestDir, error) {
	return walkManifests(root, true)
}

func walkManifests(root string, recursive bool) ([]string, []ManifestDir, error) {
	w := walker{recursive: recursive, seen: map[string]bool{}}
	if err := w.dir(root); err != nil {
		return nil, nil, err
	}
	sort.Strings(w.files)
	return w.files, w.dirs, nil
}

type walker struct {
	recursive bool
	seen      map[string]bool // real paths of the directories listed
	files     []string
	dirs      []ManifestDir
}

func (w *walker) dir(dir string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("read manifests: %w", err)
	}
	if w.seen[real] {
		return nil
	}
	w.seen[real] = true
	w.dirs = append(w.dirs, ManifestDir{Path: dir, Real: real})
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("read manifests: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			info, err := os.Stat(path)
			if errors.Is(err, fs.ErrNotExist) {
				continue // a dangling link
			}
			if err != nil {
				return fmt.Errorf("read manifests: %w", err)
			}
			mode = info.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if w.recursive {
				if err := w.dir(path); err != nil {
					return err
				}
			}
		case mode.IsRegular():
			if IsManifestName(name) {
				w.files = append(w.files, path)
			}
		}
	}
	return nil
}

// ReadManifests reads every document of every path: a file, a directory
// (see ManifestFiles; recursive descends into subdirectories) or "-" for
// stdin, whose documents carry the File "<stdin>". It reads everything
// before it returns: either all the documents, in order, or a
// DocumentErrors with every problem of every file, including paths that
// cannot be read, directories without manifests, and a Task name defined
// twice (reported at the second place, naming the first).
func ReadManifests(paths []string, recursive bool, stdin io.Reader) ([]Document, error) {
	var (
		docs      []Document
		errs      DocumentErrors
		stdinRead bool
	)
	if len(paths) == 0 {
		return nil, DocumentErrors{{Message: "no manifest files given"}}
	}
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				errs = append(errs, DocumentError{File: StdinName, Message: "standard input can be read only once"})
				continue
			}
			stdinRead = true
			data, err := readLimited(stdin)
			if err != nil {
				errs = append(errs, DocumentError{File: StdinName, Message: err.Error()})
				continue
			}
			docs, errs = parseInto(docs, errs, StdinName, data)
			continue
		}
		files, err := ManifestFiles(p, recursive)
		if err != nil {
			errs = append(errs, DocumentError{File: p, Message: pathMessage(err, p)})
			continue
		}
		if len(files) == 0 {
			msg := "no *.yaml or *.yml files found"
			if !recursive {
				if below, err := ManifestFiles(p, true); err == nil && len(below) > 0 {
					msg = fmt.Sprintf("no *.yaml or *.yml files directly in the directory; %d in its subdirectories: use -R (--recursive) to read them", len(below))
				}
			}
			errs = append(errs, DocumentError{File: p, Message: msg})
			continue
		}
		for _, f := range files {
			data, err := ReadManifestFile(f)
			if err != nil {
				errs = append(errs, DocumentError{File: f, Message: pathMessage(err, f)})
				continue
			}
			docs, errs = parseInto(docs, errs, f, data)
		}
	}
	errs = append(errs, duplicateNames(docs)...)
	if len(errs) > 0 {
		return nil, errs
	}
	return docs, nil
}

// pathMessage words an error reading file for a DocumentError whose File
// is file: the path is left out when it is file itself.
func pathMessage(err error, file string) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		if pe.Path == file {
			return "cannot read: " + pe.Err.Error()
		}
		return "cannot read " + pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

func parseInto(docs []Document, errs DocumentErrors, file string, data []byte) ([]Document, DocumentErrors) {
	d, err := ParseManifests(file, data)
	var derrs DocumentErrors
	if errors.As(err, &derrs) {
		return docs, append(errs, derrs...)
	}
	if err != nil {
		return docs, append(errs, DocumentError{File: file, Message: err.Error()})
	}
	return append(docs, d...), errs
}

// duplicateNames reports each document whose Task name an earlier document
// of another file already used; ParseManifests reports those within a
// file.
func duplicateNames(docs []Document) DocumentErrors {
	var errs DocumentErrors
	first := make(map[string]int, len(docs))
	for i, d := range docs {
		name := d.Task.Metadata.Name
		j, dup := first[name]
		if !dup {
			first[name] = i
			continue
		}
		errs = append(errs, DocumentError{File: d.File, Index: d.Index, Name: name, Field: "metadata.name",
			Message: fmt.Sprintf("Task %q is already defined in %s document %d", name, docs[j].File, docs[j].Index)})
	}
	return errs
}

// ReadManifestFile reads a manifest file, refusing one over
// MaxManifestSize without reading it.
func ReadManifestFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if info.Size() > MaxManifestSize {
		return nil, fmt.Errorf("file is %d bytes, over the limit of %d bytes", info.Size(), MaxManifestSize)
	}
	return readLimited(f)
}

// readLimited reads r to its end, failing once it passes MaxManifestSize.
func readLimited(r io.Reader) ([]byte, error) {
	if r == nil {
		return nil, errors.New("no standard input")
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxManifestSize+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > MaxManifestSize {
		return nil, fmt.Errorf("more than the limit of %d bytes", MaxManifestSize)
	}
	return data, nil
}
