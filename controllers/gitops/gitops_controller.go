package gitops

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"

	v1 "github.com/minkube/minkube/apis/v1"
	"github.com/minkube/minkube/store"
)

// Defaults of Options.
const (
	DefaultResync = time.Minute
	DefaultSettle = 200 * time.Millisecond
	DefaultPoll   = time.Second
)

// A burst of events that goes on for longer than maxSettleWindows settle
// windows gets a pass anyway, so that a file written without end cannot
// hold back the others.
const maxSettleWindows = 10

// writers bounds the store writes a pass has in flight; the store commits
// concurrent writes together.
const writers = 8

// Options configures the controller.
type Options struct {
	State *store.State
	// Dir is the manifests directory (--manifests-dir). Required; it need
	// not exist yet.
	Dir string
	// Resync is the period of the full rescan (--manifests-resync), which
	// reads every file again; default 1m.
	Resync time.Duration
	// Settle is how long the directory must be quiet after an event before
	// a pass reads it (--manifests-settle); default 200ms.
	Settle time.Duration
	// Poll is how often to look for the directory while it is missing, and
	// for changes where it cannot be watched; default 1s.
	Poll   time.Duration
	Logger *slog.Logger
}

// Controller keeps the store in step with the manifests directory. Build
// it with New before the store caches start, and run it with Start.
type Controller struct {
	opts   Options
	dir    string // absolute
	parent string // the directory holding dir; "" for the root
	st     *store.State
	log    *slog.Logger
	events *store.Recorder

	started atomic.Bool
	// afterWalk, when set (by tests), runs between a pass's walk of the
	// directory and its watches.
	afterWalk func()
	passes    atomic.Int64 // passes finished, for tests

	// kick wakes the sync loop; capacity 1.
	kick chan struct{}

	// mu guards what the watch goroutine and the cache handler share with
	// the sync loop.
	mu        sync.Mutex
	burst     burst           // events not yet looked at
	storeKick bool            // a wanted task was deleted
	wanted    map[string]bool // the names the last pass applied
	// awaitingFiles: the last pass found the directory empty at start
	// (or back after it was missing), so whether it records
	// DirectoryEmpty depends on the tasks the store holds.
	awaitingFiles bool
	dirs          map[string]bool // the watched directories

	// Owned by the sync loop.
	watcher  *fsnotify.Watcher
	watched  map[string]dirID
	files    map[string]*fileEntry // by path relative to dir
	unsteady map[string]fileSig    // files seen changing, by their last signature
	reread   map[string]bool       // files to read again whatever their signature
	problems map[problem]bool      // Warnings recorded and still true
	missing  bool
	// fresh: no manifest file has been seen since start or since the
	// directory was last missing.
	fresh bool
}

// burst collects the events that arrive while the directory settles.
type burst struct {
	first, last time.Time // zero first: no events
	all         bool
	files       map[string]bool // absolute paths
	trees       map[string]bool // absolute paths
}

// New returns the controller and registers its handler on the task
// cache; call it before the caches start. It returns an error when
// State or Dir is missing or a duration is negative.
func New(opts Options) (*Controller, error) {
	if opts.State == nil {
		return nil, errors.New("gitops: Options.State is required")
	}
	if opts.Dir == "" {
		return nil, errors.New("gitops: Options.Dir is required")
	}
	if opts.Resync < 0 || opts.Settle < 0 || opts.Poll < 0 {
		return nil, fmt.Errorf("gitops: resync %s, settle %s and poll %s must not be negative", opts.Resync, opts.Settle, opts.Poll)
	}
	if opts.Resync == 0 {
		opts.Resync = DefaultResync
	}
	if opts.Settle == 0 {
		opts.Settle = DefaultSettle
	}
	if opts.Poll == 0 {
		opts.Poll = DefaultPoll
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("gitops: manifests directory %s: %w", opts.Dir, err)
	}
	c := &Controller{
		opts:     opts,
		dir:      dir,
		st:       opts.State,
		log:      opts.Logger.With("controller", "gitops", "dir", dir),
		kick:     make(chan struct{}, 1),
		wanted:   map[string]bool{},
		watched:  map[string]dirID{},
		files:    map[string]*fileEntry{},
		unsteady: map[string]fileSig{},
		reread:   map[string]bool{},
		problems: map[problem]bool{},
		fresh:    true,
	}
	if p := filepath.Dir(dir); p != dir {
		c.parent = p
	}
	c.events = c.st.Recorder("gitops", c.log)
	c.st.TaskCache.AddHandler(func(ev store.CacheEvent[*v1.Task]) {
		c.mu.Lock()
		var look bool
		switch {
		case ev.Type == v1.Deleted:
			// A wanted task went: apply it again.
			look = c.wanted[ev.New.Metadata.Name]
		case c.awaitingFiles:
			// A task from the directory appeared while it is empty: the
			// DirectoryEmpty warning must count it.
			look = source(ev.New) != "" && source(ev.Old) == ""
		}
		if look {
			c.storeKick = true
		}
		c.mu.Unlock()
		if look {
			c.wake()
		}
	})
	return c, nil
}

