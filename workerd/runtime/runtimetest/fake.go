package runtimetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
)

// Method names for FailNext and Calls.
const (
	MethodEnsureImage = "EnsureImage"
	MethodCreate      = "Create"
	MethodStart       = "Start"
	MethodStop        = "Stop"
	MethodRemove      = "Remove"
	MethodInspect     = "Inspect"
	MethodList        = "List"
	MethodSummaries   = "ListSummaries"
	MethodEvents      = "Events"
	MethodLogs        = "Logs"
	MethodExec        = "Exec"
	MethodStats       = "Stats"
)

// firstHostPort is the first host port a Fake hands out for HostPort 0.
const firstHostPort = 32768

// ExecFunc answers Exec calls: the exit code and output of cmd run in the
// container id.
type ExecFunc func(id string, cmd []string) (int, []byte, error)

// Fake is an in-memory runtime.Runtime. The zero value is not ready; use
// New. It is safe for concurrent use.
type Fake struct {
	// Now is the clock for StartedAt and FinishedAt; nil means time.Now.
	// Set it before the Fake is used.
	Now func() time.Time

	mu         sync.Mutex
	images     map[string]bool
	pullErrs   map[string]string
	containers map[string]*container
	names      map[string]string // container name to ID
	nextID     int
	nextPort   int32
	exec       ExecFunc
	execStream ExecStreamFunc
	failNext   map[string]error
	usage      map[string]runtime.Usage // set by SetUsage, by container ID
	down       error                    // every call fails with it while set
	calls      map[string]int
	subs       map[*subscriber]struct{}
}

var _ runtime.Runtime = (*Fake)(nil)

// container is one fake container.
type container struct {
	c runtime.Container
	// requested are the port bindings asked at create; HostPort 0 gets a
	// new host port at every start, as the engine does.
	requested []runtime.PortBinding
	seq       int
	logs      bytes.Buffer
	removed   bool
	// changed is closed and replaced whenever logs or state change.
	changed chan struct{}
}

func (c *container) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// New returns a Fake that holds the given images. EnsureImage of any other
// image succeeds (a pull) unless SetPullError names it.
func New(images ...string) *Fake {
	f := &Fake{
		images:     map[string]bool{},
		pullErrs:   map[string]string{},
		containers: map[string]*container{},
		names:      map[string]string{},
		nextPort:   firstHostPort,
		failNext:   map[string]error{},
		usage:      map[string]runtime.Usage{},
		calls:      map[string]int{},
		subs:       map[*subscriber]struct{}{},
	}
	for _, ref := range images {
		f.images[normalize(ref)] = true
	}
	return f
}

// AddImage makes ref present, as if it had been pulled or built.
func (f *Fake) AddImage(ref string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[normalize(ref)] = true
}

// HasImage reports whether ref is present.
func (f *Fake) HasImage(ref string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.images[normalize(ref)]
}

// SetPullError makes every pull of ref fail with msg as the engine's
// message; an empty msg lets pulls of ref succeed again.
func (f *Fake) SetPullError(ref, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if msg == "" {
		delete(f.pullErrs, normalize(ref))
		return
	}
	f.pullErrs[normalize(ref)] = msg
}

// SetExec sets what Exec answers; by default it answers 0 and no output.
func (f *Fake) SetExec(fn ExecFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exec = fn
}

// FailNext makes the next call of method (MethodCreate, ...) return err
// and do nothing else.
func (f *Fake) FailNext(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext[method] = err
}

// SetUnreachable makes every call fail with err, and ends every open
// Events stream with it, until SetUnreachable(nil): an engine that is down.
func (f *Fake) SetUnreachable(err error) {
	f.mu.Lock()
	f.down = err
	f.mu.Unlock()
	if err != nil {
		f.BreakEvents(err)
	}
}

