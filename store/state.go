package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	v1 "github.com/minkube/minkube/apis/v1"
)

// Key prefixes of the manager's kinds.
const (
	TasksPrefix       = "/tasks/"
	WorkersPrefix     = "/workers/"
	CredentialsPrefix = "/credentials/"
)

// Task indexes kept by State's task cache.
const (
	// IndexWorker indexes tasks by the worker they are assigned to.
	IndexWorker = "worker"
	// IndexUnassigned holds, under the value "", every task that waits for
	// a worker: no worker, not terminal, not being deleted.
	IndexUnassigned = "unassigned"
	// IndexTokenHash indexes credentials by the hash of their token.
	IndexTokenHash = "tokenHash"
)

// State is the manager's typed view of a Store: a Resource per kind to
// write through and a Cache per kind to read from. The apiserver and the
// controllers share one State.
type State struct {
	Store       Store
	Tasks       *Resource[v1.Task, *v1.Task]
	Workers     *Resource[v1.Worker, *v1.Worker]
	Credentials *Resource[v1.Credential, *v1.Credential]
	Events      *Resource[v1.Event, *v1.Event]

	TaskCache       *Cache[v1.Task, *v1.Task]
	WorkerCache     *Cache[v1.Worker, *v1.Worker]
	CredentialCache *Cache[v1.Credential, *v1.Credential]

	// events is the writer of the events recorders queue, run by Start.
	events *eventQueue
	// eventIndex knows the stored events by name and object; the events
	// themselves are read from the store (ListEvents).
	eventIndex *eventIndex
}

// NewState builds the resources and caches over s. Handlers and indexes may
// be added to the caches until Start.
func NewState(s Store, logger *slog.Logger) *State {
	if logger == nil {
		logger = slog.Default()
	}
	st := &State{
		Store:       s,
		Tasks:       NewResource[v1.Task](s, TasksPrefix, "task"),
		Workers:     NewResource[v1.Worker](s, WorkersPrefix, "worker"),
		Credentials: NewResource[v1.Credential](s, CredentialsPrefix, "credential"),
		Events:      NewResource[v1.Event](s, EventsPrefix, "event"),
	}
	st.TaskCache = NewCache(st.Tasks, logger.With("cache", "tasks"))
	st.WorkerCache = NewCache(st.Workers, logger.With("cache", "workers"))
	st.CredentialCache = NewCache(st.Credentials, logger.With("cache", "credentials"))
	st.eventIndex = newEventIndex(s, logger.With("index", "events"))
	st.TaskCache.compact = new(compactor).task
	st.events = newEventQueue(st, logger)
	st.CredentialCache.AddIndex(IndexTokenHash, func(c *v1.Credential) []string { return []string{c.TokenHash} })
	st.TaskCache.AddIndex(IndexWorker, func(t *v1.Task) []string {
		if t.Status.Worker == "" {
			return nil
		}
		return []string{t.Status.Worker}
	})
	st.TaskCache.AddIndex(IndexUnassigned, func(t *v1.Task) []string {
		if t.Status.Worker != "" || t.Status.Phase.Terminal() || t.Metadata.DeletionTimestamp != nil {
			return nil
		}
		return []string{""}
	})
	return st
}

// Start runs the caches and the event writer until ctx ends, and returns
// after they have stopped: the caches, and the writer once it has written
// the events still queued (recorders write their own from then on). The
// store must stay open until Start returns.
func (st *State) Start(ctx context.Context) error {
	if err := st.events.start(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	starts := []func(context.Context) error{st.TaskCache.Start, st.WorkerCache.Start, st.CredentialCache.Start, st.eventIndex.Start, st.events.run}
	errs := make([]error, len(starts))
	for i, start := range starts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = start(ctx)
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// WaitForSync returns once every cache, and the event index, holds its
// first list.
func (st *State) WaitForSync(ctx context.Context) error {
	for _, wait := range []func(context.Context) error{st.TaskCache.WaitForSync, st.WorkerCache.WaitForSync, st.CredentialCache.WaitForSync, st.eventIndex.WaitForSync} {
		if err := wait(ctx); err != nil {
			return err
		}
	}
	return nil
}

// HasSynced reports whether every cache, and the event index, holds its
// first list.
func (st *State) HasSynced() bool {
	return st.TaskCache.HasSynced() && st.WorkerCache.HasSynced() && st.CredentialCache.HasSynced() && st.eventIndex.HasSynced()
}
