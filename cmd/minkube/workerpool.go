package main

import (
	"context"
	"errors"
	"io"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
	"github.com/minkube/minkube/controllers/scheduler"
)

// workerPool reaches workers' APIs for the scheduler and the apiserver,
// keeping one client per worker address and token. It verifies each
// worker against the cluster CA and the worker's name, which its
// certificate is issued for: another worker's certificate does not pass.
type workerPool struct {
	caPEM   string
	mu      sync.Mutex
	clients map[string]pooledClient // by worker name
}

// pooledClient is a worker's client, for the address and token of the
// registration it was made for.
type pooledClient struct {
	address, token string
	c              *client.WorkerClient
}

func newWorkerPool(caPEM []byte) *workerPool {
	return &workerPool{caPEM: string(caPEM), clients: map[string]pooledClient{}}
}

func (p *workerPool) client(w *v1.Worker, cred *v1.Credential) (*client.WorkerClient, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pc, ok := p.clients[w.Metadata.Name]; ok && pc.address == w.Spec.Address && pc.token == cred.ManagerToken {
		return pc.c, nil
	}
	delete(p.clients, w.Metadata.Name) // the client of an older registration
	c, err := client.NewWorkerClient(w.Spec.Address, cred.ManagerToken,
		client.WithTLS(client.TLS{CAData: p.caPEM, ServerName: w.Metadata.Name}))
	if err != nil {
		return nil, err
	}
	p.clients[w.Metadata.Name] = pooledClient{address: w.Spec.Address, token: cred.ManagerToken, c: c}
	return c, nil
}

// AssignTask implements scheduler.WorkerAPI.
func (p *workerPool) AssignTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, t *v1.Task, answer bool) (*v1.TaskReport, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	_, first, err := c.AssignTask(ctx, t, answer)
	return first, pushError(err)
}

// pushError says what a push's error means to the scheduler.
func pushError(err error) error {
	var st *v1.Status
	switch {
	case err == nil:
		return nil
	case errors.Is(err, client.ErrInsufficientStorage):
		return errors.Join(scheduler.ErrInsufficientStorage, err)
	case errors.Is(err, client.ErrNotReady):
		return errors.Join(scheduler.ErrWorkerNotReady, err)
	case errors.As(err, &st) && st.Code >= 400 && st.Code < 500:
		return errors.Join(scheduler.ErrPushRejected, err)
	case client.NotSent(err):
		return errors.Join(scheduler.ErrNotDelivered, err)
	}
	return err // a timeout, a broken connection, a 5xx: the worker may hold it
}

// Reach implements apiserver.WorkerReach with the worker's stats: the
// cheapest call that goes the way a push goes (the same client, so the
// same keep-alive connection, the worker's certificate and the manager
// token).
func (p *workerPool) Reach(ctx context.Context, w *v1.Worker, cred *v1.Credential) error {
	_, err := p.Stats(ctx, w, cred)
	return err
}

// StopTask implements scheduler.WorkerAPI.
func (p *workerPool) StopTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, uid string) error {
	c, err := p.client(w, cred)
	if err != nil {
		return err
	}
	if err := c.StopTask(ctx, uid); err != nil && !client.IsNotFound(err) {
		return err
	}
	return nil
}

// TaskLogs implements apiserver.WorkerLogs.
func (p *workerPool) TaskLogs(ctx context.Context, w *v1.Worker, cred *v1.Credential, uid string, opts v1.LogOptions) (io.ReadCloser, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	return c.TaskLogs(ctx, uid, opts)
}

// Stats implements apiserver.WorkerStats.
func (p *workerPool) Stats(ctx context.Context, w *v1.Worker, cred *v1.Credential) (*v1.WorkerStats, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	return c.Stats(ctx)
}

// TaskUsage implements apiserver.WorkerStats.
func (p *workerPool) TaskUsage(ctx context.Context, w *v1.Worker, cred *v1.Credential) (*v1.TaskUsageList, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	return c.TaskUsage(ctx)
}

// Metrics implements apiserver.WorkerStats.
func (p *workerPool) Metrics(ctx context.Context, w *v1.Worker, cred *v1.Credential) (io.ReadCloser, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	return c.Metrics(ctx)
}
