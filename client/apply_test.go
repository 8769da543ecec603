package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

// batchServer answers POST /api/v1/apply as a manager would, refusing the
// Tasks whose image is "refuse", and records the largest number of
// batches it had at once.
type batchServer struct {
	mu            sync.Mutex
	now, mostSeen int
}

func (b *batchServer) handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/api/v1/apply" {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no route")
		return
	}
	b.mu.Lock()
	b.now++
	b.mostSeen = max(b.mostSeen, b.now)
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.now--; b.mu.Unlock() }()
	var list struct {
		Kind  string    `json:"kind"`
		Items []v1.Task `json:"items"`
	}
	if err := json.NewDecoder(r.Body).Decode(&list); err != nil || list.Kind != v1.KindTaskList {
		writeStatus(w, http.StatusBadRequest, v1.StatusReasonBadRequest, fmt.Sprintf("kind %q: %v", list.Kind, err))
		return
	}
	out := v1.ApplyResultList{TypeMeta: v1.TypeMeta{APIVersion: v1.APIVersion, Kind: v1.KindApplyResultList}}
	for _, t := range list.Items {
		if t.Spec.Image == "refuse" {
			out.Items = append(out.Items, v1.ApplyResultItem{Error: &v1.Status{Status: "Failure", Reason: v1.StatusReasonInvalid, Code: 422, Message: "refused " + t.Metadata.Name}})
			continue
		}
		out.Items = append(out.Items, v1.ApplyResultItem{Result: "created", Task: &t})
	}
	writeJSON(w, http.StatusOK, out)
}

