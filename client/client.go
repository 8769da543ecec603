package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	v1 "github.com/minkube/minkube/apis/v1"
)

// DefaultServer is the manager address used when nothing else names one.
const DefaultServer = "https://127.0.0.1:7070"

// applyResultHeader carries the outcome of an apply.
const applyResultHeader = "Minkube-Apply-Result"

// Client calls the manager's HTTP API. It is safe for concurrent use.
type Client struct {
	r *requester
}

// New returns a client of the manager at server ("https://127.0.0.1:7070";
// "127.0.0.1:7070" means HTTPS) that authenticates with token. It fails
// only when server is not a usable address, or a WithTLS CA cannot be
// read; nothing is sent yet. A comma-separated list of servers makes a
// client that fails over between them (NewWithServers).
func New(server, token string, opts ...Option) (*Client, error) {
	if strings.Contains(server, ",") {
		servers, err := NewServers(server)
		if err != nil {
			return nil, err
		}
		return NewWithServers(servers, token, opts...)
	}
	base, err := parseServer(server)
	if err != nil {
		return nil, err
	}
	r, err := newRequester(base, nil, token, "the manager", true, opts)
	if err != nil {
		return nil, err
	}
	return &Client{r: r}, nil
}

// Server returns the base URL the client calls now, e.g.
// "https://127.0.0.1:7070": with several servers, the one that last
// answered.
func (c *Client) Server() string { return c.r.serverString() }

// ListOptions filters a list or a watch of Tasks.
type ListOptions struct {
	// LabelSelector is a Kubernetes label selector ("app=web,tier!=db").
	LabelSelector string
	// Worker keeps only the Tasks assigned to this worker.
	Worker string
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.LabelSelector != "" {
		q.Set("labelSelector", o.LabelSelector)
	}
	if o.Worker != "" {
		q.Set("worker", o.Worker)
	}
	return q
}

// ApplyOptions modify an apply.
type ApplyOptions struct {
	// DryRun asks the server to validate and report the outcome without
	// storing anything.
	DryRun bool
	// Force applies a Task the manifests directory manages even when that
	// changes it, taking it out of the directory's care. Without it such
	// an apply returns a Conflict *v1.Status whose cause is the field
	// v1.FieldAnnotationSource.
	Force bool
}

// ApplyResult says what an apply did.
type ApplyResult string

// Apply results.
const (
	// Created means the Task did not exist and was stored.
	Created ApplyResult = "created"
	// Configured means the Task existed and its spec, labels or
	// annotations changed.
	Configured ApplyResult = "configured"
	// Unchanged means the Task existed exactly as applied.
	Unchanged ApplyResult = "unchanged"
)

// LogOptions select which container log lines are returned.
type LogOptions = v1.LogOptions

// VersionInfo is the build of a Minkube binary, as served at /version.
type VersionInfo = v1.VersionInfo

// ListTasks returns the Tasks that match opts, read at one store revision
// (the list's metadata.resourceVersion, from which WatchTasks can resume).
func (c *Client) ListTasks(ctx context.Context, opts ListOptions) (*v1.TaskList, error) {
	var list v1.TaskList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/tasks", query: opts.query()}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// ListTasksJSON returns the TaskList of the Tasks that match opts as the
// manager encoded it, for a caller that converts the list whole rather
// than reads it (mkctl get -o yaml; -o json streams it with
// TaskListJSON): it is checked to be one JSON value of kind TaskList, and
// not decoded further.
func (c *Client) ListTasksJSON(ctx context.Context, opts ListOptions) (json.RawMessage, error) {
	raw, err := c.r.callRaw(ctx, request{method: http.MethodGet, path: "/api/v1/tasks", query: opts.query()}, maxListBytes)
	if err != nil {
		return nil, err
	}
	if kind, err := topLevelKind(raw); err != nil || kind != v1.KindTaskList {
		return nil, fmt.Errorf("%s answered GET /api/v1/tasks with %s, not a TaskList", c.r.peer, describeKind(kind, err))
	}
	return raw, nil
}

// TaskListJSON returns the TaskList of the Tasks that match opts as the
// manager encodes it, to read as it arrives: for a caller that passes a
// large list on (mkctl get -o json) without holding all of it. The caller
// closes it, and checks what it reads: nothing here has looked at it yet.
// A read error names the request; reading stops with ErrResponseTooLarge
// past the size a list may have.
func (c *Client) TaskListJSON(ctx context.Context, opts ListOptions) (io.ReadCloser, error) {
	return c.r.open(ctx, request{method: http.MethodGet, path: "/api/v1/tasks", query: opts.query()}, maxListBytes)
}

// TaskTable returns the Task table (v1.TaskTableColumns) of the Tasks
// that match opts, which the manager builds (GET /api/v1/tasks?as=table):
// a fraction of the list's size for a caller that prints the table. From
// a manager that answers with the TaskList, it builds the table itself.
func (c *Client) TaskTable(ctx context.Context, opts ListOptions) (*v1.Table, error) {
	q := opts.query()
	q.Set("as", "table")
	var out struct {
		v1.Table
		// Items are what an older manager sends: it knows no tables.
		Items []v1.Task `json:"items"`
	}
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/tasks", query: q}, &out, maxListBytes); err != nil {
		return nil, err
	}
	switch out.Kind {
	case v1.KindTable:
		return &out.Table, nil
	case v1.KindTaskList:
		return v1.TaskTable(out.Items, out.Metadata.ResourceVersion), nil
	}
	return nil, fmt.Errorf("%s answered GET /api/v1/tasks?as=table with %s, not a Table", c.r.peer, describeKind(out.Kind, nil))
}

