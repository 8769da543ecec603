package runtimetest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minkube/minkube/workerd/runtime"
)

// clock is a settable clock for Fake.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustCreate(t *testing.T, f *Fake, spec runtime.ContainerSpec) string {
	t.Helper()
	if spec.Image == "" {
		spec.Image = "app:1"
	}
	id, err := f.Create(t.Context(), spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

// mustNextEvent reads one event or fails after 5s.
func mustNextEvent(t *testing.T, events <-chan runtime.Event) runtime.Event {
	t.Helper()
	select {
	case ev, ok := <-events:
		if !ok {
			t.Fatal("event stream closed")
		}
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return runtime.Event{}
}

func TestFake_Lifecycle(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	f := New("app:1")
	f.Now = clk.now
	ctx := t.Context()
	events, errs := f.Events(ctx, map[string]string{"app": ""})

	id := mustCreate(t, f, runtime.ContainerSpec{
		Name:   "web",
		Labels: map[string]string{"app": "web"},
		Ports:  []runtime.PortBinding{{ContainerPort: 80, HostIP: "127.0.0.1"}, {ContainerPort: 81, HostPort: 8081}},
	})
	c, err := f.Inspect(ctx, "web")
	if err != nil || c.ID != id || c.State.Status != "created" || c.Ports[0].HostPort != 0 || c.Ports[0].Protocol != "tcp" {
		t.Fatalf("Inspect by name before start = %+v, %v; want created with HostPort 0 and protocol tcp", c, err)
	}

	if err := f.Start(ctx, id); err != nil {
		t.Fatalf("Start: %v", err)
	}
	c, _ = f.Inspect(ctx, id)
	if !c.State.Running || !c.State.StartedAt.Equal(clk.now()) || c.Ports[0].HostPort != firstHostPort || c.Ports[1].HostPort != 8081 {
		t.Errorf("after Start = %+v, want running since now, port 80 at %d, 81 at 8081", c, firstHostPort)
	}
	if ev := mustNextEvent(t, events); ev.Action != runtime.ActionStart || ev.ContainerID != id || ev.Labels["app"] != "web" || ev.Labels["name"] != "web" {
		t.Errorf("event = %+v, want start of web", ev)
	}

	clk.advance(time.Minute)
	if err := f.Exit(id, 3); err != nil {
		t.Fatalf("Exit: %v", err)
	}
	ev := mustNextEvent(t, events)
	if code, ok := ev.ExitCode(); ev.Action != runtime.ActionDie || !ok || code != 3 {
		t.Errorf("event = %+v, want die with exit code 3", ev)
	}
	c, _ = f.Inspect(ctx, id)
	if c.State.Running || c.State.ExitCode != 3 || c.State.Status != "exited" || !c.State.FinishedAt.Equal(clk.now()) {
		t.Errorf("after Exit = %+v, want exited 3 finished now", c.State)
	}

	// Restart, then stop with and without grace, then remove.
	if err := f.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	mustNextEvent(t, events)
	if err := f.Stop(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
	var got []runtime.EventAction
	for range 3 {
		got = append(got, mustNextEvent(t, events).Action)
	}
	if want := []runtime.EventAction{runtime.ActionKill, runtime.ActionDie, runtime.ActionStop}; !slices.Equal(got, want) {
		t.Errorf("Stop events = %v, want %v", got, want)
	}
	if c, _ := f.Inspect(ctx, id); c.State.ExitCode != 0 {
		t.Errorf("exit code after graceful Stop = %d, want 0", c.State.ExitCode)
	}
	if err := f.Stop(ctx, id, time.Second); err != nil {
		t.Errorf("Stop of a stopped container: %v", err)
	}
	if err := f.Remove(ctx, id); err != nil {
		t.Fatal(err)
	}
	if ev := mustNextEvent(t, events); ev.Action != runtime.ActionDestroy {
		t.Errorf("event = %+v, want destroy", ev)
	}
	if _, err := f.Inspect(ctx, id); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("Inspect after Remove = %v, want ErrNotFound", err)
	}
	select {
	case err := <-errs:
		t.Errorf("events error: %v", err)
	default:
	}
}

func TestFake_NotFound(t *testing.T) {
	f := New()
	ctx := t.Context()
	calls := map[string]func() error{
		"Start":   func() error { return f.Start(ctx, "x") },
		"Stop":    func() error { return f.Stop(ctx, "x", 0) },
		"Remove":  func() error { return f.Remove(ctx, "x") },
		"Inspect": func() error { _, err := f.Inspect(ctx, "x"); return err },
		"Logs":    func() error { _, err := f.Logs(ctx, "x", runtime.LogOptions{Tail: -1}); return err },
		"Exec":    func() error { _, _, err := f.Exec(ctx, "x", []string{"true"}); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, runtime.ErrNotFound) {
				t.Errorf("%s = %v, want ErrNotFound", name, err)
			}
		})
	}
}

