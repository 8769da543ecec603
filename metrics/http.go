package metrics

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"
)

// UnmatchedRoute is the route label of a request that matched no route.
const UnmatchedRoute = "other"

// HTTP counts and times the requests of one HTTP API by route pattern,
// method and code: minkube_<subsystem>_requests_total and
// minkube_<subsystem>_request_duration_seconds. Long-running requests (a
// watch, a followed log) are counted but not timed, as Kubernetes does:
// their duration is the client's choice. Wrap the router with Handler and
// name each route with Route.
type HTTP struct {
	requests *memo[httpCode, prometheus.Counter]
	duration *memo[httpRoute, prometheus.Observer]
	inFlight prometheus.Gauge
}

// httpRoute and httpCode are the label values of a request's metrics.
type httpRoute struct{ pattern, method string }

type httpCode struct {
	httpRoute
	code int
}

// NewHTTP registers the families of one API, such as subsystem
// "apiserver", on reg.
func NewHTTP(reg prometheus.Registerer, subsystem string) *HTTP {
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: "requests_total",
		Help: "HTTP requests answered, by route pattern, method and status code.",
	}, []string{"route", "method", "code"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Subsystem: subsystem, Name: "request_duration_seconds",
		Help:    "Time to answer an HTTP request, by route pattern and method; watches and followed logs are not timed.",
		Buckets: DurationBuckets,
	}, []string{"route", "method"})
	m := &HTTP{
		requests: newMemo(func(k httpCode) prometheus.Counter {
			return requests.WithLabelValues(k.pattern, k.method, strconv.Itoa(k.code))
		}),
		duration: newMemo(func(k httpRoute) prometheus.Observer {
			return duration.WithLabelValues(k.pattern, k.method)
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: Namespace, Subsystem: subsystem, Name: "requests_in_flight",
			Help: "HTTP requests being answered, long-running ones included.",
		}),
	}
	reg.MustRegister(requests, duration, m.inFlight)
	return m
}

// Handler returns next instrumented: every request is counted under the
// route pattern that Route named, or UnmatchedRoute.
func (m *HTTP) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		began := time.Now()
		rec := &statusRecorder{ResponseWriter: w, route: UnmatchedRoute}
		m.inFlight.Inc()
		defer func() {
			m.inFlight.Dec()
			route := httpRoute{rec.route, boundedMethod(r.Method)}
			m.requests.get(httpCode{route, rec.code()}).Inc()
			if !LongRunning(r) {
				m.duration.get(route).Observe(time.Since(began).Seconds())
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// Route returns h, naming its route pattern for the request's metrics.
// Register every route through it (a route registered without it counts
// as UnmatchedRoute). The name goes to Handler's recorder, found in the
// response writer Route is handed (through the Unwrap of writers that
// wrap it), rather than in the request's context: a request copied for a
// context value cost every request an allocation.
func Route(pattern string, h httprouter.Handle) httprouter.Handle {
	return func(w http.ResponseWriter, r *http.Request, p httprouter.Params) {
		if rec := recorderOf(w); rec != nil {
			rec.route = pattern
		}
		h(w, r, p)
	}
}

// recorderOf returns Handler's recorder behind w, or nil.
func recorderOf(w http.ResponseWriter) *statusRecorder {
	for {
		switch x := w.(type) {
		case *statusRecorder:
			return x
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return nil
		}
	}
}

// LongRunning reports whether a request streams until the client leaves:
// a watch, a followed log, or a connection upgraded to another protocol
// (an exec session).
func LongRunning(r *http.Request) bool {
	q := r.URL.Query()
	return q.Get("watch") == "true" || q.Get("watch") == "1" || q.Get("follow") == "true" || q.Get("follow") == "1" ||
		r.Header.Get("Upgrade") != "" && strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade")
}

// boundedMethod keeps the method label to the methods the APIs serve.
func boundedMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// statusRecorder remembers the status code a handler wrote. It passes
// Flush and the rest through Unwrap, for http.ResponseController.
type statusRecorder struct {
	http.ResponseWriter
	status int
	route  string // the route pattern Route named
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets handlers that assert http.Flusher stream through the
// recorder.
func (s *statusRecorder) Flush() {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack hands the connection over (an upgrade to another protocol),
// which counts as 101 Switching Protocols.
func (s *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot hand over its connection")
	}
	conn, rw, err := h.Hijack()
	if err == nil && s.status == 0 {
		s.status = http.StatusSwitchingProtocols
	}
	return conn, rw, err
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) code() int {
	if s.status == 0 {
		return http.StatusOK
	}
	return s.status
}
