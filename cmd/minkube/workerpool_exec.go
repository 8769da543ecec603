package main

import (
	"context"
	"io"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ExecTask implements apiserver.WorkerExec.
func (p *workerPool) ExecTask(ctx context.Context, w *v1.Worker, cred *v1.Credential, uid string, opts v1.ExecOptions) (io.ReadWriteCloser, error) {
	c, err := p.client(w, cred)
	if err != nil {
		return nil, err
	}
	return c.ExecTask(ctx, uid, opts)
}