// Calls returns how many times method has been called, failed calls
// included.
func (f *Fake) Calls(method string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// begin counts a call of method and returns the error FailNext set for it.
// f.mu must be held.
func (f *Fake) begin(method string) error {
	f.calls[method]++
	if f.down != nil {
		return f.down
	}
	err := f.failNext[method]
	delete(f.failNext, method)
	return err
}

func (f *Fake) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// lookup returns the container with the given ID or name. f.mu must be held.
func (f *Fake) lookup(op, id string) (*container, error) {
	if c, ok := f.containers[id]; ok {
		return c, nil
	}
	if c, ok := f.containers[f.names[id]]; ok {
		return c, nil
	}
	return nil, fmt.Errorf("%s container %q: %w", op, id, runtime.ErrNotFound)
}

// EnsureImage succeeds at once for a present image, fails with
// runtime.ErrImagePull for one named by SetPullError, and otherwise makes
// the image present.
func (f *Fake) EnsureImage(ctx context.Context, ref string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodEnsureImage); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pull image %q: %w", ref, err)
	}
	key := normalize(ref)
	if f.images[key] {
		return nil
	}
	if msg, ok := f.pullErrs[key]; ok {
		return fmt.Errorf("pull image %q: %s: %w", ref, msg, runtime.ErrImagePull)
	}
	f.images[key] = true
	return nil
}

// Create creates a container in state "created". Like the engine it
// refuses a missing image, a name in use and an invalid port.
func (f *Fake) Create(ctx context.Context, spec runtime.ContainerSpec) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodCreate); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("create container %q: %w", spec.Name, err)
	}
	if !f.images[normalize(spec.Image)] {
		return "", fmt.Errorf("create container %q: no such image %q", spec.Name, spec.Image)
	}
	for i, p := range spec.Ports {
		if p.ContainerPort < 1 || p.ContainerPort > 65535 || p.HostPort < 0 || p.HostPort > 65535 {
			return "", fmt.Errorf("create container %q: ports[%d]: invalid port %d:%d", spec.Name, i, p.HostPort, p.ContainerPort)
		}
	}
	f.nextID++
	id := fmt.Sprintf("%064x", f.nextID)
	name := spec.Name
	if name == "" {
		name = "fake-" + strconv.Itoa(f.nextID)
	}
	_, byID := f.containers[name]
	if _, byName := f.names[name]; byID || byName {
		return "", fmt.Errorf("create container %q: name already in use", name)
	}
	ports := slices.Clone(spec.Ports)
	for i := range ports {
		if ports[i].Protocol == "" {
			ports[i].Protocol = "tcp"
		}
	}
	f.names[name] = id
	f.containers[id] = &container{
		seq: f.nextID,
		c: runtime.Container{
			ID:     id,
			Name:   name,
			Image:  spec.Image,
			Labels: maps.Clone(spec.Labels),
			State:  runtime.State{Status: "created"},
			Ports:  ports,
		},
		requested: slices.Clone(ports),
		changed:   make(chan struct{}),
	}
	return id, nil
}

// Start runs a created or stopped container, choosing host ports anew for
// those asked with HostPort 0 at every start, as the engine does.
func (f *Fake) Start(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodStart); err != nil {
		return err
	}
	c, err := f.lookup("start", id)
	if err != nil {
		return err
	}
	if c.c.State.Running {
		return nil
	}
	c.c.Ports = slices.Clone(c.requested)
	for i := range c.c.Ports {
		if c.c.Ports[i].HostPort == 0 {
			c.c.Ports[i].HostPort = f.nextPort
			f.nextPort++
		}
	}
	c.c.State = runtime.State{
		Status:     "running",
		Running:    true,
		StartedAt:  f.now(),
		FinishedAt: c.c.State.FinishedAt,
	}
	c.notify()
	f.emit(c, runtime.ActionStart, nil)
	return nil
}

// Stop stops a running container: its process honours SIGTERM and exits 0
// when grace is positive, and is killed (exit code 137) when grace is 0.
func (f *Fake) Stop(ctx context.Context, id string, grace time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodStop); err != nil {
		return err
	}
	c, err := f.lookup("stop", id)
	if err != nil {
		return err
	}
	if !c.c.State.Running {
		return nil
	}
	code := 0
	if grace <= 0 {
		code = 137
	}
	f.emit(c, runtime.ActionKill, nil)
	f.exit(c, code, false)
	f.emit(c, runtime.ActionStop, nil)
	return nil
}

