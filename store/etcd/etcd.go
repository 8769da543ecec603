package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/namespace"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/minkube/minkube/store"
)

// Defaults for Options.
const (
	// DefaultPrefix is the key prefix every key of the store lives under
	// in etcd, so that one etcd cluster can hold other data too.
	DefaultPrefix = "/minkube"
	// DefaultDialTimeout bounds the first connection to etcd.
	DefaultDialTimeout = 5 * time.Second
	// DefaultRequestTimeout bounds one request. A request that gets no
	// answer in time fails with store.ErrUnavailable: an etcd cluster
	// without quorum does not refuse writes, it never commits them.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultHealthInterval is the period of the quorum probe (Health).
	DefaultHealthInterval = time.Second
)

// listPage is how many keys a List reads per request; the pages are read
// at one revision, so together they are one consistent list.
const listPage = 1000

// Options configure Open.
type Options struct {
	// Endpoints are the client URLs of the etcd members
	// ("http://127.0.0.1:2379"). At least one is required.
	Endpoints []string
	// TLS, when set, is used for every connection to etcd (CA, client
	// certificate).
	TLS *tls.Config
	// Prefix is the key prefix of the store in etcd; DefaultPrefix when
	// empty. It must not end with "/".
	Prefix string
	// DialTimeout bounds the first connection; DefaultDialTimeout when 0.
	DialTimeout time.Duration
	// RequestTimeout bounds each request; DefaultRequestTimeout when 0.
	RequestTimeout time.Duration
	// HealthInterval is the period of the quorum probe behind Health;
	// DefaultHealthInterval when 0.
	HealthInterval time.Duration
	// Logger receives the store's logs. nil means slog.Default().
	Logger *slog.Logger
}

// Store is a store.Store kept in etcd. It is safe for concurrent use.
// Create it with Open and release it with Close.
type Store struct {
	cli     *clientv3.Client
	kv      clientv3.KV
	watcher clientv3.Watcher
	lease   clientv3.Lease
	prefix  string
	timeout time.Duration
	log     *slog.Logger

	health atomic.Pointer[error] // nil pointer or nil error: healthy

	mu      sync.RWMutex
	closed  bool
	closing chan struct{}
	bg      sync.WaitGroup // watch and probe goroutines
	// life ends when Close starts; the probe runs under it.
	life    context.Context
	endLife context.CancelFunc
}

var _ store.Store = (*Store)(nil)

