package workerd

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/julienschmidt/httprouter"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/metrics"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/workerd/runtime"
)

// maxTaskBody bounds an assigned Task's JSON; a larger one is answered
// 413.
const maxTaskBody = 1 << 20

// handler returns the worker API (docs/api.md, "Worker API"), every
// request counted and timed by route (metrics.HTTP).
func (w *Worker) handler() http.Handler {
	r := httprouter.New()
	r.NotFound = http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		writeStatus(rw, http.StatusNotFound, v1.StatusReasonNotFound, "no such route")
	})
	r.PanicHandler = func(rw http.ResponseWriter, req *http.Request, v any) {
		w.internalError(rw, req, fmt.Errorf("panic in handler: %v", v))
	}
	handle := func(method, path string, h httprouter.Handle) { r.Handle(method, path, metrics.Route(path, h)) }
	handle(http.MethodGet, "/healthz", func(rw http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(rw, "ok\n")
	})
	handle(http.MethodPost, "/api/v1/tasks", w.auth(w.assignTask))
	handle(http.MethodGet, "/api/v1/tasks", w.auth(w.listTasks))
	handle(http.MethodDelete, "/api/v1/tasks/:uid", w.auth(w.stopTask))
	handle(http.MethodGet, "/api/v1/tasks/:uid/logs", w.auth(w.taskLogs))
	handle(http.MethodPost, "/api/v1/tasks/:uid/exec", w.auth(w.execTask))
	handle(http.MethodGet, "/api/v1/stats", w.auth(w.stats))
	handle(http.MethodGet, "/api/v1/stats/tasks", w.auth(w.taskStats))
	prom := metrics.Handler(w.registry, w.log)
	handle(http.MethodGet, "/metrics", w.authMetrics(func(rw http.ResponseWriter, r *http.Request, _ httprouter.Params) {
		prom.ServeHTTP(rw, r)
	}))
	if w.opts.Pprof {
		pprof := metrics.Pprof()
		handle(http.MethodGet, metrics.PprofPath+"*item", w.auth(func(rw http.ResponseWriter, r *http.Request, _ httprouter.Params) {
			pprof.ServeHTTP(rw, r)
		}))
	}
	return w.metrics.http.Handler(r)
}

// auth admits only the manager, with the token it was given at
// registration, before anything of the body is read; before registration
// the worker is not ready. A refused request's connection is closed, and
// a client that keeps failing is answered 429 (serve.Throttle).
func (w *Worker) auth(h httprouter.Handle) httprouter.Handle {
	return w.authWith("", h)
}

// authMetrics admits the manager and the holder of Options.MetricsToken.
func (w *Worker) authMetrics(h httprouter.Handle) httprouter.Handle {
	return w.authWith(w.opts.MetricsToken, h)
}

// authWith admits the manager's token, and also extra when it is set.
func (w *Worker) authWith(extra string, h httprouter.Handle) httprouter.Handle {
	return func(rw http.ResponseWriter, r *http.Request, p httprouter.Params) {
		w.mu.Lock()
		want := w.managerToken
		w.mu.Unlock()
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if ok && extra != "" && subtle.ConstantTimeCompare([]byte(got), []byte(extra)) == 1 {
			h(rw, r, p)
			return
		}
		if want == "" {
			writeStatus(rw, http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "worker is not registered with a manager yet")
			return
		}
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			rw.Header().Set("Connection", "close")
			if wait := w.throttle.Failed(r); wait > 0 {
				rw.Header().Set("Retry-After", serve.RetryAfter(wait))
				writeStatus(rw, http.StatusTooManyRequests, v1.StatusReasonTooManyRequests, "too many requests with a wrong token from this address")
				return
			}
			writeStatus(rw, http.StatusUnauthorized, v1.StatusReasonUnauthorized, "invalid bearer token")
			return
		}
		h(rw, r, p)
	}
}

// internalError answers 500 with an id under which err is logged, never
// with err's text.
func (w *Worker) internalError(rw http.ResponseWriter, r *http.Request, err error) {
	id := serve.ErrorID()
	w.log.Error("worker API request failed", "method", r.Method, "path", r.URL.Path, "err", err, "id", id)
	writeStatus(rw, http.StatusInternalServerError, v1.StatusReasonInternalError, "internal error: the worker logged it with id "+id)
}

