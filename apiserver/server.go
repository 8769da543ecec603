package apiserver

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/julienschmidt/httprouter"
	"github.com/prometheus/client_golang/prometheus"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/store"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 1 << 20

// ApplyResultHeader names the header that says what an apply did.
const ApplyResultHeader = "Minkube-Apply-Result"

// DefaultHeartbeatInterval is the heartbeat interval told to workers when
// Options.HeartbeatInterval is not set: a third of the default worker
// timeout (15s).
const DefaultHeartbeatInterval = 5 * time.Second

// VersionInfo is served at /version.
type VersionInfo = v1.VersionInfo

// WorkerLogs opens a task container's logs on the worker that runs it.
// It is defined here, by its user, and implemented over the worker API.
type WorkerLogs interface {
	TaskLogs(ctx context.Context, worker *v1.Worker, cred *v1.Credential, uid string, opts v1.LogOptions) (io.ReadCloser, error)
}

// Signer issues a worker's certificate at registration, from the
// worker's certificate request, for its name and the host the manager
// reaches it at (*pki.CA). It is defined here, by its user.
type Signer interface {
	IssueWorker(name, host string, csrPEM []byte, now time.Time) ([]byte, error)
}

// Options configures a Server.
type Options struct {
	// State holds the typed resources and caches; its caches must be
	// started by the caller.
	State *store.State
	// AdminToken authenticates mkctl and other admins; SetTokens
	// replaces it.
	AdminToken string
	// JoinToken authenticates workers that register for the first time;
	// SetTokens replaces it.
	JoinToken string
	// Signer issues the certificates of the workers that register.
	Signer Signer
	// ClusterID is the cluster's id (store.EnsureClusterID), given to
	// workers at registration and in every heartbeat reply. A worker
	// refuses a manager that gives none.
	ClusterID string
	// Logs proxies container logs from workers.
	Logs WorkerLogs
	// Exec opens exec sessions on workers (exec.go).
	Exec WorkerExec
	// Stats asks workers for their usage and metrics (mkctl top, GET
	// /api/v1/workers/:name/metrics); nil answers that workers cannot be
	// reached.
	Stats WorkerStats
	// Reach calls a worker back before the manager calls it Ready (the
	// Reachable condition, reach.go); nil checks nothing, and a worker is
	// Ready on its own word.
	Reach   WorkerReach
	Version VersionInfo
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Ready reports whether this manager can serve writes (/readyz); when
	// nil the server is ready once the caches have synced.
	Ready func() bool
	// Endpoints serves GET /api/v1/endpoints; nil lists no services.
	Endpoints EndpointsFunc
	// Managers lists the managers that are up, for GET /api/v1/managers
	// and the failover list of worker replies. When nil, this manager is
	// the only one: a SoleManager with no address.
	Managers Managers
	// Members, when set, adds the etcd members of managers that join
	// (POST /api/v1/managers).
	Members Members
	// Health, when set, reports whether the store can serve requests; while
	// it returns an error every API request answers 503 with it, and
	// /readyz fails.
	Health func() error
	// HeartbeatInterval is the period of full status reports the
	// registration and heartbeat replies tell workers to keep; the manager
	// sets it from --worker-timeout. Default 5s.
	HeartbeatInterval time.Duration
	// HeartbeatWindow is how long a periodic heartbeat that changes only
	// its worker's time and load waits for others to write with (see
	// writeGroup); 0 means the default, 50ms, and a negative window none.
	HeartbeatWindow time.Duration
	// Metrics is the registry that the API's and the cluster's families
	// are added to and that GET /metrics serves; a fresh
	// metrics.NewRegistry() when nil.
	Metrics *prometheus.Registry
	// MetricsToken, when set, authenticates GET /metrics and nothing
	// else: a read-only token for Prometheus.
	MetricsToken string
	// Pprof serves net/http/pprof under /debug/pprof/ to the admin.
	Pprof bool
}

