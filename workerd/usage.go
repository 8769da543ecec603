package workerd

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/workerd/runtime"
)

// usageConcurrency bounds the stats calls one sampling pass has in flight.
const usageConcurrency = 4

// usageSampler reads the CPU time and working set of every running task
// container each UsageInterval, as the kubelet's housekeeping does, so
// that GET /api/v1/stats/tasks and /metrics answer at once from the last
// readings. CPU in cores comes from two readings of the same container.
type usageSampler struct {
	rt       runtime.Runtime
	interval time.Duration

	mu    sync.Mutex
	byUID map[string]taskUsage
}

// taskUsage is the last two readings of one task's container.
type taskUsage struct {
	name, containerID string
	cur, prev         runtime.Usage // prev is zero until a second reading
}

func newUsageSampler(rt runtime.Runtime, interval time.Duration) *usageSampler {
	return &usageSampler{rt: rt, interval: interval, byUID: map[string]taskUsage{}}
}

// run samples at once, then every interval, until ctx ends.
func (u *usageSampler) run(ctx context.Context, running func() []runningContainer) error {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		u.sample(ctx, running())
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// sample reads every container once and forgets the tasks no longer
// running. A container that cannot be read keeps no figures: a reading
// is never carried over as if it were fresh.
func (u *usageSampler) sample(ctx context.Context, cs []runningContainer) {
	readings := make([]runtime.Usage, len(cs))
	ok := make([]bool, len(cs))
	sem := make(chan struct{}, usageConcurrency)
	var wg sync.WaitGroup
	for i, c := range cs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r, err := u.rt.Stats(ctx, c.containerID)
			if err == nil || !errors.Is(err, context.Canceled) {
				readings[i], ok[i] = r, err == nil
			}
		})
	}
	wg.Wait()
	u.mu.Lock()
	defer u.mu.Unlock()
	next := make(map[string]taskUsage, len(cs))
	for i, c := range cs {
		if !ok[i] {
			continue
		}
		tu := taskUsage{name: c.name, containerID: c.containerID, cur: readings[i]}
		if old, had := u.byUID[c.uid]; had && old.containerID == c.containerID && readings[i].Read.After(old.cur.Read) &&
			readings[i].CPUSeconds >= old.cur.CPUSeconds {
			tu.prev = old.cur
		}
		next[c.uid] = tu
	}
	u.byUID = next
}

// list returns the last readings of every running task, sorted by name.
func (u *usageSampler) list(worker string) []v1.TaskUsage {
	u.mu.Lock()
	defer u.mu.Unlock()
	out := make([]v1.TaskUsage, 0, len(u.byUID))
	for uid, tu := range u.byUID {
		out = append(out, tu.usage(uid, worker))
	}
	slices.SortFunc(out, func(a, b v1.TaskUsage) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// usage is the API form of the readings.
func (tu taskUsage) usage(uid, worker string) v1.TaskUsage {
	out := v1.TaskUsage{Name: tu.name, UID: uid, Worker: worker, CPUSeconds: tu.cur.CPUSeconds, Memory: tu.cur.MemoryBytes, Timestamp: tu.cur.Read.UTC()}
	if !tu.prev.Read.IsZero() {
		window := tu.cur.Read.Sub(tu.prev.Read)
		cores := (tu.cur.CPUSeconds - tu.prev.CPUSeconds) / window.Seconds()
		out.CPU, out.Window = &cores, v1.Duration{Duration: window}
	}
	return out
}