// assignTask takes a task pushed by the manager: 201 when new, 200 when
// already held (a newer generation replaces the spec), 507 when the task
// asks for more disk than is free. With ?answer=status, the 201 of a new
// task carries its first status (answerFirstStatus). A push of a new task that may be one
// the manager has given up on (managerContact.trusts) is not taken from
// the push: the worker answers 202 and takes the task from the manager's
// list of its tasks only if it is still there, so a push delayed past the
// manager's wait never starts a second copy.
func (w *Worker) assignTask(rw http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	var t v1.Task
	// Read whole, then decoded at once: the stream decoder reads a body
	// in small pieces and scans again after each.
	body, buf, err := serve.ReadBody(http.MaxBytesReader(rw, r.Body, maxTaskBody), r.ContentLength)
	if err == nil {
		err = json.Unmarshal(body, &t) // copies what it keeps
		buf.Release()
	}
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeStatus(rw, http.StatusRequestEntityTooLarge, v1.StatusReasonRequestEntityTooLarge,
				fmt.Sprintf("the Task is larger than %d bytes", tooLarge.Limit))
			return
		}
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, "malformed Task: "+err.Error())
		return
	}
	if t.Metadata.UID == "" || t.Metadata.Name == "" || t.Spec.Image == "" {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, "a Task needs metadata.name, metadata.uid and spec.image")
		return
	}
	if !w.tasks.has(t.Metadata.UID) {
		if refusal := w.admit(&t); refusal != nil {
			writeJSON(rw, refusal.Code, refusal)
			return
		}
		if !w.contact.trusts(t.Metadata.ResourceVersion, w.now()) {
			w.log.Info("a push that may be late; taking the task only if the manager still lists it here",
				"task", t.Metadata.Name, "uid", t.Metadata.UID, "resourceVersion", t.Metadata.ResourceVersion)
			w.askResync()
			writeJSON(rw, http.StatusAccepted, v1.Status{
				TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus},
				Status:   "Success", Code: http.StatusAccepted,
				Message: fmt.Sprintf("task %q is taken from the manager's list of worker %s's tasks if it is still there", t.Metadata.Name, w.opts.Name),
			})
			return
		}
	}
	t.Status = v1.TaskStatus{RestartCount: t.Status.RestartCount, Phase: t.Status.Phase}
	if !t.Status.Phase.Terminal() {
		t.Status.Phase = ""
	}
	answer := r.URL.Query().Get("answer") == "status"
	created := w.tasks.put(&t, w.now(), answer)
	w.queue.Enqueue(t.Metadata.UID)
	if !created {
		w.wakeReporterSoon()
		writeJSON(rw, http.StatusOK, struct{}{})
		return
	}
	w.log.Info("task assigned", "task", t.Metadata.Name, "uid", t.Metadata.UID, "image", t.Spec.Image)
	if answer {
		w.answerFirstStatus(rw, r, t.Metadata.UID)
		return
	}
	// The manager knows the worker took the task (this answer says so);
	// the report of its first step follows soon, or of Running if sooner.
	w.wakeReporterSoon()
	writeJSON(rw, http.StatusCreated, struct{}{})
}

// answerFirstStatus answers the push of a new task with its first status
// (asked for with ?answer=status), as its first report would carry it:
// once the task is past the steps on its way to Running (Running, or what
// stopped it), or after PendingReportDelay on one of them, whichever is
// first. The answer saves the manager and the worker a request per task.
// Until then the reports of changes leave the task to this answer, so
// that the two never carry its statuses out of order; a push whose caller
// went away gives its status back to the reports. The worker cannot know
// that the manager recorded an answer it sent, so its next heartbeat
// carries the status again (taskMap.confirm).
func (w *Worker) answerFirstStatus(rw http.ResponseWriter, r *http.Request, uid string) {
	if settled := w.tasks.settledChan(uid); settled != nil {
		timer := time.NewTimer(w.opts.PendingReportDelay)
		select {
		case <-settled:
		case <-timer.C:
		case <-r.Context().Done():
		}
		timer.Stop()
	}
	tr, ok := w.tasks.answer(uid)
	if ok && r.Context().Err() != nil {
		w.tasks.markDirty([]v1.TaskReport{tr})
		ok = false
	}
	if !ok {
		// A report carries it (a full one may have taken it already).
		w.wakeReporter()
		writeJSON(rw, http.StatusCreated, struct{}{})
		return
	}
	writeJSON(rw, http.StatusCreated, &tr)
}

// admit returns why the worker cannot take a task it does not hold yet, or
// nil when it can: the container runtime does not answer (503), the task
// asks for more disk than is free (507), or the free disk cannot be read
// (503). A push and the comparison with the manager's list both ask it.
func (w *Worker) admit(t *v1.Task) *v1.Status {
	if down, _ := w.containers.runtimeDown(); down != "" {
		return failureStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable,
			fmt.Sprintf("worker %s cannot reach its container runtime: %s", w.opts.Name, down))
	}
	need := t.Spec.Resources.DiskBytes()
	if need <= 0 {
		return nil
	}
	st, err := w.opts.Stats.Sample()
	if err != nil {
		return failureStatus(http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "cannot read free disk: "+err.Error())
	}
	if need > st.DiskFree {
		return failureStatus(http.StatusInsufficientStorage, v1.StatusReasonInsufficientStorage,
			fmt.Sprintf("task %q needs %s of disk; worker %s has %s free", t.Metadata.Name,
				t.Spec.Resources.Disk, w.opts.Name, v1.FormatQuantity(st.DiskFree)))
	}
	return nil
}

