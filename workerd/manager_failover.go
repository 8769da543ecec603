package workerd

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/client"
)

// ManagerEndpoints gives the base URLs of the managers to try, best first:
// the ordered SRV set of a dns+srv:// address (discovery.SRVEndpoints), or
// any other list that can be looked up again.
type ManagerEndpoints interface {
	// Endpoints returns the current URLs, best first, without asking
	// anything.
	Endpoints() []string
	// Refresh looks the URLs up again, after a failure, and returns them.
	// On an error it may still return the last good URLs.
	Refresh(ctx context.Context) ([]string, error)
}

// FailoverManager is a Manager over several managers: a call goes to the
// manager that last answered; when that one cannot be reached, the
// endpoints are looked up again and the call goes to each other manager in
// turn until one answers. Only an unreachable manager, or one that says it
// is unavailable (503), is passed over: any other answer is the cluster's.
type FailoverManager struct {
	endpoints ManagerEndpoints
	dial      func(url string) (Manager, error)

	mu      sync.Mutex
	current string             // the URL that last answered
	clients map[string]Manager // by URL
}

var _ Manager = (*FailoverManager)(nil)

// NewFailoverManager returns a Manager over the managers eps lists, each
// reached through a client dial makes for its URL.
func NewFailoverManager(eps ManagerEndpoints, dial func(url string) (Manager, error)) *FailoverManager {
	return &FailoverManager{endpoints: eps, dial: dial, clients: map[string]Manager{}}
}

// RegisterWorker implements Manager.
func (f *FailoverManager) RegisterWorker(ctx context.Context, joinToken string, req v1.RegisterRequest) (*v1.RegisterResponse, error) {
	var out *v1.RegisterResponse
	err := f.do(ctx, func(m Manager) (err error) {
		out, err = m.RegisterWorker(ctx, joinToken, req)
		return err
	})
	return out, err
}

// ReportStatus implements Manager.
func (f *FailoverManager) ReportStatus(ctx context.Context, worker string, report *v1.StatusReport) (*v1.StatusReply, error) {
	var out *v1.StatusReply
	err := f.do(ctx, func(m Manager) (err error) {
		out, err = m.ReportStatus(ctx, worker, report)
		return err
	})
	return out, err
}

// WorkerTasks implements Manager.
func (f *FailoverManager) WorkerTasks(ctx context.Context, name string) (*v1.TaskList, error) {
	var out *v1.TaskList
	err := f.do(ctx, func(m Manager) (err error) {
		out, err = m.WorkerTasks(ctx, name)
		return err
	})
	return out, err
}

// Current returns the URL of the manager that last answered, "" before any.
func (f *FailoverManager) Current() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// do runs call against the managers in turn (see FailoverManager).
func (f *FailoverManager) do(ctx context.Context, call func(Manager) error) error {
	tried := map[string]bool{}
	var last error
	urls := f.order(f.endpoints.Endpoints())
	for round := 0; round < 2; round++ {
		if round == 1 || len(urls) == 0 {
			var err error
			if urls, err = f.endpoints.Refresh(ctx); len(urls) == 0 {
				if err == nil {
					err = errors.New("no manager endpoints")
				}
				return errors.Join(last, fmt.Errorf("find the managers: %w", err))
			}
			urls = f.order(urls)
		}
		for _, url := range urls {
			if tried[url] {
				continue
			}
			tried[url] = true
			m, err := f.client(url)
			if err != nil {
				last = err
				continue
			}
			err = call(m)
			if !passOver(err) {
				f.mu.Lock()
				f.current = url
				f.mu.Unlock()
				return err
			}
			last = err
			if ctx.Err() != nil {
				return last
			}
		}
	}
	if len(tried) > 1 {
		return fmt.Errorf("none of %d managers answered; last: %w", len(tried), last)
	}
	return last
}

// order puts the manager that last answered first, when it is listed.
func (f *FailoverManager) order(urls []string) []string {
	f.mu.Lock()
	cur := f.current
	f.mu.Unlock()
	if i := slices.Index(urls, cur); i > 0 {
		urls = slices.Clone(urls)
		urls = append([]string{cur}, slices.Delete(urls, i, i+1)...)
	}
	return urls
}

func (f *FailoverManager) client(url string) (Manager, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m, ok := f.clients[url]; ok {
		return m, nil
	}
	m, err := f.dial(url)
	if err != nil {
		return nil, err
	}
	f.clients[url] = m
	return m, nil
}

// passOver reports whether err says to try another manager: this one did
// not answer, or said it cannot serve.
func passOver(err error) bool {
	var unreachable *client.UnreachableError
	return errors.As(err, &unreachable) || client.ReasonOf(err) == v1.StatusReasonServiceUnavailable
}
