package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// WorkerClient calls one worker's HTTP API on behalf of the manager, with
// the manager token the worker was given at registration. It is safe for
// concurrent use. Every WorkerClient shares one keep-alive transport unless
// WithHTTPClient says otherwise, so a manager can hold one per worker.
type WorkerClient struct {
	r *requester
}

// NewWorkerClient returns a client of the worker API at address
// ("127.0.0.1:7071", which means HTTPS, or "https://127.0.0.1:7071") that
// authenticates with token. The manager verifies the worker with WithTLS:
// the cluster CA, and the worker's name as ServerName. It never goes
// through a proxy. It fails only when address is not usable, or the CA
// cannot be read; nothing is sent yet.
func NewWorkerClient(address, token string, opts ...Option) (*WorkerClient, error) {
	base, err := parseServer(address)
	if err != nil {
		return nil, err
	}
	r, err := newRequester(base, nil, token, "the worker", false, opts)
	if err != nil {
		return nil, err
	}
	return &WorkerClient{r: r}, nil
}

// Address returns the base URL the client calls.
func (c *WorkerClient) Address() string { return c.r.base.String() }

// AssignTask pushes task to the worker: a new Task to run, or a newer
// generation of one it holds (the worker replaces its copy when the
// generation is newer). created is true when the worker took a Task it did
// not hold, false when it already held that uid. With answer, the worker
// answers a Task it took with the Task's first status, as its first
// report would have carried it, and leaves it out of its reports (first;
// nil when the answer carries none, and a report carries it instead). A
// refusal for lack of disk returns an error wrapping
// ErrInsufficientStorage, a worker not ready to run containers one
// wrapping ErrNotReady; both also wrap the worker's *v1.Status.
func (c *WorkerClient) AssignTask(ctx context.Context, task *v1.Task, answer bool) (created bool, first *v1.TaskReport, err error) {
	req := request{method: http.MethodPost, path: "/api/v1/tasks", body: withTaskKind(task)}
	if answer {
		req.query = answerFirstStatus
	}
	created, first, err = c.assign(ctx, req)
	if err != nil {
		return false, nil, fmt.Errorf("assign task %s (uid %s) to the worker at %s: %w", task.Metadata.Name, task.Metadata.UID, c.r.base, workerError(err))
	}
	return created, first, nil
}

// maxAnswerBytes bounds the answer to a push: one task's status.
const maxAnswerBytes = 1 << 20

// answerFirstStatus asks a worker to answer a push with the task's first
// status (shared: the request only reads it).
var answerFirstStatus = url.Values{"answer": {"status"}}

// assign sends a push and reads its answer.
func (c *WorkerClient) assign(ctx context.Context, req request) (created bool, first *v1.TaskReport, err error) {
	body, err := c.r.open(ctx, req, maxAnswerBytes)
	if err != nil {
		return false, nil, err
	}
	defer body.Close()
	created = body.resp.StatusCode == http.StatusCreated
	if !created {
		return false, nil, nil
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return false, nil, err
	}
	var tr v1.TaskReport
	if len(bytes.TrimSpace(data)) > 0 {
		if err := json.Unmarshal(data, &tr); err != nil {
			return false, nil, body.fail(err)
		}
	}
	if tr.UID == "" {
		return true, nil, nil // an answer of {}: the worker's reports carry the status
	}
	return true, &tr, nil
}

// StopTask stops the container of the Task with uid and makes the worker
// forget it. It returns once the container has stopped, which may take the
// Task's grace period: bound it with ctx accordingly. It returns a NotFound
// *v1.Status (IsNotFound) when the worker does not hold that uid.
func (c *WorkerClient) StopTask(ctx context.Context, uid string) error {
	seg, err := pathEscape("task uid", uid)
	if err != nil {
		return err
	}
	if _, err := c.r.call(ctx, request{method: http.MethodDelete, path: "/api/v1/tasks/" + seg}, nil, 0); err != nil {
		return fmt.Errorf("stop task uid %s on the worker at %s: %w", uid, c.r.base, workerError(err))
	}
	return nil
}

// ListTasks returns the Tasks the worker holds, each with the status the
// worker observes.
func (c *WorkerClient) ListTasks(ctx context.Context) (*v1.TaskList, error) {
	var list v1.TaskList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/tasks"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// TaskLogs returns the container log of the Task with uid as plain text.
// The caller closes the stream; with opts.Follow it stays open until ctx
// ends or the container stops. It returns a NotFound *v1.Status when the
// worker does not hold that uid.
func (c *WorkerClient) TaskLogs(ctx context.Context, uid string, opts LogOptions) (io.ReadCloser, error) {
	seg, err := pathEscape("task uid", uid)
	if err != nil {
		return nil, err
	}
	resp, err := c.r.send(ctx, request{method: http.MethodGet, path: "/api/v1/tasks/" + seg + "/logs", query: opts.Query()})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Stats returns a fresh sample of the worker host's load.
func (c *WorkerClient) Stats(ctx context.Context) (*v1.WorkerStats, error) {
	var st v1.WorkerStats
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/stats"}, &st, maxObjectBytes); err != nil {
		return nil, err
	}
	return &st, nil
}

// Healthz returns nil when the worker answers its liveness check.
func (c *WorkerClient) Healthz(ctx context.Context) error {
	_, err := c.r.call(ctx, request{method: http.MethodGet, path: "/healthz", noAuth: true}, nil, 0)
	return err
}

// workerError adds the worker sentinel that matches a refusal's status.
func workerError(err error) error {
	var st *v1.Status
	if !errors.As(err, &st) {
		return err
	}
	switch {
	case st.Code == http.StatusInsufficientStorage || st.Reason == v1.StatusReasonInsufficientStorage:
		return fmt.Errorf("%w: %w", ErrInsufficientStorage, err)
	case st.Code == http.StatusServiceUnavailable || st.Reason == v1.StatusReasonServiceUnavailable:
		return fmt.Errorf("%w: %w", ErrNotReady, err)
	}
	return err
}