// Start waits for the task cache to sync, then watches the directory and
// keeps the store in step with it until ctx ends. It returns nil once ctx
// has ended and its goroutines have stopped, or an error at once if it
// was already started. A directory that cannot be watched (inotify limits)
// is polled every Options.Poll instead.
func (c *Controller) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("gitops controller: already started")
	}
	if err := c.st.TaskCache.WaitForSync(ctx); err != nil {
		return nil // ctx ended
	}
	var wg sync.WaitGroup
	w, err := fsnotify.NewWatcher()
	if err != nil {
		c.log.Error("cannot watch the manifests directory; polling it instead", "every", c.opts.Poll, "err", err)
	} else {
		c.watcher = w
		wg.Go(func() { c.watchLoop(ctx, w) })
	}
	c.log.Info("syncing the manifests directory", "resync", c.opts.Resync, "settle", c.opts.Settle)
	c.loop(ctx)
	if w != nil {
		_ = w.Close()
	}
	wg.Wait()
	return nil
}

// wake nudges the sync loop without blocking.
func (c *Controller) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// notice records an event for the next pass.
func (c *Controller) notice(scope eventScope, path string) {
	now := time.Now()
	c.mu.Lock()
	b := &c.burst
	if b.first.IsZero() {
		b.first = now
		b.files, b.trees = map[string]bool{}, map[string]bool{}
	}
	b.last = now
	switch scope {
	case fileEvent:
		b.files[path] = true
	case treeEvent:
		b.trees[path] = true
	case allEvent:
		b.all = true
	}
	c.mu.Unlock()
	c.wake()
}

// trigger is what makes a pass run.
type trigger struct {
	due    bool
	burst  burst     // the events the pass covers
	waitTo time.Time // when a settling burst is due; zero for none
}

// take returns whether a pass is due for events or the store, and takes
// the events it covers.
func (c *Controller) take(now time.Time) trigger {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.burst; !b.first.IsZero() {
		at := b.last.Add(c.opts.Settle)
		if limit := b.first.Add(maxSettleWindows * c.opts.Settle); limit.Before(at) {
			at = limit
		}
		if now.Before(at) {
			return trigger{waitTo: at} // a store kick waits for it too
		}
		c.burst, c.storeKick = burst{}, false
		return trigger{due: true, burst: b}
	}
	if c.storeKick {
		c.storeKick = false
		return trigger{due: true}
	}
	return trigger{}
}