// Remove removes the container, killing it first if it runs.
func (f *Fake) Remove(ctx context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodRemove); err != nil {
		return err
	}
	c, err := f.lookup("remove", id)
	if err != nil {
		return err
	}
	if c.c.State.Running {
		f.emit(c, runtime.ActionKill, nil)
		f.exit(c, 137, false)
	}
	delete(f.containers, c.c.ID)
	delete(f.names, c.c.Name)
	c.removed = true
	c.notify()
	f.emit(c, runtime.ActionDestroy, nil)
	return nil
}

// SetUsage sets what Stats reports of the container id (its Read time is
// the Fake's clock at each call). A container with none set reports zero
// use.
func (f *Fake) SetUsage(id string, cpuSeconds float64, memoryBytes int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.usage[id] = runtime.Usage{CPUSeconds: cpuSeconds, MemoryBytes: memoryBytes}
}

// Stats returns what SetUsage set for the running container. It returns
// ErrNotFound for an unknown one.
func (f *Fake) Stats(ctx context.Context, id string) (runtime.Usage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodStats); err != nil {
		return runtime.Usage{}, err
	}
	if _, err := f.lookup("stats", id); err != nil {
		return runtime.Usage{}, err
	}
	u := f.usage[id]
	u.Read = f.now()
	return u, nil
}

// Inspect returns a copy of the container.
func (f *Fake) Inspect(ctx context.Context, id string) (runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodInspect); err != nil {
		return runtime.Container{}, err
	}
	c, err := f.lookup("inspect", id)
	if err != nil {
		return runtime.Container{}, err
	}
	return clone(c.c), nil
}

// List returns copies of the containers carrying all the labels (an empty
// value matches any value), oldest first, as Inspect reports each: tests
// look at the fake's containers with it.
func (f *Fake) List(ctx context.Context, labels map[string]string) ([]runtime.Container, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodList); err != nil {
		return nil, err
	}
	found := f.matching(labels)
	out := make([]runtime.Container, 0, len(found))
	for _, c := range found {
		out = append(out, clone(c.c))
	}
	return out, nil
}

// matching returns the containers carrying all the labels (an empty value
// matches any value), oldest first. f.mu must be held.
func (f *Fake) matching(labels map[string]string) []*container {
	var found []*container
	for _, c := range f.containers {
		if matches(c.c.Labels, labels) {
			found = append(found, c)
		}
	}
	slices.SortFunc(found, func(a, b *container) int { return a.seq - b.seq })
	return found
}

// ListSummaries returns a Summary of each container carrying all the
// labels (an empty value matches any value), oldest first.
func (f *Fake) ListSummaries(ctx context.Context, labels map[string]string) ([]runtime.Summary, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodSummaries); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	found := f.matching(labels)
	out := make([]runtime.Summary, 0, len(found))
	for _, c := range found {
		out = append(out, runtime.Summary{ID: c.c.ID, Labels: maps.Clone(c.c.Labels), Status: c.c.State.Status})
	}
	return out, nil
}

// Exit ends a running container's process with code, as if it had exited
// by itself.
func (f *Fake) Exit(id string, code int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookup("exit", id)
	if err != nil {
		return err
	}
	if !c.c.State.Running {
		return fmt.Errorf("exit container %q: not running", id)
	}
	f.exit(c, code, false)
	return nil
}

// OOMKill ends a running container as the kernel's OOM killer would.
func (f *Fake) OOMKill(id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookup("oom-kill", id)
	if err != nil {
		return err
	}
	if !c.c.State.Running {
		return fmt.Errorf("oom-kill container %q: not running", id)
	}
	f.emit(c, runtime.ActionOOM, nil)
	f.exit(c, 137, true)
	return nil
}

// exit records the end of c's process and emits die. f.mu must be held.
func (f *Fake) exit(c *container, code int, oom bool) {
	c.c.State.Status = "exited"
	c.c.State.Running = false
	c.c.State.ExitCode = code
	c.c.State.OOMKilled = oom
	c.c.State.FinishedAt = f.now()
	c.notify()
	f.emit(c, runtime.ActionDie, map[string]string{runtime.EventAttrExitCode: strconv.Itoa(code)})
}

