package workerd

import (
	"fmt"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	v1 "github.com/minkube/minkube/apis/v1"
)

// TestReportPages: reports are split into pages whose encoding stays under
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
			pages := reportPages(tc.reps, limit)
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
