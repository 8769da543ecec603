package apiserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
	"k8s.io/apimachinery/pkg/labels"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/serve"
	"github.com/minkube/minkube/store"
)

// reportWriters bounds the task status writes one heartbeat makes at once.
const reportWriters = 16

// Reasons of the events about workers the API records.
const (
	// ReasonRegistrationRefused is recorded about a worker when a
	// registration under its name is refused.
	ReasonRegistrationRefused = "RegistrationRefused"
	// ReasonDeleted is recorded about a worker that was deleted.
	ReasonDeleted = "Deleted"
)

// registration is what a registration under a name leads to.
type registration int

const (
	// registerNew gives a name no worker holds (or a deleted worker held)
	// to the caller: a new credential.
	registerNew registration = iota + 1
	// registerAgain is the worker itself (or an admin): the worker keeps
	// its uid and gets fresh credentials.
	registerAgain
	// refuseTaken: another worker holds the name, and the caller cannot
	// prove it is that worker.
	refuseTaken
	// refuseOther: the caller is a worker registering under another
	// worker's name.
	refuseOther
)

// judgeRegistration decides whether c may register under name, given
// the name's stored credential (nil when there is none). It is the one
// place that says who may take a worker's name: a name that is free or
// was deleted goes to whoever holds the join token, and a name in use
// only to the worker that holds its token (Nomad refuses a node whose
// secret does not match, for the same reason), or to an admin.
//
// A credential of an older release, whose worker kept no token, goes to
// the join token once more.
func judgeRegistration(c caller, name string, cred *v1.Credential) registration {
	free := cred == nil || cred.Revoked()
	switch {
	case c.kind == kindAdmin && free, c.kind == kindJoin && free:
		return registerNew
	case c.kind == kindAdmin, c.kind == kindJoin && !cred.TokenKept:
		return registerAgain
	case c.kind == kindWorker && c.worker == name && !free:
		return registerAgain
	case c.kind == kindWorker:
		return refuseOther
	}
	return refuseTaken
}

