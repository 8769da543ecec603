package apiserver

import (
	"bufio"
	"bytes"
	"net/http"
	"strconv"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// listBufferSize is how much of a list response is gathered before it is
// written: a few items at a time rather than one write each.
const listBufferSize = 32 << 10

// listHead is what a list object holds before its items: the part
// startList encodes.
type listHead struct {
	v1.TypeMeta `json:",inline"`
	Metadata    v1.ListMeta `json:"metadata"`
}

// listWriter writes a list object to a response as it goes, one item at
// a time, straight from the cache's objects:
//
//	{"apiVersion":"minkube.io/v1","kind":"TaskList","metadata":{"resourceVersion":"7"},"items":[{...},{...}]}
//
// byte for byte what json.Encoder writes for the whole list object, but
// without building that object and its whole encoding first: a list of
// 10,000 Tasks costs the manager one Task's encoding and a buffer, not
// the list twice over (once as a copy of every item, once as ~7 MB of
// JSON that encoding/json's pool then keeps).
type listWriter struct {
	bw   *bufio.Writer
	buf  bytes.Buffer
	enc  *json.Encoder
	n    int
	fail bool // a write failed: the client went away
}

// newListHead returns the head of a list of kind at rev.
func newListHead(kind string, rev int64) listHead {
	return listHead{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: kind},
		Metadata: v1.ListMeta{ResourceVersion: strconv.FormatInt(rev, 10)},
	}
}

// startList writes the status line, the headers and head, the fields of
// the list object before its array (a listHead, or a struct that embeds
// one and adds fields after it), and opens the array field (items, or
// rows for a Table).
func startList(w http.ResponseWriter, head any, field string) *listWriter {
	l := &listWriter{bw: bufio.NewWriterSize(w, listBufferSize)}
	l.enc = json.NewEncoder(&l.buf)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if err := l.enc.Encode(head); err != nil {
		// The heads are plain structs of strings: encoding them cannot
		// fail. Should it, the answer is an error and no list.
		l.fail = true
		return l
	}
	// {...}\n -> {...,"field":[
	b := bytes.TrimRight(l.buf.Bytes(), "\n")
	l.write(b[:len(b)-1])
	l.write([]byte(`,"` + field + `":[`))
	return l
}

// item writes one item.
func (l *listWriter) item(v any) {
	if l.fail {
		return
	}
	l.buf.Reset()
	if err := l.enc.Encode(v); err != nil {
		l.fail = true
		return
	}
	if l.n > 0 {
		l.write([]byte{','})
	}
	l.n++
	l.write(bytes.TrimSuffix(l.buf.Bytes(), []byte{'\n'}))
}

// end closes the array and the object and flushes what is buffered.
func (l *listWriter) end() {
	l.write([]byte("]}\n"))
	if !l.fail {
		_ = l.bw.Flush() // the client went away; nothing to tell it
	}
}

func (l *listWriter) write(b []byte) {
	if l.fail {
		return
	}
	if _, err := l.bw.Write(b); err != nil {
		l.fail = true
	}
}

// writeList writes a list of kind at rev holding the items keep lets
// through (all when keep is nil), streamed by listWriter.
func writeList[P any](w http.ResponseWriter, kind string, rev int64, items []P, keep func(P) bool) {
	l := startList(w, newListHead(kind, rev), "items")
	for _, it := range items {
		if keep == nil || keep(it) {
			l.item(it)
		}
	}
	l.end()
}