func TestFake_EnsureImage(t *testing.T) {
	f := New("app")
	f.SetPullError("bad:1", "manifest unknown")
	tests := []struct {
		ref      string
		wantPull bool
	}{
		{ref: "app:latest"},
		{ref: "other:2"},
		{ref: "bad:1", wantPull: true},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			err := f.EnsureImage(t.Context(), tt.ref)
			if tt.wantPull {
				if !errors.Is(err, runtime.ErrImagePull) || !strings.Contains(err.Error(), "manifest unknown") || !strings.Contains(err.Error(), tt.ref) {
					t.Errorf("EnsureImage(%s) = %v, want ErrImagePull with the message and name", tt.ref, err)
				}
				return
			}
			if err != nil || !f.HasImage(tt.ref) {
				t.Errorf("EnsureImage(%s) = %v, HasImage %v; want nil, true", tt.ref, err, f.HasImage(tt.ref))
			}
		})
	}
	if _, err := f.Create(t.Context(), runtime.ContainerSpec{Image: "bad:1"}); err == nil {
		t.Error("Create from a missing image succeeded")
	}
}

func TestFake_List(t *testing.T) {
	f := New("app:1")
	web := mustCreate(t, f, runtime.ContainerSpec{Labels: map[string]string{"app": "web", "tier": "front"}})
	db := mustCreate(t, f, runtime.ContainerSpec{Labels: map[string]string{"app": "db"}})
	tests := []struct {
		name     string
		selector map[string]string
		want     []string
	}{
		{"all", nil, []string{web, db}},
		{"by value", map[string]string{"app": "db"}, []string{db}},
		{"any value", map[string]string{"tier": ""}, []string{web}},
		{"none", map[string]string{"app": "cache"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := f.List(t.Context(), tt.selector)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cs {
				ids = append(ids, c.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Errorf("List(%v) = %v, want %v", tt.selector, ids, tt.want)
			}
		})
	}
	// Copies: changing one does not change the Fake.
	cs, _ := f.List(t.Context(), nil)
	cs[0].Labels["app"] = "changed"
	if c, _ := f.Inspect(t.Context(), web); c.Labels["app"] != "web" {
		t.Errorf("List handed out the Fake's own labels")
	}
}

func TestFake_Logs(t *testing.T) {
	f := New("app:1")
	id := mustCreate(t, f, runtime.ContainerSpec{})
	if err := f.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	if err := f.WriteLog(id, "one\ntwo\nthree\n"); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		tail int
		want string
	}{{-1, "one\ntwo\nthree\n"}, {0, ""}, {2, "two\nthree\n"}, {5, "one\ntwo\nthree\n"}} {
		rc, err := f.Logs(t.Context(), id, runtime.LogOptions{Tail: tt.tail})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != tt.want {
			t.Errorf("Logs(tail %d) = %q, want %q", tt.tail, b, tt.want)
		}
	}

	rc, err := f.Logs(t.Context(), id, runtime.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
	}()
	if err := f.WriteLog(id, "four\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Exit(id, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("following reader did not end when the container exited")
	}
	if want := []string{"three", "four"}; !slices.Equal(lines, want) {
		t.Errorf("followed = %q, want %q", lines, want)
	}
}

func TestFake_LogsFollowClose(t *testing.T) {
	f := New("app:1")
	id := mustCreate(t, f, runtime.ContainerSpec{})
	if err := f.Start(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	rc, err := f.Logs(t.Context(), id, runtime.LogOptions{Follow: true, Tail: -1})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := rc.Read(make([]byte, 10))
		errc <- err
	}()
	rc.Close()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("Read after Close returned no error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock Read")
	}
}

func TestFake_ExecAndFailNext(t *testing.T) {
	f := New("app:1")
	id := mustCreate(t, f, runtime.ContainerSpec{})
	ctx := t.Context()
	if _, _, err := f.Exec(ctx, id, []string{"check"}); err == nil {
		t.Error("Exec in a created container succeeded, want an error")
	}
	if err := f.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	f.SetExec(func(_ string, cmd []string) (int, []byte, error) {
		return len(cmd), []byte(strings.Join(cmd, " ")), nil
	})
	if code, out, err := f.Exec(ctx, id, []string{"a", "b"}); err != nil || code != 2 || string(out) != "a b" {
		t.Errorf("Exec = %d, %q, %v; want 2, \"a b\", nil", code, out, err)
	}

	boom := errors.New("boom")
	f.FailNext(MethodStart, boom)
	if err := f.Start(ctx, id); !errors.Is(err, boom) {
		t.Errorf("Start after FailNext = %v, want boom", err)
	}
	if err := f.Start(ctx, id); err != nil {
		t.Errorf("second Start = %v, want nil", err)
	}
	if n := f.Calls(MethodStart); n != 3 {
		t.Errorf("Calls(Start) = %d, want 3", n)
	}
}

