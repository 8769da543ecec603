package main

import (
	"bytes"
	"slices"
	"testing"

	v1 "github.com/minkube/minkube/apis/v1"
)

func cores(f float64) *float64 { return &f }

func TestSortTaskUsage(t *testing.T) {
	items := func() []v1.TaskUsage {
		return []v1.TaskUsage{
			{Name: "b", CPU: cores(0.5), Memory: 10 << 20},
			{Name: "a", CPU: nil, Memory: 30 << 20},
			{Name: "c", CPU: cores(0.5), Memory: 20 << 20},
			{Name: "d", CPU: cores(1), Memory: 5 << 20},
		}
	}
	for by, want := range map[string][]string{
		sortByCPU:    {"d", "b", "c", "a"}, // ties by name, unknown CPU last
		sortByMemory: {"a", "c", "b", "d"},
		sortByName:   {"a", "b", "c", "d"},
	} {
		got := items()
		sortTaskUsage(got, by)
		var names []string
		for _, u := range got {
			names = append(names, u.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("--sort-by %s: %v, want %v", by, names, want)
		}
	}
}

func TestSortWorkerUsage(t *testing.T) {
	got := []v1.WorkerUsage{{Name: "down", Error: "unreachable"}, {Name: "w1", CPUPercent: 10, MemoryUsed: 3}, {Name: "w2", CPUPercent: 50, MemoryUsed: 1}}
	sortWorkerUsage(got, sortByCPU)
	if got[0].Name != "w2" || got[1].Name != "w1" || got[2].Name != "down" {
		t.Errorf("by cpu: %v, want w2 w1 down", got)
	}
	sortWorkerUsage(got, sortByMemory)
	if got[0].Name != "w1" || got[2].Name != "down" {
		t.Errorf("by memory: %v, want w1 w2 down", got)
	}
}

func TestPrintUsage(t *testing.T) {
	var out bytes.Buffer
	if err := printTaskUsage(&out, printer{}, []v1.TaskUsage{{Name: "web", Worker: "w1", CPU: cores(0.25), Memory: 64 << 20}, {Name: "new", Worker: "w1", Memory: 1 << 20}}); err != nil {
		t.Fatal(err)
	}
	want := "NAME   WORKER   CPU         MEMORY\n" +
		"web    w1       250m        64Mi\n" +
		"new    w1       <unknown>   1Mi\n"
	if out.String() != want {
		t.Errorf("top tasks printed\n%s\nwant\n%s", out.String(), want)
	}
	out.Reset()
	if err := printWorkerUsage(&out, printer{noHeaders: true}, []v1.WorkerUsage{
		{Name: "w1", CPUPercent: 12.4, MemoryUsed: 1 << 30, MemoryTotal: 4 << 30, DiskFree: 10 << 30, Tasks: 3},
		{Name: "w2", Error: "unreachable"},
	}); err != nil {
		t.Fatal(err)
	}
	want = "w1    12%         1024Mi      25%         10240Mi     3\n" +
		"w2    <unknown>   <unknown>   <unknown>   <unknown>   <unknown>\n"
	if out.String() != want {
		t.Errorf("top workers printed\n%q\nwant\n%q", out.String(), want)
	}
}
