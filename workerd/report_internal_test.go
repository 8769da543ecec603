package workerd

import (
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	v1 "github.com/minkube/minkube/apis/v1"
)

// TestReportPages: reports are split (splitPages) into pages whose encoding stays under
// the limit, in order and each once; a report larger than the limit goes
// alone, and nothing to report is one empty page (a heartbeat).
func TestReportPages(t *testing.T) {
	rep := func(i, msgLen int) v1.TaskReport {
		return v1.TaskReport{UID: fmt.Sprintf("uid-%d", i), Name: fmt.Sprintf("t-%d", i), Status: v1.TaskStatus{Message: strings.Repeat("m", msgLen)}}
	}
	size := func(r v1.TaskReport) int {
		b, err := json.Marshal(&r)
		if err != nil {
			t.Fatal(err)
		}
		return len(b)
	}
	const limit = 1000
	for _, tc := range []struct {
		name string
		reps []v1.TaskReport
		want []int // reports per page
	}{
		{"nothing", nil, []int{0}},
		{"one small", []v1.TaskReport{rep(0, 10)}, []int{1}},
		{"one past the limit", []v1.TaskReport{rep(0, 2*limit)}, []int{1}},
		{"a large one among small ones", []v1.TaskReport{rep(0, 10), rep(1, 2*limit), rep(2, 10)}, []int{1, 1, 1}},
		{"many small", func() (r []v1.TaskReport) {
			for i := range 10 {
				r = append(r, rep(i, 200))
			}
			return r
		}(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := splitPages(tc.reps, limit)
			var got []int
			var flat []v1.TaskReport
			for _, p := range pages {
				got = append(got, len(p))
				flat = append(flat, p...)
				if len(p) > 1 {
					total := 0
					for _, r := range p {
						total += size(r) + 1
					}
					if total > limit+1 {
						t.Errorf("a page of %d reports encodes to %d bytes, past the limit %d", len(p), total, limit)
					}
				}
			}
			if len(flat) != len(tc.reps) {
				t.Fatalf("pages hold %d reports, want %d", len(flat), len(tc.reps))
			}
			for i := range flat {
				if flat[i].UID != tc.reps[i].UID {
					t.Fatalf("report %d of the pages is %s, want %s: out of order", i, flat[i].UID, tc.reps[i].UID)
				}
			}
			if tc.want != nil && fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("reports per page = %v, want %v", got, tc.want)
			}
			if tc.want == nil && len(pages) < 2 {
				t.Errorf("10 reports of about 250 bytes in %d page(s) under a limit of %d", len(pages), limit)
			}
		})
	}
}

// TestStatusPages: the answered tasks of a heartbeat share the last page
// with the last task reports (the one the digest goes on), and those that
// do not fit go on pages of their own before it; every report and every
// answered task is on one page, in order.
func TestStatusPages(t *testing.T) {
	const limit = 1000
	reps := func(n int) (r []v1.TaskReport) {
		for i := range n {
			r = append(r, v1.TaskReport{UID: fmt.Sprintf("uid-%d", i), Name: fmt.Sprintf("t-%d", i), Status: v1.TaskStatus{Message: strings.Repeat("m", 200)}})
		}
		return r
	}
	answered := func(n int) (a []v1.AnsweredTask) {
		for i := range n {
			a = append(a, v1.AnsweredTask{UID: fmt.Sprintf("answered-%d", i), Name: fmt.Sprintf("a-%d", i), Phase: v1.PhaseRunning})
		}
		return a
	}
	for _, tc := range []struct {
		name          string
		reps          []v1.TaskReport
		answered      []v1.AnsweredTask
		pages         int // at least
		answeredPages int // pages with no task report, before the last
	}{
		{"nothing", nil, nil, 1, 0},
		{"answered only", nil, answered(3), 1, 0},
		{"both, one page", reps(1), answered(3), 1, 0},
		{"many reports, few answered", reps(10), answered(3), 2, 0},
		{"many answered", reps(1), answered(100), 2, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := statusPages(tc.reps, tc.answered, limit)
			if len(pages) < tc.pages {
				t.Fatalf("%d pages, want at least %d", len(pages), tc.pages)
			}
			var flatReps []v1.TaskReport
			var flatAnswered []v1.AnsweredTask
			answeredOnly := 0
			for i, p := range pages {
				flatReps = append(flatReps, p.tasks...)
				flatAnswered = append(flatAnswered, p.answered...)
				if i < len(pages)-1 && len(p.answered) > 0 && len(p.tasks) > 0 {
					t.Errorf("page %d of %d holds task reports and answered tasks; only the last may", i+1, len(pages))
				}
				if len(p.tasks) == 0 && i < len(pages)-1 {
					answeredOnly++
				}
				if b, _ := json.Marshal(p.answered); len(p.answered) > 1 && len(b) > limit+len(p.answered)+1 {
					t.Errorf("page %d: %d answered tasks encode to %d bytes, past the limit %d", i+1, len(p.answered), len(b), limit)
				}
			}
			if tc.answeredPages > 0 && answeredOnly < tc.answeredPages {
				t.Errorf("%d pages of answered tasks alone, want at least %d", answeredOnly, tc.answeredPages)
			}
			if len(tc.answered) > 0 && len(pages[len(pages)-1].answered) == 0 {
				t.Error("the last page, the one with the digest, names no answered task")
			}
			if fmt.Sprint(flatReps) != fmt.Sprint(tc.reps) && len(flatReps)+len(tc.reps) > 0 {
				t.Errorf("task reports over the pages = %d, want the %d given in order", len(flatReps), len(tc.reps))
			}
			if fmt.Sprint(flatAnswered) != fmt.Sprint(tc.answered) && len(flatAnswered)+len(tc.answered) > 0 {
				t.Errorf("answered tasks over the pages = %v, want %v", flatAnswered, tc.answered)
			}
		})
	}
}
