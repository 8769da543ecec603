package v1

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"go.yaml.in/yaml/v3"
)

// MaxManifestSize is the largest manifest file ParseManifests reads:
// 64 MiB, room for hundreds of thousands of Tasks. Each of its documents
// is bounded on its own by MaxDocumentSize.
const MaxManifestSize = 64 << 20

// MaxDocumentSize is the largest document of a manifest file: 1 MiB, the
// same as the largest request body the API accepts, which is what a
// document becomes when it is applied. The work and memory of decoding a
// document grow with its size alone: YAML aliases are expanded only
// within a budget in proportion to the document's bytes (an "alias bomb"
// is refused, not expanded), and each document is decoded on its own.
const MaxDocumentSize = 1 << 20

// Document is one Task read from a manifest file.
type Document struct {
	// File is the path the document was read from, or "<stdin>".
	File string
	// Index is the document's position among the non-empty documents of
	// the file, from 1.
	Index int
	// Task is the decoded Task with its defaults set and its status
	// dropped.
	Task Task
}

// DocumentError is one problem with one document of a manifest file.
type DocumentError struct {
	File string
	// Index is the document's position from 1; 0 when the problem is with
	// the file as a whole.
	Index int
	// Name is the Task's metadata.name when it could be read.
	Name string
	// Field is the path of the field at fault, empty for the document as a
	// whole.
	Field   string
	Message string
}

