package metrics

import (
	"net/http"
	"net/http/pprof"
	"strings"
)

// PprofPath is where Pprof is mounted: register it for PprofPath+"*item".
const PprofPath = "/debug/pprof/"

// Pprof serves net/http/pprof under PprofPath: the index, the named
// profiles (heap, goroutine, allocs...), cmdline, profile (CPU), symbol
// and trace. It is mounted only with --pprof, behind the API's admin
// authentication.
func Pprof() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch strings.TrimPrefix(r.URL.Path, PprofPath) {
		case "cmdline":
			pprof.Cmdline(w, r)
		case "profile":
			pprof.Profile(w, r)
		case "symbol":
			pprof.Symbol(w, r)
		case "trace":
			pprof.Trace(w, r)
		default:
			pprof.Index(w, r)
		}
	})
}