// Server is the manager's HTTP API.
type Server struct {
	st       *store.State
	tokens   atomic.Pointer[tokens]
	throttle *serve.Throttle
	signer   Signer
	cluster  string
	logs     WorkerLogs
	exec     WorkerExec
	stats    WorkerStats
	reach    WorkerReach
	version  VersionInfo
	log      *slog.Logger
	now      func() time.Time
	ready    func() bool
	managers Managers
	members  Members
	health   func() error
	router   *httprouter.Router
	events   *store.Recorder
	ledger   *ledger // what each worker's tasks add up to
	// endpoints lists the services; nil when there are none to list.
	endpoints EndpointsFunc
	// heartbeat is the interval told to workers.
	heartbeat time.Duration
	// beats lines up the periodic heartbeats' writes (beats.go).
	beats writeGroup
	// reports bounds the status reports judged at once (beats.go).
	reports reportGate

	ending    chan struct{} // closed by EndSessions (exec.go)
	endingNow sync.Once

	registry     *prometheus.Registry
	sessions     *sessions
	metrics      *apiMetrics
	metricsToken string
	pprof        bool
}

// New returns a Server; serve its Handler.
func New(opts Options) (*Server, error) {
	if opts.State == nil {
		return nil, errors.New("apiserver: Options.State is required")
	}
	if opts.AdminToken == "" || opts.JoinToken == "" {
		return nil, errors.New("apiserver: admin and join tokens are required")
	}
	if opts.Signer == nil {
		return nil, errors.New("apiserver: Options.Signer is required: workers get their certificates at registration")
	}
	s := &Server{
		st:        opts.State,
		throttle:  serve.NewThrottle(),
		signer:    opts.Signer,
		cluster:   opts.ClusterID,
		logs:      opts.Logs,
		exec:      opts.Exec,
		stats:     opts.Stats,
		reach:     opts.Reach,
		version:   opts.Version,
		log:       opts.Logger,
		now:       opts.Now,
		ready:     opts.Ready,
		managers:  opts.Managers,
		members:   opts.Members,
		health:    opts.Health,
		endpoints: opts.Endpoints,
		heartbeat: opts.HeartbeatInterval,
		beats:     writeGroup{window: cmp.Or(opts.HeartbeatWindow, beatWindow)},
		reports:   newReportGate(reportBytesAtOnce),
		ending:    make(chan struct{}),

		registry:     opts.Metrics,
		metricsToken: opts.MetricsToken,
		pprof:        opts.Pprof,
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.ready == nil {
		s.ready = opts.State.HasSynced
	}
	if s.managers == nil {
		s.managers = &SoleManager{Name: "manager", Ready: s.ready}
	}
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultHeartbeatInterval
	}
	if s.registry == nil {
		s.registry = metrics.NewRegistry()
	}
	s.metrics = newAPIMetrics(s.registry, s.st)
	s.sessions = newSessions(s.now)
	s.SetTokens(opts.AdminToken, opts.JoinToken)
	s.events = opts.State.Recorder("manager", s.log)
	s.ledger = newLedger()
	s.ledger.follow(opts.State.TaskCache)
	s.routes()
	return s, nil
}

// Handler returns the HTTP handler of the API, every request counted
// and timed by route (metrics.HTTP).
func (s *Server) Handler() http.Handler { return s.metrics.http.Handler(s.router) }

// handlerFunc is a route handler whose error goes through writeError.
type handlerFunc func(w http.ResponseWriter, r *http.Request, p httprouter.Params) error