func (s *Server) registerWorker(w http.ResponseWriter, r *http.Request, _ httprouter.Params) error {
	var req v1.RegisterRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var causes v1.FieldErrors
	if err := v1.ValidateWorkerName(req.Name); err != nil {
		causes = append(causes, v1.FieldError{Field: "name", Message: err.Error()})
	}
	host, port, err := net.SplitHostPort(req.Address)
	if err != nil || port == "" || port == "0" {
		causes = append(causes, v1.FieldError{Field: "address", Message: "must be HOST:PORT where the manager reaches the worker's API"})
	}
	causes = append(causes, v1.ValidateLabels(req.Labels, "labels")...)
	causes = append(causes, validateWorkerConditions(req.Conditions, "conditions")...)
	if req.CertificateRequest == "" {
		causes = append(causes, v1.FieldError{Field: "certificateRequest", Message: "required: the worker's API is served with the certificate issued for it"})
	}
	if len(causes) > 0 {
		return errInvalid("Worker", req.Name, causes)
	}

	c := callerOf(r)
	stored, err := s.st.Credentials.Get(r.Context(), req.Name)
	if errors.Is(err, store.ErrNotFound) {
		stored, err = nil, nil
	}
	if err != nil {
		return err
	}
	judged := judgeRegistration(c, req.Name, stored)
	if judged == refuseTaken || judged == refuseOther {
		return s.refuseRegistration(r, req, c, judged)
	}
	now := s.now().UTC()
	cert, err := s.signer.IssueWorker(req.Name, host, []byte(req.CertificateRequest), now)
	if err != nil {
		return errInvalid("Worker", req.Name, v1.FieldErrors{{Field: "certificateRequest", Message: err.Error()}})
	}

	token, managerToken := randomToken(), randomToken()
	cred := &v1.Credential{
		TypeMeta:     v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindCredential},
		Metadata:     v1.ObjectMeta{Name: req.Name},
		TokenHash:    hashToken(token),
		ManagerToken: managerToken,
		TokenKept:    true,
	}
	var savedCred *v1.Credential
	if stored == nil {
		savedCred, err = s.st.Credentials.Create(r.Context(), cred)
		if errors.Is(err, store.ErrExists) {
			// Another registration took the name first.
			return s.refuseRegistration(r, req, c, refuseTaken)
		}
	} else {
		// Compare-and-swap on what was judged: a registration that won a
		// race meanwhile is not overwritten.
		cred.Metadata.ResourceVersion = stored.Metadata.ResourceVersion
		savedCred, err = s.st.Credentials.Update(r.Context(), cred)
	}
	if err != nil {
		return err
	}

	created := false
	checks := s.reach != nil
	out, err := s.st.Workers.GuaranteedUpdate(r.Context(), req.Name, func(wk *v1.Worker) (*v1.Worker, error) {
		applyRegistration(wk, &req, now, checks)
		return wk, nil
	})
	if errors.Is(err, store.ErrNotFound) {
		wk := &v1.Worker{
			TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindWorker},
			Metadata: v1.ObjectMeta{Name: req.Name, UID: store.NewUID(), CreationTimestamp: &now},
		}
		applyRegistration(wk, &req, now, checks)
		out, err = s.st.Workers.Create(r.Context(), wk)
		created = true
	}
	if err != nil {
		return err
	}
	// The worker sends its first heartbeat the moment this answers, and
	// heartbeats are checked against the caches: let them catch up first,
	// or the new token is refused and the worker registers again.
	_ = s.st.CredentialCache.WaitFor(r.Context(), savedCred)
	_ = s.st.WorkerCache.WaitFor(r.Context(), out)
	s.log.Info("worker registered", "worker", req.Name, "address", req.Address, "new", created)
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, v1.RegisterResponse{
		Worker: *out, Token: token, ManagerToken: managerToken,
		HeartbeatInterval: v1.Duration{Duration: s.heartbeat},
		Managers:          s.managerURLs(r.Context()),
		ClusterID:         s.cluster,
		Certificate:       string(cert),
	})
	return nil
}

// refuseRegistration answers a registration under a name the caller may
// not take, and records it: in the log and as an event about the worker
// whose name it was.
func (s *Server) refuseRegistration(r *http.Request, req v1.RegisterRequest, c caller, why registration) error {
	msg := fmt.Sprintf("worker %s is registered already, and this registration does not prove it is that worker: "+
		"a worker registers again with its own credential (DATA-DIR/worker-%s.credential); "+
		"to give the name to another, delete the old worker first (mkctl delete worker %s)", req.Name, req.Name, req.Name)
	if why == refuseOther {
		msg = fmt.Sprintf("this token belongs to worker %s, not %s", c.worker, req.Name)
	}
	from := serve.ClientIP(r)
	s.log.Warn("registration refused", "worker", req.Name, "address", req.Address, "from", from, "reason", msg)
	s.events.Eventf(r.Context(), v1.ObjectReference{Kind: v1.KindWorker, Name: req.Name}, v1.EventWarning, ReasonRegistrationRefused,
		fmt.Sprintf("a registration under this name from %s (address %s) was refused: it did not prove it is this worker", from, req.Address))
	return errForbidden("%s", msg)
}

// deleteWorker serves DELETE /api/v1/workers/:name: the worker is
// forgotten for good. Its credential is revoked first, so its token stops
// working at once (and the worker, when it registers again, is told it
// was deleted and stops what it runs); then the Worker object goes, and
// the worker lifecycle controller places its tasks elsewhere. The name is
// free again for a new worker. It answers with the worker as it was.
func (s *Server) deleteWorker(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	ctx := r.Context()
	name := p.ByName("name")
	wk, err := s.st.Workers.Get(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("worker", name)
	}
	if err != nil {
		return err
	}
	now := s.now().UTC()
	cred, err := s.st.Credentials.GuaranteedUpdate(ctx, name, func(c *v1.Credential) (*v1.Credential, error) {
		if c.Revoked() {
			return nil, nil
		}
		c.RevokedAt, c.ManagerToken = &now, ""
		return c, nil
	})
	switch {
	case err == nil:
		_ = s.st.CredentialCache.WaitFor(ctx, cred)
	case !errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("revoke the credential of worker %s: %w", name, err)
	}
	if err := s.st.Workers.Delete(ctx, name, ""); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.log.Info("worker deleted; its credential is revoked", "worker", name)
	s.events.Eventf(ctx, v1.ObjectReference{Kind: v1.KindWorker, Name: name, UID: wk.Metadata.UID}, v1.EventNormal, ReasonDeleted,
		fmt.Sprintf("worker %s was deleted: its credential no longer works, and its tasks are placed on other workers", name))
	writeJSON(w, http.StatusOK, wk)
	return nil
}

