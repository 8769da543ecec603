package serve_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/minkube/minkube/serve"
)

// TestReadBody_ReusesItsBuffers: a body of known length is read into a
// pooled buffer, which a released body hands to the next one; what the
// next body reads is its own bytes, whatever the buffer held before.
func TestReadBody_ReusesItsBuffers(t *testing.T) {
	first := strings.Repeat("a", 300)
	data, buf, err := serve.ReadBody(strings.NewReader(first), int64(len(first)))
	if err != nil || string(data) != first || buf == nil {
		t.Fatalf("ReadBody = %q, %v, %v; want the body in a pooled buffer", data, buf, err)
	}
	buf.Release()
	// The pool may drop what is put in it (at a collection, and at
	// random under the race detector): look for a reuse over a few reads.
	reused, last := false, &data[0]
	for range 20 {
		second := "b-" + strings.Repeat("c", 100)
		got, buf2, err := serve.ReadBody(strings.NewReader(second), int64(len(second)))
		if err != nil || string(got) != second {
			t.Fatalf("ReadBody after a release = %q, %v; want %q", got, err, second)
		}
		reused = reused || &got[0] == last
		last = &got[0]
		buf2.Release()
	}
	if !reused {
		t.Error("no read reused the released buffer")
	}

	// A body of unknown length is not pooled; releasing its nil buffer is
	// harmless.
	got, buf, err := serve.ReadBody(bytes.NewReader([]byte("x")), -1)
	if err != nil || string(got) != "x" || buf != nil {
		t.Fatalf("ReadBody of unknown length = %q, %v, %v", got, buf, err)
	}
	buf.Release()

	// A body shorter than announced fails and gives nothing back.
	got, buf, err = serve.ReadBody(strings.NewReader("abc"), 10)
	if err != io.ErrUnexpectedEOF || got != nil || buf != nil {
		t.Fatalf("ReadBody of a short body = %q, %v, %v; want io.ErrUnexpectedEOF", got, buf, err)
	}
}