// Error renders the problem as
// `FILE: document N (Task "NAME"): FIELD: MESSAGE`, leaving out the parts
// that are unknown: `FILE: document N: FIELD: MESSAGE` without a name,
// `FILE: document N (Task "NAME"): MESSAGE` without a field, and
// `FILE: MESSAGE` for the whole file.
func (e DocumentError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Index > 0 {
		b.WriteString(": document ")
		b.WriteString(strconv.Itoa(e.Index))
		if e.Name != "" {
			fmt.Fprintf(&b, " (Task %q)", e.Name)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// DocumentErrors is every problem found in a set of manifests.
type DocumentErrors []DocumentError

// Error renders one problem per line.
func (es DocumentErrors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// ParseManifests reads the Tasks in one manifest file: YAML documents
// separated by "---" lines (empty and comment-only documents are skipped),
// or JSON. Each document is decoded strictly (an unknown field, a duplicate
// key, a wrong type or a kind other than Task is an error) and then
// defaulted with SetTaskDefaults and checked with ValidateTask. A status in
// a manifest is accepted and dropped; system metadata is kept.
//
// It returns the documents only when all of them are good. Otherwise the
// error is a DocumentErrors holding every problem of every document, each
// with the file, the document number and the field path. A file over
// MaxManifestSize, a document over MaxDocumentSize (named by its number
// and first line), a file with no documents and two documents naming the
// same Task are errors too.
func ParseManifests(file string, data []byte) ([]Document, error) {
	if len(data) > MaxManifestSize {
		return nil, DocumentErrors{{File: file, Message: fmt.Sprintf("file is %d bytes, over the limit of %d bytes", len(data), MaxManifestSize)}}
	}
	var chunks []chunk
	for c := range documents(data) {
		if !isBlank(c.text) {
			chunks = append(chunks, c)
		}
	}
	parsed := parseChunks(chunks)
	var (
		docs  []Document
		errs  DocumentErrors
		index int
		names map[string]int
	)
	for i, p := range parsed {
		if len(errs) >= maxFileErrors {
			errs = append(errs, DocumentError{File: file, Message: fmt.Sprintf("too many problems; stopped after %d", len(errs))})
			break
		}
		switch {
		case p.tooLarge:
			index++
			errs = append(errs, DocumentError{File: file, Index: index, Message: fmt.Sprintf(
				"is %d bytes (from line %d), over the limit of %d bytes for one document", len(chunks[i].text), chunks[i].offset+1, MaxDocumentSize)})
			continue
		case p.err != nil:
			index++
			errs = append(errs, DocumentError{File: file, Index: index, Message: p.err.Error()})
			continue
		case p.empty:
			continue
		}
		index++
		var name string
		if p.task != nil {
			name = p.task.Metadata.Name
		}
		for _, fe := range p.ferrs {
			errs = append(errs, DocumentError{File: file, Index: index, Name: name, Field: fe.Field, Message: fe.Message})
		}
		if len(p.ferrs) > 0 {
			continue
		}
		if first, dup := names[name]; dup {
			errs = append(errs, DocumentError{File: file, Index: index, Name: name, Field: "metadata.name",
				Message: fmt.Sprintf("Task %q is already defined in document %d", name, first)})
			continue
		}
		if names == nil {
			names = map[string]int{}
		}
		names[name] = index
		docs = append(docs, Document{File: file, Index: index, Task: *p.task})
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if len(docs) == 0 {
		return nil, DocumentErrors{{File: file, Message: "no Task documents found"}}
	}
	return docs, nil
}

// parsedChunk is what one document of a manifest holds.
type parsedChunk struct {
	tooLarge bool  // over MaxDocumentSize, not parsed
	err      error // not YAML or JSON
	empty    bool  // nothing but a null or comments
	task     *Task // decoded, defaulted and validated when ferrs is empty
	ferrs    FieldErrors
}

// parseChunks parses, decodes and validates documents on every CPU at
// once (a document does not depend on another: YAML parsing is most of
// the time of a large manifest), each result at its document's place.
func parseChunks(chunks []chunk) []parsedChunk {
	out := make([]parsedChunk, len(chunks))
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range min(runtime.GOMAXPROCS(0), len(chunks)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(chunks); i = int(next.Add(1) - 1) {
				out[i] = parseChunk(chunks[i])
			}
		})
	}
	wg.Wait()
	return out
}

// parseChunk parses, decodes, defaults and validates one document.
func parseChunk(c chunk) parsedChunk {
	if len(c.text) > MaxDocumentSize {
		return parsedChunk{tooLarge: true}
	}
	root, err := parseDocument(c.text, c.offset)
	if err != nil {
		return parsedChunk{err: err}
	}
	if root == nil {
		return parsedChunk{empty: true}
	}
	t, ferrs, complete := decodeTaskNode(root, len(c.text), c.offset)
	if complete {
		SetTaskDefaults(t)
		verrs := ValidateTask(t)
		ferrs = appendUnrelated(ferrs, verrs[:min(len(verrs), maxDocumentErrors+1)])
		t.Status = TaskStatus{}
	}
	sortByPath(ferrs, taskType)
	return parsedChunk{task: t, ferrs: capErrors(ferrs)}
}

// DecodeTask decodes one Task from a JSON (or YAML) object with the same
// strict checks as ParseManifests: every unknown field, duplicate key and
// wrong type is reported with its path. It neither sets defaults nor
// validates; the caller does both.
//
// The Task is nil exactly when data does not hold one Task object at all
// (empty, not JSON or YAML, a list, several documents, another kind): a
// server answers that with BadRequest. Otherwise errors are about fields,
// an Invalid answer, and the Task holds what could be decoded, so that the
// caller can name it.
func DecodeTask(data []byte) (*Task, FieldErrors) {
	body := bytes.TrimPrefix(data, bom)
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, FieldErrors{{Message: "empty body: expected a Task object"}}
	}
	var root *yaml.Node
	if trimmed[0] == '{' {
		n, tree, err := jsonToNode(body)
		defer tree.release() // nothing keeps a node once decodeTaskNode returns
		if err != nil {
			if n, yerr := parseSingleYAML(body); yerr == nil {
				root = n
			} else {
				return nil, FieldErrors{{Message: "not valid JSON: " + err.Error()}}
			}
		} else {
			root = n
		}
	} else {
		n, err := parseSingleYAML(body)
		if err != nil {
			return nil, FieldErrors{{Message: err.Error()}}
		}
		root = n
	}
	if root == nil {
		return nil, FieldErrors{{Message: "empty body: expected a Task object"}}
	}
	t, errs, _ := decodeTaskNode(root, len(data), 0)
	sortByPath(errs, taskType)
	return t, capErrors(errs)
}

var (
	bom      = []byte("\ufeff")
	taskType = reflect.TypeFor[Task]()
)

// parseSingleYAML parses data as exactly one YAML document; nil for an
// empty one.
func parseSingleYAML(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, fmt.Errorf("not valid YAML: %s", yamlMessage(err, 0))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err != io.EOF {
		return nil, errors.New("must hold exactly one object, found more than one document")
	}
	return documentRoot(&doc), nil
}

// decodeTaskNode decodes a document's root node into a Task. complete is
// false when the document is not a Task object at all (not a mapping, or
// another kind) or was too big to finish; then t is nil or partial, and
// validating it would only add noise.
func decodeTaskNode(root *yaml.Node, size, lineOffset int) (t *Task, errs FieldErrors, complete bool) {
	if root.Kind != yaml.MappingNode {
		return nil, FieldErrors{{Message: "must be a Task object, got " + describe(root, root.ShortTag())}}, false
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Value == "kind" && v.Kind == yaml.ScalarNode && v.ShortTag() == tagStr && v.Value != KindTask {
			return nil, FieldErrors{{"kind", fmt.Sprintf("must be %s, got %q", KindTask, truncate(v.Value))}}, false
		}
	}
	d := newDecoder(size, lineOffset)
	t = new(Task)
	d.object(root, reflect.ValueOf(t).Elem())
	return t, d.errs, !d.exhausted
}

// appendUnrelated appends to decodeErrs the validation errors that are not
// about a field that failed to decode (a field of the wrong type is empty,
// and "required" would only repeat the problem).
func appendUnrelated(decodeErrs, validateErrs FieldErrors) FieldErrors {
	out := decodeErrs
outer:
	for _, v := range validateErrs {
		for _, d := range decodeErrs {
			if pathRelated(d.Field, v.Field) {
				continue outer
			}
		}
		out = append(out, v)
	}
	return out
}

// maxDocumentErrors is how many problems are reported of one document,
// and maxFileErrors of one file; past that, a bad file would only flood
// the screen.
const (
	maxDocumentErrors = 100
	maxFileErrors     = 1000
)

// capErrors keeps the first maxDocumentErrors problems and says so.
func capErrors(errs FieldErrors) FieldErrors {
	if len(errs) <= maxDocumentErrors {
		return errs
	}
	errs = errs[:maxDocumentErrors:maxDocumentErrors]
	return append(errs, FieldError{Message: fmt.Sprintf("too many problems; only the first %d are shown", maxDocumentErrors)})
}

// pathRelated reports whether one path is the other or lies under it.
func pathRelated(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if !strings.HasPrefix(b, a) {
		return false
	}
	return len(a) == len(b) || a == "" || b[len(a)] == '.' || b[len(a)] == '['
}

// chunk is one document's text and the number of file lines before it.
type chunk struct {
	text   []byte
	offset int
}

// documents cuts a YAML stream at its "---" and "..." marker lines and
// yields each document in turn, so that a caller that stops early
// (IsEmptyManifest) cuts no further. Text after "---" on a marker line
// starts the next document.
func documents(data []byte) iter.Seq[chunk] {
	return func(yield func(chunk) bool) {
		data := bytes.TrimPrefix(data, bom)
		var (
			prefix []byte // text from the marker line that opened the document
			start  int    // where the current document's own lines begin
			offset int    // file lines before the document's first line
		)
		chunkTo := func(end int) chunk {
			text := data[start:end]
			if prefix != nil {
				text = append(prefix, text...)
			}
			return chunk{text: text, offset: offset}
		}
		for pos, line := 0, 0; pos < len(data); line++ {
			end, next := len(data), len(data)
			if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
				end, next = pos+i, pos+i+1
			}
			text := bytes.TrimRight(data[pos:end], " \t\r")
			if isMarker(text) {
				if !yield(chunkTo(pos)) {
					return
				}
				start, offset, prefix = next, line+1, nil
				if rest := bytes.TrimLeft(text[3:], " \t"); len(rest) > 0 && text[0] == '-' {
					prefix = append(append([]byte(nil), rest...), '\n')
					offset = line
				}
			}
			pos = next
		}
		yield(chunkTo(len(data)))
	}
}

// IsEmptyManifest reports whether data holds no document at all: nothing
// but blank lines, comments and "---" / "..." markers. ParseManifests
// calls such a file an error (applying nothing by hand is a mistake); a
// directory sync reads it as a file that declares no Tasks.
func IsEmptyManifest(data []byte) bool {
	for c := range documents(data) {
		if !isBlank(c.text) {
			return false
		}
	}
	return true
}

// isBlank reports whether text holds nothing but blank and comment lines,
// which saves a parser run for each of them.
func isBlank(text []byte) bool {
	for line := range bytes.SplitSeq(text, []byte("\n")) {
		line = bytes.TrimLeft(line, " \t\r")
		if len(line) > 0 && line[0] != '#' {
			return false
		}
	}
	return true
}

func isMarker(line []byte) bool {
	if len(line) < 3 {
		return false
	}
	if string(line) == "..." {
		return true
	}
	return string(line[:3]) == "---" && (len(line) == 3 || line[3] == ' ' || line[3] == '\t')
}

// parseDocument parses one document's text into its root node; nil for an
// empty or comment-only document.
func parseDocument(text []byte, lineOffset int) (*yaml.Node, error) {
	if first := firstNonSpace(text); first == '{' || first == '[' {
		if n, _, err := jsonToNode(text); err == nil {
			return n, nil
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return nil, fmt.Errorf("not valid YAML: %s", yamlMessage(err, lineOffset))
	}
	return documentRoot(&doc), nil
}

func firstNonSpace(b []byte) byte {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
		default:
			return c
		}
	}
	return 0
}

// documentRoot returns the content of a document node; nil when it is
// empty or null.
func documentRoot(doc *yaml.Node) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == tagNull {
		return nil
	}
	return root
}

var yamlLineRegexp = regexp.MustCompile(`^line (\d+): `)

// yamlMessage strips the parser's "yaml: " prefix from err and turns the
// line number in it into a file line. The YAML parser counts the lines of
// its parser errors (as opposed to scanner errors) from 0, and names the
// line where the construct it could not finish began.
func yamlMessage(err error, lineOffset int) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	m := yamlLineRegexp.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	n, convErr := strconv.Atoi(m[1])
	if convErr != nil {
		return msg
	}
	rest := msg[len(m[0]):]
	if strings.HasPrefix(rest, "did not find expected") || strings.HasPrefix(rest, "found undefined tag handle") ||
		strings.HasPrefix(rest, "found duplicate %") || strings.HasPrefix(rest, "found incompatible YAML document") {
		n++
	}
	return "line " + strconv.Itoa(n+lineOffset) + ": " + rest
}
