package workerd

import (
	"context"
	"sync"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
)

// puller runs image pulls off the tasks' sync path: one pull per image at a
// time, shared by every task that waits for it, each woken when it ends.
type puller struct {
	rt       runtime.Runtime
	wake     func(uid string)
	duration pullMetrics

	mu       sync.Mutex
	inFlight map[string]*pull // by image reference
	wg       sync.WaitGroup
}

// pull is one pull of an image. done closes when it ends; err is then set.
type pull struct {
	image   string
	done    chan struct{}
	err     error
	waiters map[string]struct{} // task uids to wake
}

func newPuller(rt runtime.Runtime, wake func(uid string), duration pullMetrics) *puller {
	return &puller{rt: rt, wake: wake, duration: duration, inFlight: map[string]*pull{}}
}

// request returns the pull of image under way, or starts one under ctx,
// and wakes uid when it ends.
func (p *puller) request(ctx context.Context, image, uid string) *pull {
	p.mu.Lock()
	defer p.mu.Unlock()
	pl, ok := p.inFlight[image]
	if !ok {
		pl = &pull{image: image, done: make(chan struct{}), waiters: map[string]struct{}{}}
		p.inFlight[image] = pl
		p.wg.Go(func() { p.run(ctx, pl) })
	}
	pl.waiters[uid] = struct{}{}
	return pl
}

func (p *puller) run(ctx context.Context, pl *pull) {
	began := time.Now()
	err := p.rt.EnsureImage(ctx, pl.image)
	took := p.duration.ok
	if err != nil {
		took = p.duration.failed
	}
	took.Observe(time.Since(began).Seconds())
	p.mu.Lock()
	delete(p.inFlight, pl.image)
	pl.err = err
	close(pl.done)
	waiters := pl.waiters
	pl.waiters = nil
	p.mu.Unlock()
	for uid := range waiters {
		p.wake(uid)
	}
}

// wait returns once every pull has ended; the context given to request
// must have ended first.
func (p *puller) wait() { p.wg.Wait() }

// state says where a task's pull stands: not asked for (nil), under way,
// or ended (ok, or failed with err).
func (pl *pull) state() (imageState, error) {
	if pl == nil {
		return imageUnknown, nil
	}
	select {
	case <-pl.done:
		if pl.err != nil {
			return imageUnknown, pl.err
		}
		return imageReady, nil
	default:
		return imagePulling, nil
	}
}
