package apiserver

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/minkube/minkube/serve"
)

// TestReadBody reads bodies of a known length, of an unknown one, one
// shorter than announced and one over the limit.
func TestReadBody(t *testing.T) {
	body := `{"kind":"Task"}`
	large := strings.Repeat("x", serve.PreallocBody+1)
	for _, tc := range []struct {
		name    string
		body    io.Reader
		length  int64
		limit   int64
		want    string
		wantErr string
	}{
		{name: "known length", body: strings.NewReader(body), length: int64(len(body)), limit: MaxBodyBytes, want: body},
		{name: "unknown length", body: strings.NewReader(body), length: -1, limit: MaxBodyBytes, want: body},
		{name: "known length, larger than what is allocated ahead", body: strings.NewReader(large), length: int64(len(large)), limit: MaxBodyBytes, want: large},
		{name: "shorter than announced", body: strings.NewReader(body), length: int64(len(body)) + 5, limit: MaxBodyBytes, wantErr: "reading the request body: unexpected EOF"},
		{name: "over the limit", body: strings.NewReader(body), length: int64(len(body)), limit: 4, wantErr: "http: request body too large"},
		{name: "over the limit, unknown length", body: strings.NewReader(body), length: -1, limit: 4, wantErr: "http: request body too large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/tasks", nil)
			r.ContentLength = tc.length
			r.Body = io.NopCloser(tc.body)
			if tc.length > 0 {
				// What net/http's server does with a Content-Length:
				// the body ends there, early if the client stops.
				r.Body = io.NopCloser(&shortReader{r: io.LimitReader(tc.body, tc.length), n: tc.length})
			}
			r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, tc.limit)
			got, _, err := readBody(r)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("readBody = %q, %v; want error %q", got, err, tc.wantErr)
				}
				var tooLarge *http.MaxBytesError
				if strings.Contains(tc.wantErr, "too large") && !errors.As(err, &tooLarge) {
					t.Errorf("error %v is not a *http.MaxBytesError", err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("readBody = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// shortReader reports io.ErrUnexpectedEOF when r ends before n bytes, as
// net/http's body of a request with a Content-Length does.
type shortReader struct {
	r    io.Reader
	n    int64
	read int64
}

func (s *shortReader) Read(p []byte) (int, error) {
	k, err := s.r.Read(p)
	s.read += int64(k)
	if err == io.EOF && s.read < s.n {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

// TestReadBody_AnnouncedIsNotAllocatedAhead: a client that announces a
// body of a megabyte and sends a few bytes does not make the manager
// allocate the megabyte.
func TestReadBody_AnnouncedIsNotAllocatedAhead(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/tasks", nil)
	r.ContentLength = MaxBodyBytes
	r.Body = io.NopCloser(&shortReader{r: strings.NewReader(`{"kind":`), n: MaxBodyBytes})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err := readBody(r)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("no error for a body shorter than announced")
	}
	if got := after.TotalAlloc - before.TotalAlloc; got >= MaxBodyBytes/4 {
		t.Errorf("reading a body announced at %d bytes allocated %d", MaxBodyBytes, got)
	}
}
