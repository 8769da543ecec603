package serve

import (
	"io"
	"sync"
)

// PreallocBody is the largest announced body ReadBody allocates for
// before it arrives: a task or a status report is a few KB, and a client
// that announces a megabyte and sends nothing must not get one.
const PreallocBody = 64 << 10

// BodyBuffer holds a body ReadBody read into a buffer of its pool.
type BodyBuffer struct{ b []byte }

var bodyBuffers = sync.Pool{New: func() any { return new(BodyBuffer) }}

// Release hands the buffer back for another body. The caller must be done
// with the body: nothing may keep a slice of it (a decoder that copies
// what it keeps, as goccy's Unmarshal does, is done with it when it
// returns). Release of nil does nothing.
func (bb *BodyBuffer) Release() {
	if bb != nil {
		bodyBuffers.Put(bb)
	}
}

// ReadBody reads a request body whose Content-Length is announced (-1 or
// 0 when unknown). Up to PreallocBody, it reads into one buffer of that
// size, where io.ReadAll grows one from 512 bytes, copying, to about
// twice what it holds, and takes the buffer from a pool: buf, when not
// nil, goes back with Release. A body that ends early is
// io.ErrUnexpectedEOF. Errors are the body's own (a *http.MaxBytesError
// past a limit).
func ReadBody(body io.Reader, announced int64) (data []byte, buf *BodyBuffer, err error) {
	if announced <= 0 || announced > PreallocBody {
		data, err = io.ReadAll(body)
		return data, nil, err
	}
	buf = bodyBuffers.Get().(*BodyBuffer)
	if int64(cap(buf.b)) < announced {
		buf.b = make([]byte, announced)
	}
	data = buf.b[:announced]
	if _, err := io.ReadFull(body, data); err != nil {
		buf.Release()
		return nil, nil, err
	}
	return data, buf, nil
}