func (s *Server) routes() {
	r := httprouter.New()
	r.NotFound = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, newStatus(http.StatusNotFound, v1.StatusReasonNotFound, "no route for %s %s", req.Method, req.URL.Path))
	})
	r.MethodNotAllowed = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.writeError(w, req, newStatus(http.StatusMethodNotAllowed, v1.StatusReasonBadRequest, "method %s not allowed on %s", req.Method, req.URL.Path))
	})
	r.PanicHandler = func(w http.ResponseWriter, req *http.Request, v any) {
		s.writeError(w, req, fmt.Errorf("panic in handler: %v", v))
	}

	r.GET("/healthz", metrics.Route("/healthz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		writeText(w, http.StatusOK, "ok\n")
	}))
	r.GET("/readyz", metrics.Route("/readyz", func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		if !s.ready() {
			writeText(w, http.StatusServiceUnavailable, "not ready\n")
			return
		}
		if err := s.storeHealth(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+toStatus(err).Message+"\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	}))
	// /metrics and pprof answer while the state loads or the store is
	// down: that is when they are needed most.
	promHandler := metrics.Handler(s.registry, s.log)
	s.handleAlways(r, http.MethodGet, "/metrics", roleMetrics, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) error {
		promHandler.ServeHTTP(w, req)
		return nil
	})
	if s.pprof {
		pprofHandler := metrics.Pprof()
		s.handleAlways(r, http.MethodGet, metrics.PprofPath+"*item", roleAdmin, func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) error {
			pprofHandler.ServeHTTP(w, req)
			return nil
		})
	}
	ui := uiHandler()
	r.Handle(http.MethodGet, "/ui/*filepath", metrics.Route("/ui/*filepath", func(w http.ResponseWriter, req *http.Request, _ httprouter.Params) {
		ui.ServeHTTP(w, req)
	}))
	s.handle(r, http.MethodPost, "/api/v1/dashboard/codes", roleAdmin, s.createSignInCode)
	r.POST("/api/v1/dashboard/sessions", metrics.Route("/api/v1/dashboard/sessions", func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		req.Body = http.MaxBytesReader(w, req.Body, MaxBodyBytes)
		if err := s.createSession(w, req, p); err != nil {
			s.writeError(w, req, err)
		}
	}))
	s.handle(r, http.MethodGet, "/version", roleRead, func(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
		writeJSON(w, http.StatusOK, s.version)
		return nil
	})

	s.handle(r, http.MethodGet, "/api/v1/tasks", roleRead, s.listTasks)
	s.handle(r, http.MethodPost, "/api/v1/tasks", roleAdmin, s.createTask)
	s.handle(r, http.MethodPost, "/api/v1/apply", roleAdmin, s.applyTasks)
	s.handle(r, http.MethodGet, "/api/v1/tasks/:name", roleRead, s.getTask)
	s.handle(r, http.MethodPut, "/api/v1/tasks/:name", roleAdmin, s.applyTask)
	s.handle(r, http.MethodDelete, "/api/v1/tasks/:name", roleAdmin, s.deleteTask)
	s.handle(r, http.MethodGet, "/api/v1/tasks/:name/logs", roleRead, s.taskLogs)
	s.handle(r, http.MethodPost, "/api/v1/tasks/:name/exec", roleAdmin, s.execTask)

	s.handle(r, http.MethodGet, "/api/v1/events", roleRead, s.listEvents)
	s.handle(r, http.MethodGet, "/api/v1/endpoints", roleRead, s.listEndpoints)

	s.handle(r, http.MethodPost, "/api/v1/workers", roleJoin, s.registerWorker)
	s.handle(r, http.MethodGet, "/api/v1/workers", roleRead, s.listWorkers)
	s.handle(r, http.MethodGet, "/api/v1/workers/:name", roleWorker|roleRead, s.getWorker)
	s.handle(r, http.MethodPatch, "/api/v1/workers/:name", roleAdmin, s.patchWorker)
	s.handle(r, http.MethodDelete, "/api/v1/workers/:name", roleAdmin, s.deleteWorker)
	s.handle(r, http.MethodPut, "/api/v1/workers/:name/status", roleWorker, s.reportStatus)
	s.handle(r, http.MethodGet, "/api/v1/workers/:name/tasks", roleWorker, s.workerTasks)
	s.handle(r, http.MethodPost, "/api/v1/workers/:name/cordon", roleAdmin, s.cordonWorker)
	s.handle(r, http.MethodPost, "/api/v1/workers/:name/uncordon", roleAdmin, s.uncordonWorker)
	s.handle(r, http.MethodPost, "/api/v1/workers/:name/drain", roleAdmin, s.drainWorker)

	s.handle(r, http.MethodGet, "/api/v1/workers/:name/metrics", roleMetrics, s.workerMetrics)
	s.handle(r, http.MethodGet, "/api/v1/usage/tasks", roleRead, s.taskUsage)
	s.handle(r, http.MethodGet, "/api/v1/usage/workers", roleRead, s.workerUsage)

	s.handle(r, http.MethodGet, "/api/v1/managers", roleRead, s.listManagers)
	s.handle(r, http.MethodPost, "/api/v1/managers", roleAdmin, s.joinManager)
	s.router = r
}