// applyRegistration records what a registering worker says of itself;
// with checks, a new address is not Reachable until a manager has called
// the worker back there (reach.go).
func applyRegistration(wk *v1.Worker, req *v1.RegisterRequest, now time.Time, checks bool) {
	reach := registeredReach(wk, req.Address, checks)
	wk.Metadata.Labels = registeredLabels(wk, req.Labels)
	wk.Status.RegisteredLabels = req.Labels
	wk.Spec.Address = req.Address
	wk.Status.LastHeartbeatTime = &now
	wk.Status.Stats = req.Stats
	wk.Status.Capacity = capacity(req.Stats)
	setWorkerConditions(&wk.Status, req.Conditions, reach, now)
}

// setWorkerConditions records the conditions a live worker reports of
// itself, with the manager's own Reachable condition (reach when a call
// back just gave it, or else the one the worker holds), and the phase
// they give it: Ready unless one of them is False or the manager has not
// reached the worker yet.
func setWorkerConditions(st *v1.WorkerStatus, reported []v1.Condition, reach *v1.Condition, now time.Time) {
	conds := make([]v1.Condition, len(reported), len(reported)+1)
	copy(conds, reported)
	if held := v1.FindCondition(st.Conditions, v1.WorkerReachable); held != nil {
		conds = append(conds, *held)
	}
	if reach != nil {
		conds = v1.SetCondition(conds, *reach, now)
	}
	st.Conditions = conds
	st.Phase = v1.WorkerReady
	for _, c := range conds {
		if c.Status == v1.ConditionFalse || (c.Type == v1.WorkerReachable && c.Status != v1.ConditionTrue) {
			st.Phase = v1.WorkerNotReady
		}
	}
}

// validateWorkerConditions checks the conditions a worker reports of
// itself: each has a type, once, and a status of True, False or Unknown.
func validateWorkerConditions(conds []v1.Condition, field string) v1.FieldErrors {
	var causes v1.FieldErrors
	seen := map[string]bool{}
	for i, c := range conds {
		path := field + "[" + strconv.Itoa(i) + "]"
		switch {
		case c.Type == "":
			causes = append(causes, v1.FieldError{Field: path + ".type", Message: "required"})
		case seen[c.Type]:
			causes = append(causes, v1.FieldError{Field: path + ".type", Message: "duplicate condition " + c.Type})
		case c.Type == v1.WorkerReachable:
			causes = append(causes, v1.FieldError{Field: path + ".type", Message: v1.WorkerReachable + " is the manager's own condition: it says whether a manager has called the worker back, and no worker reports it"})
		}
		seen[c.Type] = true
		switch c.Status {
		case v1.ConditionTrue, v1.ConditionFalse, v1.ConditionUnknown:
		default:
			causes = append(causes, v1.FieldError{Field: path + ".status", Message: "must be True, False or Unknown"})
		}
	}
	return causes
}