func TestClient_ApplyTasks(t *testing.T) {
	b := &batchServer{}
	f := mustServer(t, b.handle)
	c := mustClient(t, f.URL)
	tasks := make([]*v1.Task, 1234)
	for i := range tasks {
		tasks[i] = task(fmt.Sprintf("t%04d", i))
	}
	tasks[7].Spec.Image = "refuse"
	// Large enough that fewer than applyBatchItems fit one request.
	tasks[600].Spec.Env = []v1.EnvVar{{Name: "BIG", Value: strings.Repeat("x", 600<<10)}}
	tasks[601].Spec.Env = []v1.EnvVar{{Name: "BIG", Value: strings.Repeat("y", 600<<10)}}

	var got []int
	err := c.ApplyTasks(t.Context(), tasks, ApplyOptions{Force: true}, func(i int, it ApplyItem) {
		got = append(got, i)
		switch {
		case i == 7:
			if ReasonOf(it.Err) != v1.StatusReasonInvalid || !strings.Contains(it.Err.Error(), "refused t0007") {
				t.Errorf("task 7: %+v, want its refusal", it)
			}
		case it.Err != nil || it.Result != Created || it.Task == nil || it.Task.Metadata.Name != tasks[i].Metadata.Name:
			t.Errorf("task %d: %+v, want %s created", i, it, tasks[i].Metadata.Name)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range got {
		if i != k {
			t.Fatalf("reported %d tasks in the order %v..., want each once in order", len(got), got[:min(len(got), k+3)])
		}
	}
	if len(got) != len(tasks) {
		t.Fatalf("reported %d tasks, want %d", len(got), len(tasks))
	}
	sent := 0
	for n, r := range f.requests() {
		if r.Method != http.MethodPost || r.Path != "/api/v1/apply" || r.RawQuery != "force=true" {
			t.Errorf("request %d: %s %s?%s", n, r.Method, r.Path, r.RawQuery)
		}
		if len(r.Body) > applyBatchBytes+64 {
			t.Errorf("request %d: a body of %d bytes, over the manager's bound", n, len(r.Body))
		}
		var list struct{ Items []json.RawMessage }
		if err := json.Unmarshal(r.Body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) == 0 || len(list.Items) > applyBatchItems {
			t.Errorf("request %d: %d tasks", n, len(list.Items))
		}
		sent += len(list.Items)
	}
	if sent != len(tasks) {
		t.Errorf("%d tasks sent in %d requests, want %d", sent, len(f.requests()), len(tasks))
	}
	// 600 and 601 cannot share a request: more requests than the count
	// alone needs.
	if n := len(f.requests()); n < (len(tasks)+applyBatchItems-1)/applyBatchItems+1 {
		t.Errorf("%d requests: the two large tasks went in one", n)
	}
	if b.mostSeen > applyInFlight {
		t.Errorf("%d batches in flight at once, want at most %d", b.mostSeen, applyInFlight)
	}
}

// An older manager has no batch apply: ApplyTasks says so having reported
// nothing, after one request.
func TestClient_ApplyTasks_NoBatchApply(t *testing.T) {
	f := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusNotFound, v1.StatusReasonNotFound, "no route for POST /api/v1/apply")
	})
	c := mustClient(t, f.URL)
	tasks := []*v1.Task{task("a"), task("b")}
	for range applyBatchItems {
		tasks = append(tasks, task("c"))
	}
	err := c.ApplyTasks(t.Context(), tasks, ApplyOptions{}, func(i int, it ApplyItem) {
		t.Errorf("reported task %d: %+v", i, it)
	})
	if !errors.Is(err, ErrNoBatchApply) {
		t.Errorf("err = %v, want ErrNoBatchApply", err)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// A batch that fails as a whole reports its error for each of its Tasks;
// once ctx ends nothing more is sent and the rest report ctx's error.
func TestClient_ApplyTasks_BatchFails(t *testing.T) {
	var calls sync.Mutex
	n := 0
	f := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		n++
		first := n == 1
		calls.Unlock()
		if first {
			(&batchServer{}).handle(w, r)
			return
		}
		writeStatus(w, http.StatusServiceUnavailable, v1.StatusReasonServiceUnavailable, "the store is down")
	})
	c := mustClient(t, f.URL)
	tasks := make([]*v1.Task, 3*applyBatchItems)
	for i := range tasks {
		tasks[i] = task(fmt.Sprintf("t%d", i))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var results []error
	err := c.ApplyTasks(ctx, tasks, ApplyOptions{}, func(i int, it ApplyItem) {
		results = append(results, it.Err)
		if it.Err != nil {
			cancel() // as mkctl does on an error that ends the run
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != len(tasks) {
		t.Fatalf("%d reported, want %d", len(results), len(tasks))
	}
	for i, e := range results {
		switch {
		case i < applyBatchItems && e != nil:
			t.Errorf("task %d of the first batch: %v", i, e)
		case i >= applyBatchItems && e == nil:
			t.Errorf("task %d: no error", i)
		case i >= applyBatchItems && !strings.Contains(e.Error(), "the store is down") && !errors.Is(e, context.Canceled):
			t.Errorf("task %d: %v, want the batch's error or ctx's", i, e)
		}
	}
	if got := len(f.requests()); got > 1+applyInFlight {
		t.Errorf("%d requests after ctx ended, want at most %d", got, 1+applyInFlight)
	}
}

// Tasks a batch's answer says 503 for (the manager's store did not answer
// in time) are sent again, alone, after a pause, until they are applied
// or the retries run out; the others are not sent twice.
func TestClient_ApplyTasks_RetriesUnavailable(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	f := mustServer(t, func(w http.ResponseWriter, r *http.Request) {
		var list struct{ Items []v1.Task }
		_ = json.NewDecoder(r.Body).Decode(&list)
		out := v1.ApplyResultList{}
		mu.Lock()
		defer mu.Unlock()
		for _, task := range list.Items {
			seen[task.Metadata.Name]++
			// "flaky" is unavailable the first twice, "down" always.
			if task.Metadata.Name == "down" || (task.Metadata.Name == "flaky" && seen["flaky"] <= 2) {
				out.Items = append(out.Items, v1.ApplyResultItem{Error: &v1.Status{Status: "Failure", Reason: v1.StatusReasonServiceUnavailable, Code: http.StatusServiceUnavailable, Message: "etcd did not answer in time"}})
				continue
			}
			out.Items = append(out.Items, v1.ApplyResultItem{Result: "created", Task: &task})
		}
		writeJSON(w, http.StatusOK, out)
	})
	c := mustClient(t, f.URL)
	tasks := []*v1.Task{task("a"), task("flaky"), task("b"), task("down")}
	got := map[string]ApplyItem{}
	if err := c.ApplyTasks(t.Context(), tasks, ApplyOptions{}, func(i int, it ApplyItem) { got[tasks[i].Metadata.Name] = it }); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "flaky", "b"} {
		if it := got[name]; it.Err != nil || it.Result != Created {
			t.Errorf("%s: %+v, want created", name, it)
		}
	}
	if it := got["down"]; !unavailable(it.Err) {
		t.Errorf("down: %+v, want the 503 once the retries ran out", it)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"a": 1, "b": 1, "flaky": 3, "down": 1 + applyRetries}
	for name, n := range want {
		if seen[name] != n {
			t.Errorf("%s sent %d times, want %d", name, seen[name], n)
		}
	}
}