// loop runs passes when events have settled, when the store asks, on the
// resync period, and to retry, until ctx ends.
func (c *Controller) loop(ctx context.Context) {
	resyncAt := time.Now() // the first pass is a full one
	var retryAt time.Time
	var backoff time.Duration
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		now := time.Now()
		tr := c.take(now)
		full := !now.Before(resyncAt)
		// While events settle nothing runs, not even a resync: the files
		// may be half way through a change.
		settling := !tr.waitTo.IsZero()
		if !settling && (full || tr.due || (!retryAt.IsZero() && !now.Before(retryAt))) {
			res := c.pass(ctx, full, tr.burst)
			if ctx.Err() != nil {
				return
			}
			now = time.Now()
			if full {
				resyncAt = now.Add(c.opts.Resync)
			}
			retryAt = time.Time{}
			switch {
			case res.failed:
				backoff = min(max(2*backoff, c.opts.Settle), c.opts.Resync, 30*time.Second)
				retryAt = now.Add(backoff)
			case res.settling:
				backoff = 0
				retryAt = now.Add(c.opts.Settle)
			default:
				backoff = 0
			}
			if res.poll && (retryAt.IsZero() || now.Add(c.opts.Poll).Before(retryAt)) {
				retryAt = now.Add(c.opts.Poll)
			}
			continue
		}
		next := resyncAt
		if !retryAt.IsZero() && retryAt.Before(next) {
			next = retryAt
		}
		if settling {
			next = tr.waitTo
		}
		timer.Reset(time.Until(next))
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-timer.C:
		}
	}
}

// passResult says when to look again.
type passResult struct {
	failed   bool // a write failed or raced: retry with backoff
	settling bool // a file is still changing: look again after Settle
	poll     bool // the directory is missing or not fully watched: poll
}

// pass reads the directory as it is now and converges the store to it.
// full reads every file again; otherwise only the files named by the
// events, and those whose signature changed, are read.
func (c *Controller) pass(ctx context.Context, full bool, b burst) passResult {
	defer c.passes.Add(1) // counted once done: a test that waits for a pass then sees its effects
	start := time.Now()
	var res passResult

	info, err := os.Stat(c.dir)
	if err == nil && !info.IsDir() {
		err = errors.New("not a directory")
	}
	if err != nil {
		if !c.missing {
			c.log.Error("the manifests directory is missing; its tasks are kept as they are until it appears", "err", err)
		}
		c.missing, c.fresh = true, true
		c.files = map[string]*fileEntry{}
		c.mu.Lock()
		c.awaitingFiles = false
		c.mu.Unlock()
		c.report(ctx, []problem{{ref: c.dirRef(), reason: ReasonDirectoryMissing,
			message: fmt.Sprintf("manifests directory %s: %s; its tasks are kept as they are, and syncing resumes when it appears", c.dir, errText(err))}}, false)
		if c.watcher != nil {
			c.syncParentWatch()
		}
		res.poll = true
		return res
	}
	if c.missing {
		c.log.Info("the manifests directory is back; syncing it again")
		c.missing = false
		full = true
	}
	// One walk gives both the files to read and the directories to watch.
	paths, dirs, err := v1.WalkManifests(c.dir)
	if c.afterWalk != nil {
		c.afterWalk()
	}
	if c.watcher == nil || err != nil || !c.syncWatches(dirs) {
		// Unreadable: the watches stay as they were, and polling covers
		// what they miss until the walk succeeds.
		res.poll = true
	}
	if err != nil {
		c.report(ctx, []problem{{ref: c.dirRef(), reason: ReasonDirectoryUnreadable,
			message: fmt.Sprintf("manifests directory %s: %v; nothing is changed until it can be read", c.dir, err)}}, true)
		res.failed = true
		return res
	}

	awaiting := len(paths) == 0 && c.fresh
	c.mu.Lock()
	c.awaitingFiles = awaiting
	c.mu.Unlock()
	if awaiting {
		// An empty directory where there was none a moment ago (or at
		// start) is more likely a clone under way than a wish to delete
		// every task: keep them until files appear.
		c.files = map[string]*fileEntry{}
		var problems []problem
		if n := c.ownedTasks(); n > 0 {
			problems = append(problems, problem{ref: c.dirRef(), reason: ReasonDirectoryEmpty,
				message: fmt.Sprintf("manifests directory %s holds no *.yaml or *.yml files yet; the tasks created from it (%d) are kept until files appear (to delete them, add a manifest file, or use mkctl delete)", c.dir, n)})
		}
		c.report(ctx, problems, false)
		return res
	}

	if len(paths) > 0 {
		c.fresh = false
	}
	views, settling := c.read(paths, full, b)
	res.settling = settling
	p := makePlan(views, c.st.TaskCache.List())
	problems := p.problems
	for _, v := range views {
		e := c.files[v.rel]
		if e == nil || !v.broken {
			continue
		}
		for _, de := range e.errs {
			problems = append(problems, problem{ref: fileRef(v.rel), reason: ReasonInvalidManifest, message: de.Error()})
		}
		if owned := c.tasksFrom(v.rel); e.empty && len(owned) > 0 {
			problems = append(problems, problem{ref: fileRef(v.rel), reason: ReasonEmptyManifest,
				message: fmt.Sprintf("%s is empty; its tasks (%s) are kept as they are in case it is still being written; delete the file to delete them", v.rel, strings.Join(owned, ", "))})
		}
	}
	c.mu.Lock()
	c.wanted = p.wanted
	for _, name := range p.waiting {
		// Gone before wanted was set: the cache handler did not see it.
		if _, ok := c.st.TaskCache.Get(name); !ok {
			c.storeKick = true
		}
	}
	kick := c.storeKick
	c.mu.Unlock()
	if kick {
		c.wake()
	}

	out := c.converge(ctx, p)
	if out.failed {
		res.failed = true
	}
	problems = append(problems, out.problems...)
	c.report(ctx, problems, false)
	if ctx.Err() != nil {
		return res
	}
	if out.rev > 0 {
		// The next pass must see this one's writes in the cache.
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		if err := c.st.TaskCache.WaitForRevision(wctx, out.rev); err != nil && ctx.Err() == nil {
			c.log.Warn("the task cache is behind the writes of the last pass", "err", err)
		}
		cancel()
	}
	level := slog.LevelDebug
	if out.applied+out.deleted > 0 {
		level = slog.LevelInfo
	}
	c.log.Log(ctx, level, "synced the manifests directory", "full", full, "files", len(views),
		"applied", out.applied, "deleted", out.deleted, "problems", len(problems), "took", time.Since(start).Round(time.Millisecond))
	return res
}