// capacity derives what a worker host has from its stats.
func capacity(st v1.WorkerStats) v1.ResourceList {
	return v1.ResourceList{
		v1.ResourceCPU:    strconv.Itoa(st.CPUs),
		v1.ResourceMemory: v1.FormatQuantity(st.MemoryTotal),
		v1.ResourceDisk:   v1.FormatQuantity(st.DiskTotal),
	}
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

func (s *Server) listWorkers(w http.ResponseWriter, _ *http.Request, _ httprouter.Params) error {
	items, rev := s.st.WorkerCache.ListRevision()
	writeList(w, v1.KindWorkerList, rev, items, nil)
	return nil
}

func (s *Server) getWorker(w http.ResponseWriter, _ *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	wk, ok := s.st.WorkerCache.Get(name)
	if !ok {
		return errNotFound("worker", name)
	}
	writeJSON(w, http.StatusOK, wk)
	return nil
}

// workerTasks lists the tasks assigned to a worker: its reconcile source.
func (s *Server) workerTasks(w http.ResponseWriter, _ *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	if _, ok := s.st.WorkerCache.Get(name); !ok {
		return errNotFound("worker", name)
	}
	rev := s.st.TaskCache.Revision()
	writeTaskList(w, s.st.TaskCache.ByIndex(store.IndexWorker, name), rev, taskFilter{selector: labels.Everything(), worker: name})
	return nil
}

// reportStatus takes a worker's heartbeat: it records the worker's stats
// and the status of the tasks it reports, and answers with the tasks the
// worker holds that are no longer its own, the heartbeat interval to keep
// and the task revision the answer was made at.
func (s *Server) reportStatus(w http.ResponseWriter, r *http.Request, p httprouter.Params) error {
	name := p.ByName("name")
	// Before the gate: a call back that waits for its timeout holds up no
	// other worker's report.
	reach := s.checkReach(r.Context(), name)
	release, err := s.reports.enter(r)
	if err != nil {
		// The worker gave up (its request's deadline passed) while the
		// reports before it were judged: nobody is left to answer.
		s.log.Warn("a worker gave up on its status report while it waited for the reports before it; the manager is behind on its workers' reports",
			"worker", name, "bytes", r.ContentLength, "err", err)
		return nil
	}
	defer release()
	var rep v1.StatusReport
	if err := decodeJSON(r, &rep); err != nil {
		// Heartbeats refused for long make a worker lost: say so loudly.
		s.log.Error("a worker's status report is refused; the worker is lost if its heartbeats keep being refused",
			"worker", name, "from", serve.ClientIP(r), "bytes", r.ContentLength, "err", err)
		return err
	}
	if causes := validateWorkerConditions(rep.Conditions, "conditions"); len(causes) > 0 {
		s.log.Error("a worker's status report is refused", "worker", name, "from", serve.ClientIP(r), "err", causes)
		return errInvalid("Worker", name, causes)
	}
	wk, ok := s.st.WorkerCache.Get(name)
	if !ok {
		return errNotFound("worker", name)
	}
	// A worker not Ready was judged lost, or reported a condition False,
	// or could not be reached; one that registered and has not been
	// called back yet is as Ready as its registration made it before.
	returning := wk.Status.Phase != v1.WorkerReady && !notCheckedYet(wk)
	reply := v1.StatusReply{
		HeartbeatInterval: v1.Duration{Duration: s.heartbeat},
		Revision:          s.st.TaskCache.Revision(),
		ClusterID:         s.cluster,
		ChecksAnswered:    true,
	}
	now := s.now().UTC()
	if err := s.recordHeartbeat(r, name, &rep, reach, now); err != nil {
		return err
	}

	var writes []reportWrite
	// recorded holds the tasks this report records, with their reported
	// phase: what the manager holds of them once it is written.
	recorded := map[string]reportedTask{}
	for _, tr := range rep.Tasks {
		t, _ := s.st.TaskCache.Get(tr.Name)
		action := judgeCopy(t, tr, name, returning)
		if action == copyStop || (action == copyIgnore && t.Status.Worker != name) {
			// Confirm with the store before stopping anything, or before
			// ignoring the report of a task the cache does not show on
			// this worker: the cache may be behind a write this manager
			// did not make yet visible (another manager created the task,
			// the scheduler just assigned it and pushed it, and the
			// worker's first report overtook the cache). The worker has
			// been answered 200 for this report and will not send it
			// again, so a report dropped here would only be repaired by
			// the next full heartbeat.
			stored, ok, err := s.storedTask(r, tr.Name)
			if err != nil {
				s.log.Warn("could not read a reported task; deciding on the next report", "task", tr.Name, "err", err)
				continue
			}
			if !ok {
				stored = nil
			}
			t, action = stored, judgeCopy(stored, tr, name, returning)
		}
		if t != nil && t.Metadata.UID == tr.UID && t.Status.Worker == name {
			s.recordReported(r.Context(), t, tr.Events)
		}
		switch action {
		case copyStop:
			reply.Stop = append(reply.Stop, tr.UID)
		case copyRecord:
			recorded[tr.Name] = reportedTask{uid: tr.UID, phase: tr.Status.Phase}
			if _, changed := mergeReport(t, name, tr); changed {
				writes = append(writes, reportWrite{report: tr, task: t})
			}
		}
	}
	s.judgeAnswered(name, rep.Answered, recorded, &reply)
	if err := s.writeReports(r.Context(), name, writes); err != nil {
		return err
	}
	switch {
	case returning && !rep.Full:
		// Its tasks may have moved meanwhile: judge every copy it holds.
		reply.SendFull = true
	case rep.Heartbeat && rep.Digest != "":
		if d := s.ledger.digest(name, recorded); d != rep.Digest {
			s.log.Debug("a worker's tasks differ from those recorded on it; asking for a full report", "worker", name, "digest", rep.Digest, "recorded", d)
			reply.SendFull = true
		}
	}
	reply.Managers = s.managerURLs(r.Context())
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// judgeAnswered checks the tasks a heartbeat names whose first status a
// push's answer carried: one the manager records on the worker, under
// that uid, in the phase the worker last reported, is acknowledged with
// nothing; of any other, the reply asks for the status again (Resend),
// and a task the manager records on the worker counts in the digest in
// the phase the worker gives it, as when the heartbeat carried its
// status: its status follows at once.
func (s *Server) judgeAnswered(worker string, answered []v1.AnsweredTask, recorded map[string]reportedTask, reply *v1.StatusReply) {
	for _, a := range answered {
		t, ok := s.st.TaskCache.Get(a.Name)
		mine := ok && t.Metadata.UID == a.UID && t.Status.Worker == worker
		if mine && t.Status.Phase == a.Phase {
			continue
		}
		reply.Resend = append(reply.Resend, a.UID)
		if mine {
			recorded[a.Name] = reportedTask{uid: a.UID, phase: a.Phase}
		}
	}
}

// RecordFirstStatus records the first status a worker answered the push
// of t with (t as the scheduler assigned it), as the status reports'
// are recorded, with the events it carries. A status the store refuses is
// logged: the worker's next heartbeat carries it again.
func (s *Server) RecordFirstStatus(ctx context.Context, worker string, t *v1.Task, first v1.TaskReport) {
	if t.Metadata.UID != first.UID || t.Status.Worker != worker {
		return
	}
	s.recordReported(ctx, t, first.Events)
	if err := s.writeReports(ctx, worker, []reportWrite{{report: first, task: t, first: true}}); err != nil {
		s.log.Warn("could not record the status a worker answered a push with; its next heartbeat carries it again",
			"task", t.Metadata.Name, "worker", worker, "err", err)
	}
}

// storedTask reads a task from the store rather than the cache.
func (s *Server) storedTask(r *http.Request, name string) (*v1.Task, bool, error) {
	t, err := s.st.Tasks.Get(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return t, true, nil
}

// copyAction is what a worker's report of one task it holds leads to.
type copyAction int

const (
	// copyRecord: the task is the worker's; its status is recorded.
	copyRecord copyAction = iota + 1
	// copyIgnore: the copy keeps running but its report is not recorded:
	// it speaks of an older spec, or the task is moving to another worker
	// and has not started there yet (make before break).
	copyIgnore
	// copyStop: the copy is not the worker's any more; it must stop.
	copyStop
)

// judgeCopy decides what a worker's report tr of a task means. t is the
// stored task of that name, nil when there is none; returning is true
// when the worker was not Ready before this report: it was judged lost
// and its tasks may have been moved. This is the one place that says
// when a worker's copy of a task stops:
//   - the task is gone or is another incarnation (uid);
//   - the manager ended the task (terminal) while the copy runs on;
//   - the task moved off the worker, and either the worker is coming back
//     from being lost, or the task has started on its new worker. A copy
//     moved by drain or by a spec change keeps running until then.
func judgeCopy(t *v1.Task, tr v1.TaskReport, worker string, returning bool) copyAction {
	switch {
	case t == nil, t.Metadata.UID != tr.UID:
		return copyStop
	case t.Status.Phase.Terminal() && !tr.Status.Phase.Terminal():
		return copyStop
	case t.Status.Worker == worker && tr.Generation < t.Status.AssignedGeneration():
		// Sent before the worker took the newer spec; the next report
		// speaks of it.
		return copyIgnore
	case t.Status.Worker == worker:
		return copyRecord
	case returning, t.Status.Worker != "" && (t.Status.Phase == v1.PhaseRunning || t.Status.Phase.Terminal()):
		return copyStop
	}
	return copyIgnore
}

// recordHeartbeat records the worker's latest stats and conditions, with
// reach, what a call back just observed (nil: none was made), and the
// phase they give it (Ready unless a condition is False or the manager
// has not reached the worker). A report that is neither a heartbeat nor
// the end of a full report refreshes the worker object only when it is
// not Ready or its conditions changed.
func (s *Server) recordHeartbeat(r *http.Request, name string, rep *v1.StatusReport, reach *v1.Condition, now time.Time) error {
	periodic := rep.Heartbeat || (rep.Full && !rep.More)
	cur, ok := s.st.WorkerCache.Get(name)
	refresh := ok && cur.Status.Phase == v1.WorkerReady && sameReported(cur.Status.Conditions, rep.Conditions)
	if refresh && !periodic {
		return nil
	}
	if refresh {
		// Only its time and its host's load change: it can wait for the
		// other workers' heartbeats to write with (beats.go). A change of
		// condition is written at once.
		s.beats.wait(r.Context())
		if c, still := s.st.WorkerCache.Get(name); still {
			cur = c
		}
	}
	usage := s.ledger.usage(name)
	var before []v1.Condition // what the transitions are judged against
	// From the cache's copy, a compare-and-swap on its version: no read
	// of the store unless the cache is behind (a thousand workers send
	// 200 heartbeats a second).
	out, err := s.st.Workers.GuaranteedUpdateFrom(r.Context(), name, cur, func(wk *v1.Worker) (*v1.Worker, error) {
		before = slices.Clone(wk.Status.Conditions)
		wk.Status.LastHeartbeatTime = &now
		wk.Status.Stats = rep.Stats
		wk.Status.Capacity = capacity(rep.Stats)
		wk.Status.Allocated = usage.allocated()
		wk.Status.Tasks = usage.tasks
		setWorkerConditions(&wk.Status, rep.Conditions, reach, now)
		return wk, nil
	})
	if err == nil {
		s.recordWorkerTransitions(r, out, before)
	}
	return err
}

// sameReported reports whether a worker's reported conditions are those
// held of it, the manager's own Reachable aside, ignoring transition
// times.
func sameReported(held, reported []v1.Condition) bool {
	i := 0
	for _, h := range held {
		if h.Type == v1.WorkerReachable {
			continue
		}
		if i == len(reported) {
			return false
		}
		x, y := h, reported[i]
		x.LastTransitionTime, y.LastTransitionTime = nil, nil
		if x != y {
			return false
		}
		i++
	}
	return i == len(reported)
}

// recordWorkerTransitions records an event for each condition the worker
// reports that changed status.
func (s *Server) recordWorkerTransitions(r *http.Request, wk *v1.Worker, before []v1.Condition) {
	ref := v1.ObjectReference{Kind: v1.KindWorker, Name: wk.Metadata.Name, UID: wk.Metadata.UID}
	for _, c := range wk.Status.Conditions {
		old := v1.FindCondition(before, c.Type)
		if (old == nil && c.Status == v1.ConditionTrue) || (old != nil && old.Status == c.Status) {
			continue
		}
		typ, reason := v1.EventNormal, c.Type
		if c.Status != v1.ConditionTrue {
			typ = v1.EventWarning
		}
		if c.Reason != "" {
			reason = c.Reason
		}
		s.events.Eventf(r.Context(), ref, typ, reason, c.Message)
	}
}

// reportWrite is a reported status to store, and the task it was judged
// against (as the cache, or the store, held it).
type reportWrite struct {
	report v1.TaskReport
	task   *v1.Task
	// first marks the first status a push was answered with: it is
	// written only while the task is Unreported, since a report of the
	// same copy can overtake it (the worker sends none before it answers)
	// and is then the newer.
	first bool
}

// writeReports stores reported task statuses, a few at a time (the store
// commits the writes that meet in one transaction). Each write starts from
// the task it was judged against and is a compare-and-swap: one that lost
// to a newer write is judged again on the stored task, so a report that
// became stale meanwhile is dropped.
func (s *Server) writeReports(ctx context.Context, worker string, reports []reportWrite) error {
	if len(reports) == 0 {
		return nil
	}
	var (
		mu       sync.Mutex
		firstErr error
	)
	write := func(rw reportWrite) {
		tr := rw.report
		var before *v1.TaskStatus
		out, err := s.st.Tasks.GuaranteedUpdateFrom(ctx, tr.Name, rw.task, func(t *v1.Task) (*v1.Task, error) {
			before = nil
			if t.Metadata.UID != tr.UID || t.Status.Worker != worker || tr.Generation < t.Status.AssignedGeneration() ||
				(t.Status.Phase.Terminal() && !tr.Status.Phase.Terminal()) || (rw.first && !t.Status.Unreported(worker)) {
				return nil, nil
			}
			st, changed := mergeReport(t, worker, tr)
			if !changed {
				return nil, nil
			}
			before = t.Status.DeepCopy()
			t.Status = st
			return t, nil
		})
		if err == nil && before != nil {
			s.recordTransitions(ctx, out, before)
		}
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			mu.Lock()
			if firstErr == nil {
				firstErr = err
			}
			mu.Unlock()
		}
	}
	eachAtOnce(len(reports), reportWriters, func(i int) { write(reports[i]) })
	return firstErr
}

// eachAtOnce calls fn for each of 0..n-1, at most k at once, and returns
// once every call has. The caller's goroutine is one of the k, so that
// the common case of one item starts none (a new goroutine grows its
// stack for the JSON encoder anew).
func eachAtOnce(n, k int, fn func(i int)) {
	var next atomic.Int64
	work := func() {
		for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
			fn(i)
		}
	}
	var wg sync.WaitGroup
	for range min(n, k) - 1 {
		wg.Go(work)
	}
	work()
	wg.Wait()
}

// mergeReport returns the status a worker's report gives the task. The
// worker owns what it observes, observedGeneration included (the
// generation of the container it reports, behind while an update is not
// done); the manager keeps what it decided: the worker and the Scheduled
// condition, which says which generation the worker accepted.
func mergeReport(t *v1.Task, worker string, tr v1.TaskReport) (v1.TaskStatus, bool) {
	st := tr.Status
	st.Worker = worker
	if st.HostIP == "" {
		st.HostIP = t.Status.HostIP
	}
	conds := make([]v1.Condition, 0, len(st.Conditions)+1)
	if c := v1.FindCondition(t.Status.Conditions, v1.TaskScheduled); c != nil {
		conds = append(conds, *c)
	}
	for _, c := range st.Conditions {
		if c.Type != v1.TaskScheduled {
			conds = append(conds, c)
		}
	}
	st.Conditions = conds
	return st, !reflect.DeepEqual(st, t.Status)
}
