package serve

import "io"

// PreallocBody is the largest announced body ReadBody allocates for
// before it arrives: a task or a status report is a few KB, and a client
// that announces a megabyte and sends nothing must not get one.
const PreallocBody = 64 << 10

// ReadBody reads a request body whose Content-Length is announced (-1 or
// 0 when unknown). Up to PreallocBody, it reads into one buffer of that
// size, where io.ReadAll grows one from 512 bytes, copying, to about
// twice what it holds; a body that ends early is io.ErrUnexpectedEOF.
// Errors are the body's own (a *http.MaxBytesError past a limit).
func ReadBody(body io.Reader, announced int64) ([]byte, error) {
	if announced <= 0 || announced > PreallocBody {
		return io.ReadAll(body)
	}
	data := make([]byte, announced)
	if _, err := io.ReadFull(body, data); err != nil {
		return nil, err
	}
	return data, nil
}