// topLevelKind returns the kind field of the JSON object data, reading no
// further than it: the head of a list comes before its items.
func topLevelKind(data []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", errors.New("not a JSON object")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return "", err
		}
		if key == "kind" {
			var kind string
			err := dec.Decode(&kind)
			return kind, err
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", err
		}
	}
	return "", nil
}

// describeKind words what an answer of kind was, for an error.
func describeKind(kind string, err error) string {
	switch {
	case err != nil:
		return "something else (" + err.Error() + ")"
	case kind == "":
		return "an object of no kind"
	}
	return "a " + kind
}

// GetTask returns the Task called name. It returns a NotFound *v1.Status
// when there is none.
func (c *Client) GetTask(ctx context.Context, name string) (*v1.Task, error) {
	seg, err := pathEscape("task", name)
	if err != nil {
		return nil, err
	}
	var t v1.Task
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/tasks/" + seg}, &t, maxObjectBytes); err != nil {
		return nil, err
	}
	return &t, nil
}

// ApplyTask creates task, or updates the spec, labels and annotations of the
// Task of the same name, and returns the stored Task and what was done. Its
// status is ignored. When task carries metadata.resourceVersion the write is
// a compare-and-swap and a stale one returns a Conflict *v1.Status. An
// invalid task returns an Invalid *v1.Status listing every cause. task is
// not modified.
func (c *Client) ApplyTask(ctx context.Context, task *v1.Task, opts ApplyOptions) (*v1.Task, ApplyResult, error) {
	seg, err := pathEscape("task", task.Metadata.Name)
	if err != nil {
		return nil, "", err
	}
	var out v1.Task
	resp, err := c.r.call(ctx, request{method: http.MethodPut, path: "/api/v1/tasks/" + seg, query: opts.query(), body: withTaskKind(task)}, &out, maxObjectBytes)
	if err != nil {
		return nil, "", err
	}
	result := ApplyResult(resp.Header.Get(applyResultHeader))
	if result == "" {
		result = Configured
		if resp.StatusCode == http.StatusCreated {
			result = Created
		}
	}
	return &out, result, nil
}