// WriteLog appends text to the container's output, as if its process had
// written it.
func (f *Fake) WriteLog(id, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, err := f.lookup("write log of", id)
	if err != nil {
		return err
	}
	c.logs.WriteString(text)
	c.notify()
	return nil
}

// Logs returns the container's output; opts.Tail < 0 means all lines.
// With opts.Follow the reader waits for more until the container stops, is
// removed, ctx ends or the reader is closed. The fake keeps no times:
// Since, Until and Timestamps are ignored.
func (f *Fake) Logs(ctx context.Context, id string, opts runtime.LogOptions) (io.ReadCloser, error) {
	follow, tail := opts.Follow, opts.Tail
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.begin(MethodLogs); err != nil {
		return nil, err
	}
	c, err := f.lookup("logs of", id)
	if err != nil {
		return nil, err
	}
	data := c.logs.Bytes()
	start := tailStart(data, tail)
	if !follow {
		return io.NopCloser(bytes.NewReader(bytes.Clone(data[start:]))), nil
	}
	return &logReader{f: f, c: c, ctx: ctx, off: start, closed: make(chan struct{})}, nil
}

// tailStart returns the offset of the last n lines of data; n < 0 means
// all of it.
func tailStart(data []byte, n int) int {
	if n < 0 {
		return 0
	}
	if n == 0 {
		return len(data)
	}
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end-- // the last line's newline does not start another line
	}
	for range n {
		i := bytes.LastIndexByte(data[:end], '\n')
		if i < 0 {
			return 0
		}
		end = i
	}
	return end + 1
}

// logReader follows a fake container's output.
type logReader struct {
	f         *Fake
	c         *container
	ctx       context.Context
	off       int
	closed    chan struct{}
	closeOnce sync.Once
}

func (r *logReader) Read(p []byte) (int, error) {
	for {
		r.f.mu.Lock()
		data := r.c.logs.Bytes()
		if r.off < len(data) {
			n := copy(p, data[r.off:])
			r.off += n
			r.f.mu.Unlock()
			return n, nil
		}
		if r.c.removed || !r.c.c.State.Running {
			r.f.mu.Unlock()
			return 0, io.EOF
		}
		changed := r.c.changed
		r.f.mu.Unlock()
		select {
		case <-changed:
		case <-r.closed:
			return 0, io.ErrClosedPipe
		case <-r.ctx.Done():
			return 0, r.ctx.Err()
		}
	}
}

// Close makes a blocked Read return.
func (r *logReader) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	return nil
}

// Exec answers with the function given to SetExec (0 and no output by
// default). The container must be running.
func (f *Fake) Exec(ctx context.Context, id string, cmd []string) (int, []byte, error) {
	f.mu.Lock()
	if err := f.begin(MethodExec); err != nil {
		f.mu.Unlock()
		return 0, nil, err
	}
	c, err := f.lookup(fmt.Sprintf("exec %q in", cmd), id)
	if err != nil {
		f.mu.Unlock()
		return 0, nil, err
	}
	running, cid, fn := c.c.State.Running, c.c.ID, f.exec
	f.mu.Unlock()

	if !running {
		return 0, nil, fmt.Errorf("exec %q in container %q: container is not running", cmd, id)
	}
	if err := ctx.Err(); err != nil {
		return 0, nil, fmt.Errorf("exec %q in container %q: %w", cmd, id, err)
	}
	if fn == nil {
		return 0, nil, nil
	}
	return fn(cid, cmd)
}

// normalize adds the tag latest to a reference that has neither tag nor
// digest, as the engine does.
func normalize(ref string) string {
	if strings.Contains(ref, "@") {
		return ref
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if strings.Contains(last, ":") {
		return ref
	}
	return ref + ":latest"
}

// matches reports whether have carries every label in want; an empty value
// in want matches any value.
func matches(have, want map[string]string) bool {
	for k, v := range want {
		got, ok := have[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}

func clone(c runtime.Container) runtime.Container {
	c.Labels = maps.Clone(c.Labels)
	c.Ports = slices.Clone(c.Ports)
	return c
}
