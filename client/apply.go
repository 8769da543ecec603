package client

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	json "github.com/goccy/go-json"

	v1 "github.com/minkube/minkube/apis/v1"
)

// ErrNoBatchApply is what ApplyTasks returns, having applied nothing, when
// the manager has no POST /api/v1/apply (a manager older than it): apply
// the Tasks one at a time with ApplyTask instead.
var ErrNoBatchApply = errors.New("the manager applies Tasks one at a time only")

// ApplyItem is what became of one Task of ApplyTasks: the Task as stored
// and what was done, or the error its own ApplyTask would have returned.
type ApplyItem struct {
	Task   *v1.Task
	Result ApplyResult
	Err    error
}

// Bounds of one request of ApplyTasks. The body also stays within what the
// manager accepts (1 MiB): a batch holds as many Tasks as fit, at most
// applyBatchItems, so that lines come back as a long apply goes on.
const (
	applyBatchItems = 250
	applyBatchBytes = 1<<20 - 1<<10 // room for the TaskList around the items
	// applyInFlight is how many batches are sent at once: the manager
	// applies one while the next is on its way.
	applyInFlight = 2
	// applyRetries bounds how many times the Tasks of a batch answered 503
	// (the manager's store did not answer in time) are sent again, the
	// first after applyRetryWait, each wait twice the last: about 4 s
	// in all, what an etcd election takes.
	applyRetries   = 4
	applyRetryWait = 250 * time.Millisecond
)

// ApplyTasks applies every Task of tasks as ApplyTask would apply each,
// in batches of many Tasks a request (POST /api/v1/apply), and calls
// report with each Task's outcome, in the order of tasks, as the batches
// are answered. A batch fails over between managers as ApplyTask does.
// The Tasks of a batch the manager answered 503 for (its store did not
// answer in time) are sent again after a pause, a few times, as an
// ApplyTask answered 503 is made again on the next manager. A batch that
// fails as a whole (the managers unreachable, the token refused) reports
// its error for each of its Tasks; once ctx ends, the Tasks not yet sent
// report ctx's error. It returns ErrNoBatchApply, before it reports
// anything, when the manager does not apply batches. tasks are not
// modified.
func (c *Client) ApplyTasks(ctx context.Context, tasks []*v1.Task, opts ApplyOptions, report func(i int, item ApplyItem)) error {
	q := opts.query()
	if len(tasks) == 0 {
		return nil
	}
	type answer struct {
		b     applyBatch
		items []ApplyItem
		err   error
	}
	send := func(b applyBatch) chan answer {
		ch := make(chan answer, 1)
		go func() {
			items, err := c.applyBatch(ctx, b, q)
			if err == nil {
				c.retryUnavailable(ctx, tasks[b.start:b.start+b.n], items, q)
			}
			ch <- answer{b, items, err}
		}()
		return ch
	}
	deliver := func(a answer) {
		for k := range a.b.n {
			if a.err != nil {
				report(a.b.start+k, ApplyItem{Err: a.err})
			} else {
				report(a.b.start+k, a.items[k])
			}
		}
	}
	// The first batch goes alone: its answer says whether the manager
	// applies batches at all.
	b, err := packBatch(tasks, 0)
	if err != nil {
		return err
	}
	a := <-send(b)
	if a.err != nil && IsNotFound(a.err) {
		return ErrNoBatchApply
	}
	deliver(a)
	next := b.n // the first Task not yet sent
	var inFlight []chan answer
	for next < len(tasks) || len(inFlight) > 0 {
		for len(inFlight) < applyInFlight && next < len(tasks) && ctx.Err() == nil {
			b, err := packBatch(tasks, next)
			if err != nil {
				return err
			}
			next += b.n
			inFlight = append(inFlight, send(b))
		}
		if len(inFlight) == 0 { // ctx ended: nothing more is sent
			for i := next; i < len(tasks); i++ {
				report(i, ApplyItem{Err: ctx.Err()})
			}
			return nil
		}
		a := <-inFlight[0]
		inFlight = inFlight[1:]
		deliver(a)
	}
	return nil
}