// CreateTask stores a new Task and returns it as stored. It returns an
// AlreadyExists *v1.Status when a Task of that name exists, and an Invalid
// one when task is invalid. task is not modified.
func (c *Client) CreateTask(ctx context.Context, task *v1.Task) (*v1.Task, error) {
	var out v1.Task
	if _, err := c.r.call(ctx, request{method: http.MethodPost, path: "/api/v1/tasks", body: withTaskKind(task)}, &out, maxObjectBytes); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTask asks for a graceful delete of the Task called name and returns
// it with its deletionTimestamp set; the Task is gone once its container has
// stopped. It returns a NotFound *v1.Status when there is none.
func (c *Client) DeleteTask(ctx context.Context, name string) (*v1.Task, error) {
	seg, err := pathEscape("task", name)
	if err != nil {
		return nil, err
	}
	var t v1.Task
	if _, err := c.r.call(ctx, request{method: http.MethodDelete, path: "/api/v1/tasks/" + seg}, &t, maxObjectBytes); err != nil {
		return nil, err
	}
	return &t, nil
}

// WatchTasks streams every change to the Tasks that match opts after
// resourceVersion (usually a list's metadata.resourceVersion; "" and "0"
// mean from now on, starting with an ADDED event for every Task, as in
// Kubernetes). The watch lasts until ctx ends, the server ends it, or Close
// is called. It returns a Gone *v1.Status (IsGone) when resourceVersion is no
// longer kept; the Watcher's Next returns the same when the server ends the
// watch for that reason later.
func (c *Client) WatchTasks(ctx context.Context, resourceVersion string, opts ListOptions) (*Watcher[*v1.Task], error) {
	q := opts.query()
	q.Set("watch", "true")
	// "0" is no revision to resume from: it asks for the current state,
	// which a watch from now on starts with (every Task as ADDED).
	if resourceVersion != "" && resourceVersion != "0" {
		q.Set("resourceVersion", resourceVersion)
	}
	resp, err := c.r.send(ctx, request{method: http.MethodGet, path: "/api/v1/tasks", query: q})
	if err != nil {
		return nil, err
	}
	return newWatcher[*v1.Task](ctx, resp.Body, resourceVersion, c.r), nil
}

// TaskLogs returns the container log of the Task called name as plain text,
// proxied by the manager from the Task's worker. The caller closes the
// stream; with opts.Follow it stays open until ctx ends or the container
// stops. It returns a NotFound *v1.Status when there is no such Task.
func (c *Client) TaskLogs(ctx context.Context, name string, opts LogOptions) (io.ReadCloser, error) {
	seg, err := pathEscape("task", name)
	if err != nil {
		return nil, err
	}
	resp, err := c.r.send(ctx, request{method: http.MethodGet, path: "/api/v1/tasks/" + seg + "/logs", query: opts.Query()})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// ListEvents returns the recorded events about the Task called task, or
// every event when task is "".
func (c *Client) ListEvents(ctx context.Context, task string) (*v1.EventList, error) {
	q := url.Values{}
	if task != "" {
		q.Set("task", task)
	}
	var list v1.EventList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/events", query: q}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// RegisterWorker registers (or re-registers) a worker, authenticating this
// one call with token instead of the client's: the join token, or the
// worker's own when it registers again. It returns the worker's
// credentials and certificate. It returns an Unauthorized *v1.Status when
// the token is wrong, and a Forbidden one when the name belongs to another
// worker or the worker was deleted.
func (c *Client) RegisterWorker(ctx context.Context, token string, req v1.RegisterRequest) (*v1.RegisterResponse, error) {
	var out v1.RegisterResponse
	if _, err := c.r.call(ctx, request{method: http.MethodPost, path: "/api/v1/workers", body: req, token: token}, &out, maxObjectBytes); err != nil {
		return nil, err
	}
	return &out, nil
}

// ReportStatus sends a worker's heartbeat and returns the manager's reply:
// the tasks the worker must stop. The client's token must be the worker's.
// It returns an Unauthorized *v1.Status when the token is not the worker's,
// and a NotFound one when the worker is not registered.
func (c *Client) ReportStatus(ctx context.Context, worker string, report *v1.StatusReport) (*v1.StatusReply, error) {
	seg, err := pathEscape("worker", worker)
	if err != nil {
		return nil, err
	}
	var out v1.StatusReply
	if _, err := c.r.call(ctx, request{method: http.MethodPut, path: "/api/v1/workers/" + seg + "/status", body: report}, &out, maxObjectBytes); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListWorkers returns every registered worker.
func (c *Client) ListWorkers(ctx context.Context) (*v1.WorkerList, error) {
	var list v1.WorkerList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/workers"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// GetWorker returns the worker called name. It returns a NotFound
// *v1.Status when there is none.
func (c *Client) GetWorker(ctx context.Context, name string) (*v1.Worker, error) {
	seg, err := pathEscape("worker", name)
	if err != nil {
		return nil, err
	}
	var w v1.Worker
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/workers/" + seg}, &w, maxObjectBytes); err != nil {
		return nil, err
	}
	return &w, nil
}

// WorkerTasks returns the Tasks assigned to the worker called name: the
// source a worker reconciles its own map against. It returns a NotFound
// *v1.Status when there is no such worker.
func (c *Client) WorkerTasks(ctx context.Context, name string) (*v1.TaskList, error) {
	seg, err := pathEscape("worker", name)
	if err != nil {
		return nil, err
	}
	var list v1.TaskList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/workers/" + seg + "/tasks"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// Cordon marks the worker called name unschedulable: it keeps its Tasks but
// gets no new ones. It returns the updated worker, or a NotFound *v1.Status.
func (c *Client) Cordon(ctx context.Context, name string) (*v1.Worker, error) {
	return c.workerAction(ctx, name, "cordon")
}

// Uncordon makes the worker called name schedulable again. It returns the
// updated worker, or a NotFound *v1.Status.
func (c *Client) Uncordon(ctx context.Context, name string) (*v1.Worker, error) {
	return c.workerAction(ctx, name, "uncordon")
}

// Drain cordons the worker called name and moves its Tasks elsewhere. It
// returns the updated worker, or a NotFound *v1.Status.
func (c *Client) Drain(ctx context.Context, name string) (*v1.Worker, error) {
	return c.workerAction(ctx, name, "drain")
}

func (c *Client) workerAction(ctx context.Context, name, action string) (*v1.Worker, error) {
	seg, err := pathEscape("worker", name)
	if err != nil {
		return nil, err
	}
	var w v1.Worker
	if _, err := c.r.call(ctx, request{method: http.MethodPost, path: "/api/v1/workers/" + seg + "/" + action}, &w, maxObjectBytes); err != nil {
		return nil, err
	}
	return &w, nil
}

// DeleteWorker forgets the worker called name for good: its credential
// stops working, its Tasks are placed on other workers, and the worker
// stops what it runs when it next registers. It returns the worker as it
// was, or a NotFound *v1.Status.
func (c *Client) DeleteWorker(ctx context.Context, name string) (*v1.Worker, error) {
	seg, err := pathEscape("worker", name)
	if err != nil {
		return nil, err
	}
	var w v1.Worker
	if _, err := c.r.call(ctx, request{method: http.MethodDelete, path: "/api/v1/workers/" + seg}, &w, maxObjectBytes); err != nil {
		return nil, err
	}
	return &w, nil
}

// ListManagers returns every manager that is up, with the one running
// the controllers marked leader.
func (c *Client) ListManagers(ctx context.Context) (*v1.ManagerList, error) {
	var list v1.ManagerList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/managers"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// JoinManager asks the cluster to add the etcd member of a new manager
// and returns the --etcd-initial-cluster the member starts with.
func (c *Client) JoinManager(ctx context.Context, req v1.JoinRequest) (*v1.JoinResponse, error) {
	var out v1.JoinResponse
	if _, err := c.r.call(ctx, request{method: http.MethodPost, path: "/api/v1/managers", body: req}, &out, maxObjectBytes); err != nil {
		return nil, err
	}
	return &out, nil
}

// Version returns the manager's build.
func (c *Client) Version(ctx context.Context) (*VersionInfo, error) {
	var v VersionInfo
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/version"}, &v, maxObjectBytes); err != nil {
		return nil, err
	}
	return &v, nil
}

// Healthz returns nil when the manager answers its liveness check.
func (c *Client) Healthz(ctx context.Context) error {
	_, err := c.r.call(ctx, request{method: http.MethodGet, path: "/healthz", noAuth: true}, nil, 0)
	return err
}

// withTaskKind returns task, or a shallow copy of it with apiVersion and
// kind filled in when they are empty. The caller's Task is never changed.
func withTaskKind(task *v1.Task) *v1.Task {
	if task.APIVersion != "" && task.Kind != "" {
		return task
	}
	t := *task
	if t.APIVersion == "" {
		t.APIVersion = v1.APIVersion
	}
	if t.Kind == "" {
		t.Kind = v1.KindTask
	}
	return &t
}

// Readyz returns nil when the manager answers its readiness check: it has
// loaded its state and serves reads and writes. A manager that is starting
// answers with a ServiceUnavailable *v1.Status.
func (c *Client) Readyz(ctx context.Context) error {
	_, err := c.r.call(ctx, request{method: http.MethodGet, path: "/readyz", noAuth: true}, nil, 0)
	return err
}

// LabelWorker changes the labels of the worker called name: each key set
// to a value is set, each set to nil removed; others are kept. It returns
// the updated worker, a NotFound *v1.Status when there is none, and an
// Invalid one for a bad key or value.
func (c *Client) LabelWorker(ctx context.Context, name string, labels map[string]*string) (*v1.Worker, error) {
	seg, err := pathEscape("worker", name)
	if err != nil {
		return nil, err
	}
	var patch v1.LabelPatch
	patch.Metadata.Labels = labels
	var w v1.Worker
	if _, err := c.r.call(ctx, request{method: http.MethodPatch, path: "/api/v1/workers/" + seg, body: patch}, &w, maxObjectBytes); err != nil {
		return nil, err
	}
	return &w, nil
}