func TestFake_OOMKillAndBreakEvents(t *testing.T) {
	f := New("app:1")
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	events, errs := f.Events(ctx, nil)
	id := mustCreate(t, f, runtime.ContainerSpec{})
	if err := f.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := f.OOMKill(id); err != nil {
		t.Fatal(err)
	}
	f.BreakEvents(nil)

	var got []runtime.EventAction
	for ev := range events {
		got = append(got, ev.Action)
	}
	if want := []runtime.EventAction{runtime.ActionStart, runtime.ActionOOM, runtime.ActionDie}; !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
	if err := <-errs; !errors.Is(err, ErrEventsBroken) {
		t.Errorf("events error = %v, want ErrEventsBroken", err)
	}
	if c, _ := f.Inspect(ctx, id); !c.State.OOMKilled || c.State.ExitCode != 137 {
		t.Errorf("after OOMKill = %+v, want OOMKilled with 137", c.State)
	}

	// A cancelled stream closes both channels with no error.
	ctx2, cancel2 := context.WithCancel(t.Context())
	events2, errs2 := f.Events(ctx2, nil)
	cancel2()
	for range events2 {
	}
	if err, ok := <-errs2; ok {
		t.Errorf("error after cancel = %v, want none", err)
	}
}

func TestFake_ListSummaries(t *testing.T) {
	f := New("app:1")
	web := mustCreate(t, f, runtime.ContainerSpec{Name: "web", Labels: map[string]string{"w": "1", "role": "web"}})
	job := mustCreate(t, f, runtime.ContainerSpec{Name: "job", Labels: map[string]string{"w": "1"}})
	mustCreate(t, f, runtime.ContainerSpec{Name: "other", Labels: map[string]string{"w": "2"}})
	if err := f.Start(t.Context(), web); err != nil {
		t.Fatal(err)
	}
	got, err := f.ListSummaries(t.Context(), map[string]string{"w": "1"})
	if err != nil {
		t.Fatalf("ListSummaries: %v", err)
	}
	want := []runtime.Summary{
		{ID: web, Labels: map[string]string{"w": "1", "role": "web"}, Status: "running"},
		{ID: job, Labels: map[string]string{"w": "1"}, Status: "created"},
	}
	if len(got) != len(want) {
		t.Fatalf("ListSummaries = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Status != want[i].Status || got[i].Labels["role"] != want[i].Labels["role"] {
			t.Errorf("summary %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if n := f.Calls(MethodSummaries); n != 1 {
		t.Errorf("Calls(ListSummaries) = %d, want 1", n)
	}
}

func TestFake_SetUnreachable(t *testing.T) {
	f := New("app:1")
	id := mustCreate(t, f, runtime.ContainerSpec{Name: "web"})
	events, errs := f.Events(t.Context(), nil)
	down := errors.New("connection refused")
	f.SetUnreachable(down)
	select {
	case err := <-errs:
		if !errors.Is(err, down) {
			t.Errorf("open stream ended with %v, want %v", err, down)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the open event stream did not end")
	}
	for range events {
	}
	for name, call := range map[string]func() error{
		MethodStart:       func() error { return f.Start(t.Context(), id) },
		MethodInspect:     func() error { _, err := f.Inspect(t.Context(), id); return err },
		MethodSummaries:   func() error { _, err := f.ListSummaries(t.Context(), nil); return err },
		MethodEnsureImage: func() error { return f.EnsureImage(t.Context(), "app:1") },
	} {
		if err := call(); !errors.Is(err, down) {
			t.Errorf("%s while unreachable = %v, want %v", name, err, down)
		}
	}
	f.SetUnreachable(nil)
	if err := f.Start(t.Context(), id); err != nil {
		t.Errorf("Start once reachable again: %v", err)
	}
}

// TestFake_HostPortChosenAtEveryStart: like the engine, a port asked with
// HostPort 0 gets a new host port at every start; one asked by number
// keeps it.
func TestFake_HostPortChosenAtEveryStart(t *testing.T) {
	f := New("app:1")
	id := mustCreate(t, f, runtime.ContainerSpec{Ports: []runtime.PortBinding{{ContainerPort: 80}, {ContainerPort: 81, HostPort: 8081}}})
	hostPorts := func() []int32 {
		if err := f.Start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
		c, err := f.Inspect(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Exit(id, 0); err != nil {
			t.Fatal(err)
		}
		return []int32{c.Ports[0].HostPort, c.Ports[1].HostPort}
	}
	first, second := hostPorts(), hostPorts()
	if first[0] == 0 || first[0] == second[0] || first[1] != 8081 || second[1] != 8081 {
		t.Errorf("host ports at two starts %v, %v; want a new one for port 80 each time, 8081 kept", first, second)
	}
}