// Open connects to the etcd cluster at opts.Endpoints and checks that it
// answers a read within the dial timeout. It fails with an error naming
// the endpoints when none answers.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if len(opts.Endpoints) == 0 {
		return nil, errors.New("open etcd store: no endpoints")
	}
	for _, ep := range opts.Endpoints {
		if !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			return nil, fmt.Errorf("open etcd store: endpoint %q: must be an http:// or https:// URL", ep)
		}
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if strings.HasSuffix(opts.Prefix, "/") || !strings.HasPrefix(opts.Prefix, "/") {
		return nil, fmt.Errorf("open etcd store: prefix %q: must start with '/' and not end with it", opts.Prefix)
	}
	if opts.DialTimeout <= 0 {
		opts.DialTimeout = DefaultDialTimeout
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.HealthInterval <= 0 {
		opts.HealthInterval = DefaultHealthInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   opts.Endpoints,
		TLS:         opts.TLS,
		DialTimeout: opts.DialTimeout,
		// The client's own retry warnings would flood the log while a
		// member is down; the store reports what matters.
		Logger:               zap.NewNop(),
		DialKeepAliveTime:    5 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		Context:              context.WithoutCancel(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("open etcd store at %s: %w", strings.Join(opts.Endpoints, ","), err)
	}
	// Every key, lease key and election key of the store lives under the
	// prefix: the namespaced client is what the store, its elections and
	// its registry use.
	cli.KV = namespace.NewKV(cli.KV, opts.Prefix)
	cli.Watcher = namespace.NewWatcher(cli.Watcher, opts.Prefix)
	cli.Lease = namespace.NewLease(cli.Lease, opts.Prefix)
	s := &Store{
		cli:     cli,
		kv:      cli.KV,
		watcher: cli.Watcher,
		lease:   cli.Lease,
		prefix:  opts.Prefix,
		timeout: opts.RequestTimeout,
		log:     opts.Logger.With("store", "etcd", "endpoints", strings.Join(opts.Endpoints, ",")),
		closing: make(chan struct{}),
	}
	s.life, s.endLife = context.WithCancel(context.WithoutCancel(ctx))
	pctx, cancel := context.WithTimeout(ctx, opts.DialTimeout)
	defer cancel()
	if _, err := s.cli.KV.Get(pctx, "/", clientv3.WithCountOnly()); err != nil {
		s.endLife()
		_ = cli.Close()
		return nil, fmt.Errorf("open etcd store at %s: no answer within %s: %w", strings.Join(opts.Endpoints, ","), opts.DialTimeout, s.mapErr(ctx, err))
	}
	s.bg.Add(1)
	go s.probe(opts.HealthInterval)
	return s, nil
}

// Client returns the etcd client, namespaced under the store's prefix.
// Elections and the managers registry are built on it.
func (s *Store) Client() *clientv3.Client { return s.cli }

// Prefix returns the etcd key prefix the store lives under.
func (s *Store) Prefix() string { return s.prefix }

// Get returns the key's value. It returns store.ErrNotFound when the key
// does not exist, store.ErrUnavailable when etcd does not answer, and
// store.ErrClosed after Close.
func (s *Store) Get(ctx context.Context, key string) (store.KeyValue, error) {
	var resp *clientv3.GetResponse
	err := s.do(ctx, func(ctx context.Context) (err error) {
		resp, err = s.kv.Get(ctx, key)
		return err
	})
	if err != nil {
		return store.KeyValue{}, fmt.Errorf("get %s: %w", key, err)
	}
	if len(resp.Kvs) == 0 {
		return store.KeyValue{}, fmt.Errorf("get %s: %w", key, store.ErrNotFound)
	}
	kv := resp.Kvs[0]
	return store.KeyValue{Key: key, Value: kv.Value, Revision: kv.ModRevision}, nil
}

// List returns every key with the prefix in key order, and the revision
// the list was read at. Large lists are read in pages, all at that
// revision.
func (s *Store) List(ctx context.Context, prefix string) ([]store.KeyValue, int64, error) {
	var (
		kvs []store.KeyValue
		rev int64
	)
	end := clientv3.GetPrefixRangeEnd(prefix)
	if prefix == "" {
		end = "\x00"
	}
	from := prefix
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(listPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		var resp *clientv3.GetResponse
		err := s.do(ctx, func(ctx context.Context) (err error) {
			resp, err = s.kv.Get(ctx, from, opts...)
			return err
		})
		if err != nil {
			return nil, 0, fmt.Errorf("list %s: %w", prefix, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			kvs = append(kvs, store.KeyValue{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision})
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return kvs, rev, nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

// Create stores a new key and returns the revision of the write. It
// returns store.ErrExists when the key exists.
func (s *Store) Create(ctx context.Context, key string, value []byte) (int64, error) {
	return s.write(ctx, nil, writeOp{kind: opCreate, key: key, value: value})
}

// Update replaces the value of an existing key and returns the revision of
// the write; when rev is not 0 it is a compare-and-swap on the key's
// revision (etcd's ModRevision). It returns store.ErrConflict or
// store.ErrNotFound.
func (s *Store) Update(ctx context.Context, key string, value []byte, rev int64) (int64, error) {
	return s.write(ctx, nil, writeOp{kind: opUpdate, key: key, value: value, want: rev})
}

// Delete removes the key, as a compare-and-swap when rev is not 0. It
// returns store.ErrConflict or store.ErrNotFound.
func (s *Store) Delete(ctx context.Context, key string, rev int64) error {
	_, err := s.write(ctx, nil, writeOp{kind: opDelete, key: key, want: rev})
	return err
}

// Compact discards etcd's history below rev: a Watch that needs changes
// from before rev then returns store.ErrCompacted. It compacts the whole
// etcd keyspace, not only the store's prefix.
func (s *Store) Compact(ctx context.Context, rev int64) error {
	err := s.do(ctx, func(ctx context.Context) error {
		_, err := s.cli.Compact(ctx, rev, clientv3.WithCompactPhysical())
		return err
	})
	if err != nil {
		return fmt.Errorf("compact to revision %d: %w", rev, err)
	}
	return nil
}

// Revision returns etcd's current revision.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var resp *clientv3.GetResponse
	err := s.do(ctx, func(ctx context.Context) (err error) {
		resp, err = s.kv.Get(ctx, "/", clientv3.WithCountOnly())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("revision: %w", err)
	}
	return resp.Header.Revision, nil
}

// Health returns nil while the last quorum probe succeeded, and an error
// wrapping store.ErrUnavailable that says why otherwise: etcd has lost
// its quorum, or no endpoint answers. The probe is a linearizable read
// that needs a leader, made every Options.HealthInterval.
func (s *Store) Health() error {
	if p := s.health.Load(); p != nil {
		return *p
	}
	return nil
}

// probe keeps Health current until Close.
func (s *Store) probe(every time.Duration) {
	defer s.bg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		ctx, cancel := context.WithTimeout(clientv3.WithRequireLeader(s.life), max(2*every, 2*time.Second))
		_, err := s.kv.Get(ctx, "/", clientv3.WithCountOnly())
		cancel()
		if s.life.Err() != nil {
			return
		}
		var herr error
		if err != nil {
			herr = fmt.Errorf("etcd quorum probe: %w", s.mapErr(s.life, err))
		}
		if prev := s.Health(); (prev == nil) != (herr == nil) {
			if herr != nil {
				s.log.Error("etcd is unavailable; writes fail and cached reads may be stale", "err", herr)
			} else {
				s.log.Info("etcd is available again")
			}
		}
		s.health.Store(&herr)
		select {
		case <-s.closing:
			return
		case <-t.C:
		}
	}
}

// Close ends every watch (their channels close) and closes the client.
// Methods called after Close return store.ErrClosed; a second Close
// returns nil.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	s.endLife()
	s.mu.Unlock()
	s.bg.Wait()
	if err := s.cli.Close(); err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("close etcd store: %w", err)
	}
	return nil
}

// do runs fn with the request timeout, unless ctx has ended or the store
// is closed, and maps its error onto the store's sentinels.
func (s *Store) do(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return store.ErrClosed
	}
	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := fn(rctx); err != nil {
		return s.mapErr(ctx, err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// mapErr turns an etcd client error into one wrapping the store's
// sentinels. ctx is the caller's: when it has ended, its error is the
// answer; when only the request timeout has, etcd did not answer in time.
func (s *Store) mapErr(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	if s.isClosed() {
		return store.ErrClosed
	}
	switch {
	case errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %w", store.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrNoLeader), errors.Is(err, rpctypes.ErrGRPCNoLeader):
		return fmt.Errorf("%w: etcd has lost quorum (no leader); writes cannot be committed until a majority of members is back", store.ErrUnavailable)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, rpctypes.ErrTimeout),
		errors.Is(err, rpctypes.ErrTimeoutDueToLeaderFail), errors.Is(err, rpctypes.ErrTimeoutDueToConnectionLost),
		errors.Is(err, rpctypes.ErrLeaderChanged):
		return fmt.Errorf("%w: etcd did not answer in time; it may have lost quorum or be unreachable: %v", store.ErrUnavailable, err)
	}
	if st, ok := status.FromError(err); ok && (st.Code() == codes.Unavailable || st.Code() == codes.DeadlineExceeded) {
		return fmt.Errorf("%w: %s", store.ErrUnavailable, st.Message())
	}
	return err
}
