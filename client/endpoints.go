package client

import (
	"context"
	"net/http"
	"net/url"

	v1 "github.com/minkube/minkube/apis/v1"
)

// EndpointsOptions chooses the services ListEndpoints returns.
type EndpointsOptions struct {
	// Service keeps the service of that name only.
	Service string
	// Task keeps the service the Task of that name belongs to.
	Task string
}

// ListEndpoints returns the services of the cluster as its DNS serves
// them, with the cluster zone's domain.
func (c *Client) ListEndpoints(ctx context.Context, opts EndpointsOptions) (*v1.EndpointsList, error) {
	q := url.Values{}
	if opts.Service != "" {
		q.Set("service", opts.Service)
	}
	if opts.Task != "" {
		q.Set("task", opts.Task)
	}
	var list v1.EndpointsList
	if _, err := c.r.call(ctx, request{method: http.MethodGet, path: "/api/v1/endpoints", query: q}, &list, maxListBytes); err != nil {
		return nil, err
	}
	return &list, nil
}