// tasksFrom returns the names of the stored tasks that came from the file
// rel and are not being deleted, in order.
func (c *Controller) tasksFrom(rel string) []string {
	var names []string
	for _, t := range c.st.TaskCache.List() {
		if source(t) == rel && t.Metadata.DeletionTimestamp == nil {
			names = append(names, t.Metadata.Name)
		}
	}
	sort.Strings(names)
	return names
}

// ownedTasks counts the stored tasks created from the directory.
func (c *Controller) ownedTasks() int {
	n := 0
	for _, t := range c.st.TaskCache.List() {
		if source(t) != "" && t.Metadata.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

func (c *Controller) dirRef() v1.ObjectReference {
	return v1.ObjectReference{Kind: KindDirectory, Name: c.dir}
}

// syncParentWatch watches the directory above a missing manifests
// directory, so that its return is seen at once.
func (c *Controller) syncParentWatch() {
	if c.parent == "" {
		return
	}
	for _, p := range c.watcher.WatchList() {
		if p == c.parent {
			return
		}
	}
	if err := c.watcher.Add(c.parent); err != nil {
		c.log.Debug("cannot watch the directory above the manifests directory", "dir", c.parent, "err", err)
	}
}

// read brings c.files up to date with the files at paths and returns a
// view of each. A file is read again when full is set, when an event
// named it, or when its signature changed; a file still changing is left
// for later (settling).
func (c *Controller) read(paths []string, full bool, b burst) (views []fileView, settling bool) {
	present := make(map[string]bool, len(paths))
	now := time.Now()
	for _, path := range paths {
		rel, err := filepath.Rel(c.dir, path)
		if err != nil {
			continue // ManifestFiles returns paths below dir
		}
		rel = filepath.ToSlash(rel)
		present[rel] = true
		if full || b.all || b.files[path] || underAny(path, b.trees) {
			c.reread[rel] = true
		}
		view, unsteady := c.readFile(path, rel, now)
		settling = settling || unsteady
		views = append(views, view)
	}
	for rel := range c.files {
		if !present[rel] {
			delete(c.files, rel)
		}
	}
	for rel := range c.reread {
		if !present[rel] {
			delete(c.reread, rel)
			delete(c.unsteady, rel)
		}
	}
	return views, settling
}

// readFile reads one file when it needs reading. It reports unsteady when
// the file was left for later because it is still changing.
func (c *Controller) readFile(path, rel string, now time.Time) (fileView, bool) {
	entry := c.files[rel]
	view := func() fileView {
		e := c.files[rel]
		if e == nil || e.errs != nil || e.empty {
			return fileView{rel: rel, frozen: true, broken: e != nil}
		}
		return fileView{rel: rel, docs: e.docs}
	}
	unsteady := func(sig fileSig) (fileView, bool) {
		c.unsteady[rel] = sig
		c.reread[rel] = true
		return fileView{rel: rel, frozen: true}, true
	}

	sig, err := statSig(path)
	if errors.Is(err, fs.ErrNotExist) {
		// Gone since the listing: a rename under way. Look again.
		return unsteady(fileSig{})
	}
	if err != nil {
		c.files[rel] = &fileEntry{errs: v1.DocumentErrors{{File: rel, Message: "cannot read: " + errText(err)}}}
		return view(), false
	}
	if !c.reread[rel] && entry != nil && entry.sig == sig {
		return view(), false
	}
	// Written within the settle window and not seen like this before: it
	// may still be being written. A file seen twice the same is steady.
	if now.Sub(sig.modified()) < c.opts.Settle && c.unsteady[rel] != sig {
		return unsteady(sig)
	}
	data, err := v1.ReadManifestFile(path)
	after, err2 := statSig(path)
	if err2 != nil || after != sig {
		return unsteady(after)
	}
	delete(c.unsteady, rel)
	delete(c.reread, rel)
	if err != nil {
		c.files[rel] = &fileEntry{sig: sig, errs: v1.DocumentErrors{{File: rel, Message: "cannot read: " + errText(err)}}}
		return view(), false
	}
	c.files[rel] = parseEntry(rel, sig, data)
	return view(), false
}

// underAny reports whether path is below one of the directories.
func underAny(path string, dirs map[string]bool) bool {
	for d := range dirs {
		if strings.HasPrefix(path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// errText words an error without the path a PathError repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// convergeResult sums up the writes of a pass.
type convergeResult struct {
	applied, deleted int
	failed           bool
	rev              int64 // the highest revision written
	problems         []problem
}

// converge carries out the plan's writes, a few at a time.
func (c *Controller) converge(ctx context.Context, p *plan) convergeResult {
	var (
		mu  sync.Mutex
		out convergeResult
		wg  sync.WaitGroup
		sem = make(chan struct{}, writers)
	)
	var done doneFunc = func(rev int64, applied, deleted bool, failed bool, probs ...problem) {
		mu.Lock()
		defer mu.Unlock()
		out.rev = max(out.rev, rev)
		if applied {
			out.applied++
		}
		if deleted {
			out.deleted++
		}
		out.failed = out.failed || failed
		out.problems = append(out.problems, probs...)
	}
	for _, a := range p.actions {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			switch a.kind {
			case applyAction:
				c.apply(ctx, p, a, done)
			case deleteAction:
				c.delete(ctx, a, done)
			}
		})
	}
	wg.Wait()
	sort.Slice(out.problems, func(i, j int) bool { return out.problems[i].message < out.problems[j].message })
	return out
}

type doneFunc func(rev int64, applied, deleted bool, failed bool, probs ...problem)

// apply writes one declared task.
func (c *Controller) apply(ctx context.Context, p *plan, a action, done doneFunc) {
	check := p.precondition(a)
	var holder string // the source of a task the precondition refused
	pre := func(cur *v1.Task) error {
		err := check(cur)
		if err != nil {
			holder = source(cur)
		}
		return err
	}
	out, result, err := c.st.ApplyTask(ctx, a.task, store.ApplyOptions{Precondition: pre})
	cl := claim{rel: a.file, doc: a.doc}
	switch {
	case errors.Is(err, store.ErrBeingDeleted):
		c.log.Info("task is being deleted; applying it again once it is gone", "task", a.name, "file", a.file)
		done(0, false, false, false)
	case errors.Is(err, ErrNotOwned):
		// The cache was behind the store; look again once it has caught up.
		done(0, false, false, true, problem{ref: fileRef(a.file), reason: ReasonTaskNotOwned, message: notOwnedMessage(cl)})
	case errors.Is(err, ErrOwnedElsewhere):
		done(0, false, false, true, problem{ref: fileRef(a.file), reason: ReasonDuplicateTask, message: duplicateMessage(cl, holder)})
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		msg := v1.DocumentError{File: a.file, Index: a.doc.Index, Name: a.name, Message: "apply failed: " + err.Error()}.Error()
		c.log.Warn("applying a task failed; retrying", "task", a.name, "file", a.file, "err", err)
		done(0, false, false, true, problem{ref: fileRef(a.file), reason: ReasonApplyFailed, message: msg})
	default:
		rev, _ := store.ParseResourceVersion(out.Metadata.ResourceVersion)
		if result == store.Unchanged {
			done(rev, false, false, false)
			return
		}
		if a.from != "" {
			msg := fmt.Sprintf("moved from %s to %s", a.from, a.file)
			c.log.Info("task moved to another manifest file", "task", a.name, "from", a.from, "file", a.file, "result", result)
			c.events.Eventf(ctx, store.TaskRef(out), v1.EventNormal, ReasonMoved, msg)
		} else {
			c.log.Info("applied a task from the manifests directory", "task", a.name, "file", a.file, "result", result)
		}
		done(rev, true, false, false)
	}
}

// delete deletes, gracefully, a task whose file no longer declares it,
// provided it still comes from that file.
func (c *Controller) delete(ctx context.Context, a action, done doneFunc) {
	out, marked, err := c.st.DeleteTask(ctx, a.name, time.Now().UTC(), func(t *v1.Task) bool { return source(t) != a.file })
	switch {
	case errors.Is(err, store.ErrNotFound):
		done(0, false, false, false)
	case err != nil:
		if ctx.Err() != nil {
			return
		}
		c.log.Warn("deleting a task failed; retrying", "task", a.name, "file", a.file, "err", err)
		msg := fmt.Sprintf("%s: delete Task %q, which the file no longer declares: %v", a.file, a.name, err)
		done(0, false, false, true, problem{ref: fileRef(a.file), reason: ReasonApplyFailed, message: msg})
	case !marked:
		done(0, false, false, false)
	default:
		rev, _ := store.ParseResourceVersion(out.Metadata.ResourceVersion)
		c.log.Info("deleting a task no manifest file declares any more", "task", a.name, "file", a.file)
		c.events.Eventf(ctx, store.TaskRef(out), v1.EventNormal, ReasonPruned,
			fmt.Sprintf("no file in the manifests directory declares the task any more (it came from %s); deleting it", a.file))
		done(rev, false, true, false)
	}
}

// report records the Warnings that are new since the last pass, and
// forgets those that are no longer true. keepFiles keeps the file
// problems already recorded (the pass did not look at the files).
func (c *Controller) report(ctx context.Context, found []problem, keepFiles bool) {
	next := make(map[problem]bool, len(found))
	for _, p := range found {
		next[p] = true
	}
	if keepFiles {
		for p := range c.problems {
			if p.ref.Kind == KindFile {
				next[p] = true
			}
		}
	}
	for _, p := range found {
		if c.problems[p] {
			continue
		}
		c.problems[p] = true // recorded once even if found twice
		c.log.Warn("manifests directory problem", "reason", p.reason, "object", p.ref.Kind+"/"+p.ref.Name, "message", p.message)
		c.events.Eventf(ctx, p.ref, v1.EventWarning, p.reason, p.message)
	}
	c.problems = next
}