func (w *Worker) listTasks(rw http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeJSON(rw, http.StatusOK, v1.TaskList{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskList},
		Items:    w.tasks.list(),
	})
}

// stopTask stops the container gracefully and forgets the task, answering
// once both are done.
func (w *Worker) stopTask(rw http.ResponseWriter, r *http.Request, p httprouter.Params) {
	uid := p.ByName("uid")
	gone, ok := w.tasks.stop(uid)
	w.queue.Enqueue(uid) // also removes containers of a uid no longer held
	if !ok {
		w.writeNotHeld(rw, uid)
		return
	}
	select {
	case <-gone:
		writeJSON(rw, http.StatusOK, struct{}{})
	case <-r.Context().Done():
		writeStatus(rw, http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "stopping task "+uid+": "+r.Context().Err().Error())
	}
}

// writeNotHeld answers that the task uid is not one this worker holds.
func (w *Worker) writeNotHeld(rw http.ResponseWriter, uid string) {
	writeStatus(rw, http.StatusNotFound, v1.StatusReasonNotFound, fmt.Sprintf("task %s is not held by worker %s", uid, w.opts.Name))
}

func (w *Worker) taskLogs(rw http.ResponseWriter, r *http.Request, p httprouter.Params) {
	uid := p.ByName("uid")
	_, st, ok := w.tasks.get(uid)
	if !ok {
		w.writeNotHeld(rw, uid)
		return
	}
	if st.ContainerID == "" {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, "the task has no container yet: "+st.Reason)
		return
	}
	// --previous ends where the container's current run began. Ask the
	// engine: the status may still speak of a run that has just ended
	// (the restart is counted before the next look at the container).
	if c, err := w.rt.Inspect(r.Context(), st.ContainerID); err == nil && !c.State.StartedAt.IsZero() {
		started := c.State.StartedAt
		st.StartedAt = &started
	}
	opts, err := logOptions(r.URL.Query(), st, w.now())
	if err != nil {
		writeStatus(rw, http.StatusBadRequest, v1.StatusReasonBadRequest, err.Error())
		return
	}
	rc, err := w.rt.Logs(r.Context(), st.ContainerID, opts)
	if errors.Is(err, runtime.ErrNotFound) {
		writeStatus(rw, http.StatusNotFound, v1.StatusReasonNotFound, err.Error())
		return
	}
	if err != nil {
		w.internalError(rw, r, fmt.Errorf("logs of container %s: %w", st.ContainerID, err))
		return
	}
	defer rc.Close()
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(http.StatusOK)
	ctl := http.NewResponseController(rw)
	_ = ctl.Flush() // the headers, at once: a quiet container may say nothing for long
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		if n > 0 {
			if _, werr := rw.Write(buf[:n]); werr != nil {
				return
			}
			_ = ctl.Flush()
		}
		if err != nil {
			return
		}
	}
}

func (w *Worker) stats(rw http.ResponseWriter, r *http.Request, _ httprouter.Params) {
	st, err := w.opts.Stats.Sample()
	if err != nil {
		w.internalError(rw, r, fmt.Errorf("sampling stats: %w", err))
		return
	}
	st.Tasks = w.tasks.len()
	writeJSON(rw, http.StatusOK, st)
}

// taskStats serves the last readings of the running tasks' containers
// (the manager's GET /api/v1/usage/tasks gathers them for mkctl top).
func (w *Worker) taskStats(rw http.ResponseWriter, _ *http.Request, _ httprouter.Params) {
	writeJSON(rw, http.StatusOK, v1.TaskUsageList{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindTaskUsageList},
		Items:    w.usage.list(w.opts.Name),
	})
}

func writeJSON(rw http.ResponseWriter, code int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(code)
	_ = json.NewEncoder(rw).Encode(v) // the manager went away; nothing to tell it
}

func writeStatus(rw http.ResponseWriter, code int, reason v1.StatusReason, msg string) {
	writeJSON(rw, code, failureStatus(code, reason, msg))
}

// failureStatus is the API error of a refusal, in the Kubernetes shape.
func failureStatus(code int, reason v1.StatusReason, msg string) *v1.Status {
	return &v1.Status{
		TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindStatus},
		Status:   "Failure", Reason: reason, Code: code, Message: msg,
	}
}