// handle registers a route behind authentication for the given roles,
// named for the request metrics. The admin token is accepted everywhere.
// The caller is authenticated before anything of the body is read; what
// it may do with the object it names is the handler's to check
// (callerOf). Until the caches hold the store, and while the store is
// unhealthy, the route answers 503.
func (s *Server) handle(r *httprouter.Router, method, path string, who role, h handlerFunc) {
	s.route(r, method, path, who, true, h)
}

// handleAlways is handle for a route that depends on neither the caches
// nor the store: it is served whenever the caller authenticates.
func (s *Server) handleAlways(r *httprouter.Router, method, path string, who role, h handlerFunc) {
	s.route(r, method, path, who, false, h)
}

// route is handle, and handleAlways when needsState is false.
func (s *Server) route(r *httprouter.Router, method, path string, who role, needsState bool, h handlerFunc) {
	r.Handle(method, path, metrics.Route(path, func(w http.ResponseWriter, req *http.Request, p httprouter.Params) {
		if needsState && !s.st.HasSynced() {
			// Reads and worker tokens come from the caches: until they
			// hold the store, an answer would be wrong, not just late.
			s.writeError(w, req, newStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable,
				"the manager is starting: its state is still loading; retry"))
			return
		}
		c, err := s.authenticate(req, who, p.ByName("name"))
		if err != nil {
			// The connection is not kept: a body the client sends on
			// is not read, however slowly it comes.
			w.Header().Set("Connection", "close")
			s.writeError(w, req, err)
			return
		}
		if needsState {
			if err := s.storeHealth(); err != nil {
				s.writeError(w, req, err)
				return
			}
		}
		req = req.WithContext(context.WithValue(req.Context(), callerKey{}, c))
		req.Body = http.MaxBytesReader(w, req.Body, MaxBodyBytes)
		if err := h(w, req, p); err != nil {
			s.writeError(w, req, err)
		}
	}))
}

// readBody reads the whole request body (serve.ReadBody); the caller
// releases buf once it has decoded the body. A body over the server's
// limit returns the *http.MaxBytesError, which the handler answers with
// 413; another failed read is a BadRequest.
func readBody(r *http.Request) (data []byte, buf *serve.BodyBuffer, err error) {
	data, buf, err = serve.ReadBody(r.Body, r.ContentLength)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, nil, err
		}
		return nil, nil, errBadRequest("reading the request body: %v", err)
	}
	return data, buf, nil
}

// decodeJSON reads a JSON body into v, strictly: a field v has no room
// for is an error.
func decodeJSON(r *http.Request, v any) error {
	// Read whole first: decoding from the connection read the body a
	// small piece at a time. Then Unmarshal, in one pass: goccy's stream
	// decoder refills from the bytes 512 at a time and decodes the value
	// again after each (nearly half of the manager's work on a status
	// report).
	data, buf, err := readBody(r)
	if err != nil {
		return err
	}
	defer buf.Release() // the decoders copy what they keep
	if json.UnmarshalWithOption(data, v, refuseUnknownFields) == nil {
		return nil
	}
	// A body Unmarshal refuses is decoded again as it always was, for the
	// same error, or the same result where Unmarshal is the stricter
	// (what follows a value that a stream decoder never reads).
	reflect.ValueOf(v).Elem().SetZero()
	return decodeStream(data, v)
}

// decodeStream is how decodeJSON decoded every body before it tried
// Unmarshal first, and how it decodes the bodies Unmarshal refuses.
func decodeStream(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errBadRequest("malformed JSON body: %v", err)
	}
	if dec.More() {
		return errBadRequest("malformed JSON body: more than one JSON value")
	}
	return nil
}

// refuseUnknownFields is, for Unmarshal, the option that
// Decoder.DisallowUnknownFields sets: goccy exports no option function
// for it, so it is read back from a Decoder that has it set.
var refuseUnknownFields = func() json.DecodeOptionFunc {
	dec := json.NewDecoder(strings.NewReader("{}"))
	dec.DisallowUnknownFields()
	var set json.DecodeOption
	_ = dec.DecodeWithOption(&struct{}{}, func(o *json.DecodeOption) { set = *o })
	return func(o *json.DecodeOption) { o.Flags |= set.Flags }
}()

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v) // the client went away; nothing to tell it
}

func writeText(w http.ResponseWriter, code int, text string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, text)
}
