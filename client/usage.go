package client

import (
	"context"
	"io"
	"net/http"

	v1 "github.com/minkube/minkube/apis/v1"
)

// TaskUsage returns the CPU and memory of the running tasks that opts
// selects, as their workers read them (mkctl top tasks). Workers that could
// not be asked are named in the list's Errors.
func (c *Client) TaskUsage(ctx context.Context, opts ListOptions) (*v1.TaskUsageList, error) {
	var list v1.TaskUsageList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/usage/tasks", query: opts.query()}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// WorkerUsage returns every worker's CPU, memory and disk, sampled when
// the manager asked (mkctl top workers).
func (c *Client) WorkerUsage(ctx context.Context) (*v1.WorkerUsageList, error) {
	var list v1.WorkerUsageList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/usage/workers"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// TaskUsage returns the worker's last readings of its running task
// containers.
func (c *WorkerClient) TaskUsage(ctx context.Context) (*v1.TaskUsageList, error) {
	var list v1.TaskUsageList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/stats/tasks"}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}

// Metrics opens the worker's /metrics, in the Prometheus text format. The
// caller closes it.
func (c *WorkerClient) Metrics(ctx context.Context) (io.ReadCloser, error) {
	resp, err := c.r.send(ctx, request{method: http.MethodGet, path: "/metrics"})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SignInCode asks for a one-time code that signs a browser in to the
// dashboard (mkctl dashboard); open Server()+code.Path.
func (c *Client) SignInCode(ctx context.Context) (*v1.SignInCode, error) {
	var out v1.SignInCode
	if _, err := c.r.call(ctx, request{method: http.MethodPost, path: "/api/v1/dashboard/codes"}, &out, maxObjectBytes); err != nil {
		return nil, err
	}
	return &out, nil
}