// query is the apply's parameters, as PUT /api/v1/tasks/NAME and POST
// /api/v1/apply take them.
func (o ApplyOptions) query() url.Values {
	q := url.Values{}
	if o.DryRun {
		q.Set("dryRun", "All")
	}
	if o.Force {
		q.Set("force", "true")
	}
	return q
}

// applyBatch is consecutive Tasks of ApplyTasks from start, encoded as
// the TaskList of one request.
type applyBatch struct {
	start, n int
	body     []byte
}

// packBatch encodes the Tasks from start into one batch: as many as fit
// the bounds, and at least one.
func packBatch(tasks []*v1.Task, start int) (applyBatch, error) {
	var body bytes.Buffer
	body.WriteString(`{"apiVersion":"` + v1.APIVersion + `","kind":"` + v1.KindTaskList + `","items":[`)
	b := applyBatch{start: start}
	for i := start; i < len(tasks) && b.n < applyBatchItems; i++ {
		data, err := json.Marshal(withTaskKind(tasks[i]))
		if err != nil {
			return b, fmt.Errorf("encode task %q: %w", tasks[i].Metadata.Name, err)
		}
		if b.n > 0 && body.Len()+1+len(data) > applyBatchBytes {
			break
		}
		if b.n > 0 {
			body.WriteByte(',')
		}
		body.Write(data)
		b.n++
	}
	body.WriteString("]}")
	b.body = body.Bytes()
	return b, nil
}

// applyBatch sends one batch and returns an item per Task of it.
func (c *Client) applyBatch(ctx context.Context, b applyBatch, q url.Values) ([]ApplyItem, error) {
	var list v1.ApplyResultList
	req := request{method: http.MethodPost, path: "/api/v1/apply", query: q, rawBody: b.body, idempotent: true}
	if _, err := c.r.call(ctx, req, &list, maxListBytes); err != nil {
		return nil, err
	}
	if len(list.Items) != b.n {
		return nil, fmt.Errorf("the manager answered %d results for %d tasks", len(list.Items), b.n)
	}
	items := make([]ApplyItem, b.n)
	for k, it := range list.Items {
		switch {
		case it.Error != nil:
			items[k].Err = it.Error
		case it.Task == nil:
			items[k].Err = fmt.Errorf("the manager answered no task and no error for task %d of the batch", k)
		default:
			items[k] = ApplyItem{Task: it.Task, Result: ApplyResult(it.Result)}
		}
	}
	return items, nil
}

// retryUnavailable sends again the Tasks of a batch whose items say 503,
// a batch of them, up to applyRetries times with a growing pause, and
// puts what became of them in items. A retry that fails as a whole
// leaves the items it was for as they were.
func (c *Client) retryUnavailable(ctx context.Context, tasks []*v1.Task, items []ApplyItem, q url.Values) {
	wait := applyRetryWait
	for range applyRetries {
		var again []int
		for k, it := range items {
			if unavailable(it.Err) {
				again = append(again, k)
			}
		}
		if len(again) == 0 {
			return
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait *= 2
		sub := make([]*v1.Task, len(again))
		for j, k := range again {
			sub[j] = tasks[k]
		}
		b, err := packBatch(sub, 0) // a part of a batch that fitted fits
		if err != nil || b.n != len(sub) {
			return
		}
		got, err := c.applyBatch(ctx, b, q)
		if err != nil {
			return
		}
		for j, k := range again {
			items[k] = got[j]
		}
	}
}

// unavailable reports whether err is a manager's 503: it could not serve
// then, and may later.
func unavailable(err error) bool {
	var st *v1.Status
	return errors.As(err, &st) && st.Code == http.StatusServiceUnavailable
}
